package io.memgov.benchmarks;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.NodeMemory;
import io.memgov.spi.query.QueryId;

import java.util.Map;

/**
 * The single-node engine the node-level benchmarks share: a pool far larger than anything they reserve, so that no
 * call blocks or fails, and a cluster loop that never runs on its own during a measurement.
 */
final class Engines
{
    static final long POOL_BYTES = 8L << 30;
    static final long QUERY_BYTES = 1L << 30;

    private Engines() {}

    /** One engine shared by every benchmark thread; each thread gets its own query from {@link #newQuery()}. */
    static final class Shared
    {
        private final OpenThreadStates queries = new OpenThreadStates();
        private MemoryEngine engine;

        void start(Map<String, String> policies)
        {
            engine = MemoryEngine.builder()
                    .property("node.heap-size", "16GB")
                    // the benchmarks account bytes they never allocate: the node's 16 GB is not the fork's 2 GB heap
                    .property("node.heap-governed", "false")
                    .property("memory.heap-headroom-per-node", "8GB")
                    .property("query.max-memory-per-node", "1GB")
                    .property("memory.cluster.poll-interval", "1h")
                    .properties(policies)
                    .build();
        }

        NodeMemory node()
        {
            return engine.node(0);
        }

        QueryMemoryContext newQuery()
        {
            return node().createQuery(QueryId.of("q" + queries.opened()), QuerySession.of("bench"));
        }

        /** Each benchmark thread calls this after closing the query {@link #newQuery()} gave it. */
        void queryClosed()
        {
            queries.closed();
        }

        /**
         * Closes the engine, first checking that the benchmark gave back everything it reserved, once every thread
         * that took a query through {@link #newQuery()} reported it closed through {@link #queryClosed()}.
         */
        void stop()
        {
            try {
                queries.awaitAllClosed();
                NodeMemory node = node();
                node.rootTracker().flush();
                if (node.pool().reservedBytes() != 0 || node.rootTracker().usedBytes() != 0) {
                    throw new IllegalStateException(String.format("accounting did not return to zero: pool %s, tracker %s",
                            node.pool().reservedBytes(), node.rootTracker().usedBytes()));
                }
            }
            finally {
                engine.close();
            }
        }
    }
}
