package io.memgov.engine.readme;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The embedding example of README.md, kept here so that it cannot rot. Keep the two in step.
 */
final class ReadmeExampleTest
{
    @Test
    void readmeEmbeddingExampleRuns()
            throws Exception
    {
        Properties properties = new Properties();
        properties.setProperty("query.max-memory-per-node", "1GB");
        // not in the README: make the example independent of the test JVM's heap (the README's host has a larger one)
        properties.setProperty("node.heap-size", "4GB");
        properties.setProperty("node.heap-governed", "false");
        try (MemoryEngine engine = MemoryEngine.builder().properties(properties).build()) {
            NodeMemory node = engine.node(0);
            QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
            OperatorMemoryContext aggregation = query.addTask("0").addOperator("HashAggregation");

            MemoryFuture future = aggregation.userMemory().setBytes(64 * 1024 * 1024);
            if (!future.isDone()) {
                // the pool is full: stop allocating until memory is freed or a killer makes room
                future.get();
            }
            assertThat(node.pool().reservedBytes()).isEqualTo(64 * 1024 * 1024);
            aggregation.userMemory().setBytes(0);
            query.close(QueryState.FINISHED);
            assertThat(node.pool().freeBytes()).isEqualTo(node.pool().maxBytes());
        }
    }
}
