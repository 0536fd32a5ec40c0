package io.memgov.plugin.arbitration;

import io.memgov.spi.arbitration.ArbitrationCandidate;
import io.memgov.spi.arbitration.ArbitrationRequest;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.spill.RevocableConsumerInfo;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** What the bundled arbitrators share: choosing consumers to revoke and a query to kill. */
final class Plans
{
    private Plans() {}

    /** Whether any query holds reserved-ahead bytes: reclaiming them is free. */
    static boolean anythingToReclaim(ArbitrationRequest request)
    {
        return request.queries().stream().anyMatch(query -> query.unusedReservationBytes() > 0);
    }

    /**
     * The largest revocable consumers of the queries {@code eligible} accepts, until their bytes cover what the pool
     * needs back (after what reclaiming gives); ties go to the smaller consumer id, so the choice is deterministic.
     */
    static List<Long> largestConsumers(ArbitrationRequest request, Predicate<ArbitrationCandidate> eligible)
    {
        long needed = request.bytesToFree() - request.queries().stream().mapToLong(ArbitrationCandidate::unusedReservationBytes).sum();
        List<RevocableConsumerInfo> consumers = new ArrayList<>();
        for (ArbitrationCandidate query : request.queries()) {
            if (eligible.test(query)) {
                consumers.addAll(query.consumers());
            }
        }
        consumers.sort(Comparator.comparingLong(RevocableConsumerInfo::revocableBytes).reversed().thenComparingLong(RevocableConsumerInfo::consumerId));
        List<Long> chosen = new ArrayList<>();
        for (RevocableConsumerInfo consumer : consumers) {
            if (needed <= 0) {
                break;
            }
            if (consumer.revocableBytes() > 0) {
                chosen.add(consumer.consumerId());
                needed -= consumer.revocableBytes();
            }
        }
        return chosen;
    }

    /**
     * The query to kill: the lowest priority, then the most memory, then the youngest (the least work lost), then the
     * smaller id (Velox aborts the query with the most capacity among those of the lowest priority).
     */
    static Optional<ArbitrationCandidate> victim(ArbitrationRequest request)
    {
        return request.queries().stream()
                .filter(query -> query.totalBytes() > 0)
                .min(Comparator.comparingInt(ArbitrationCandidate::priority)
                        .thenComparing(Comparator.comparingLong(ArbitrationCandidate::totalBytes).reversed())
                        .thenComparing(Comparator.comparing(ArbitrationCandidate::startTime).reversed())
                        .thenComparing(ArbitrationCandidate::queryId));
    }

    static boolean isRequester(ArbitrationRequest request, QueryId queryId)
    {
        return request.requester().equals(queryId);
    }
}
