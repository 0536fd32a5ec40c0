package io.memgov.spi.arbitration;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumerInfo;

import java.time.Instant;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * One query on the node, as an arbitrator weighs it. Sizes in bytes.
 *
 * @param queryId the query
 * @param user who runs it
 * @param priority its priority (higher runs first; Presto's and Velox's notion), 0 when the host sets none
 * @param startTime when its context was created on the node
 * @param userBytes user and system bytes it holds in the node's pools
 * @param revocableBytes revocable bytes it holds: what revoking its consumers can give back
 * @param unusedReservationBytes bytes reserved ahead in reservation quanta and not used yet: what reclaiming gives back
 * at no cost
 * @param consumers its operators that hold revocable memory and are not being revoked
 * @since 1.0
 */
@Experimental
public record ArbitrationCandidate(
        QueryId queryId,
        String user,
        int priority,
        Instant startTime,
        long userBytes,
        long revocableBytes,
        long unusedReservationBytes,
        List<RevocableConsumerInfo> consumers)
{
    public ArbitrationCandidate
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(user, "user is null");
        requireNonNull(startTime, "startTime is null");
        consumers = List.copyOf(requireNonNull(consumers, "consumers is null"));
        if (userBytes < 0 || revocableBytes < 0 || unusedReservationBytes < 0) {
            throw new IllegalArgumentException(String.format("negative bytes for %s: user %s, revocable %s, unused %s", queryId, userBytes, revocableBytes,
                    unusedReservationBytes));
        }
    }

    /** Everything it holds: user, system and revocable bytes. */
    public long totalBytes()
    {
        return userBytes + revocableBytes;
    }
}
