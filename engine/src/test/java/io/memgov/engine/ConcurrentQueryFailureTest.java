package io.memgov.engine;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two callers failing one query at once (two nodes' arbitrations, or an arbitration and the cluster loop) each fail it
 * on some node; the host must hear of the failure once, and only one caller is told it failed the query.
 */
final class ConcurrentQueryFailureTest
{
    private static final int ROUNDS = 300;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aQueryFailedByTwoCallersAtOnceIsReportedOnce()
            throws Exception
    {
        try (MemoryEngine engine = MemoryEngine.builder().withoutClassPathDiscovery().withoutJmx()
                .properties(Map.of("cluster.node-count", "4", "node.heap-size", "16MB", "node.heap-governed", "false", "memory.cluster.poll-interval", "1h"))
                .build()) {
            Map<QueryId, AtomicInteger> reports = new ConcurrentHashMap<>();
            engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> reports.computeIfAbsent(queryId, id -> new AtomicInteger()).incrementAndGet());
            CyclicBarrier start = new CyclicBarrier(2);
            List<QueryId> queries = new ArrayList<>();
            List<Object> handles = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                QueryId queryId = QueryId.of("q" + round);
                queries.add(queryId);
                for (int node = 0; node < 4; node++) {
                    handles.add(engine.node(node).createQuery(queryId, QuerySession.of("alice")));
                }
            }
            AtomicInteger told = new AtomicInteger();
            Runnable failEvery = () -> {
                for (QueryId queryId : queries) {
                    try {
                        start.await(10, TimeUnit.SECONDS);
                    }
                    catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    if (engine.failQuery(queryId, ErrorCode.MEMORY_ARBITRATION_FAILED, "killed twice at once")) {
                        told.incrementAndGet();
                    }
                }
            };
            Thread first = new Thread(failEvery, "failer-1");
            Thread second = new Thread(failEvery, "failer-2");
            first.start();
            second.start();
            first.join(30_000);
            second.join(30_000);

            assertThat(reports).hasSize(ROUNDS);
            assertThat(reports.values()).allSatisfy(count -> assertThat(count.get()).isEqualTo(1));
            assertThat(told.get()).isEqualTo(ROUNDS);
            java.lang.ref.Reference.reachabilityFence(handles);
        }
    }
}
