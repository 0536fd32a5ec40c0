package io.memgov.cluster.hazelcast;

import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * The newest verified snapshot of one node, as {@link HazelcastMembership#liveSnapshots()} returns it: the bytes its
 * member signed and published, which the membership does not interpret (the cluster transport reads them as a
 * {@code ClusterJson} node snapshot). Not the SPI's {@code NodeSnapshot}, which these bytes encode.
 *
 * @param nodeId the node, never null
 * @param memberId the Hazelcast member hosting the node, never null
 * @param publishedAtMillis when the hosting member published it, by that member's clock (epoch milliseconds); the
 *        caller judges staleness with it
 * @param payload the bytes given to {@link HazelcastMembership#publishSnapshot}, never null; not copied, so callers
 *        must not modify it (equality of this record compares the array's identity)
 * @since 0.1
 */
public record SignedSnapshot(String nodeId, UUID memberId, long publishedAtMillis, byte[] payload)
{
    public SignedSnapshot
    {
        requireNonNull(nodeId, "nodeId is null");
        requireNonNull(memberId, "memberId is null");
        requireNonNull(payload, "payload is null");
    }
}
