package io.memgov.cluster.hazelcast;

import java.util.Set;
import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * A verified command for nodes of this member, as {@link HazelcastMembership.Listener#onCommand} receives it.
 *
 * @param senderId the member that sent it (usually the coordinator), never null
 * @param nodeIds the nodes of this member the command is for: the sender's targets hosted here, or every node of
 *        this member when the sender addressed all nodes; never empty
 * @param sentAtMillis when the sender signed it, by the sender's clock (epoch milliseconds)
 * @param payload the bytes given to {@link HazelcastMembership#sendCommand}, never null; not copied, so callers must
 *        not modify it (equality of this record compares the array's identity)
 * @since 0.1
 */
public record ReceivedCommand(UUID senderId, Set<String> nodeIds, long sentAtMillis, byte[] payload)
{
    public ReceivedCommand
    {
        requireNonNull(senderId, "senderId is null");
        requireNonNull(payload, "payload is null");
        nodeIds = Set.copyOf(nodeIds);
        if (nodeIds.isEmpty()) {
            throw new IllegalArgumentException("nodeIds is empty: a command is delivered for at least one node");
        }
    }
}
