package io.memgov.arrow.readme;

import io.memgov.arrow.ArrowNodeMemory;
import io.memgov.arrow.ArrowOperatorMemory;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Arrow example of README.md ("Arrow"), kept here so that it cannot rot. Keep the two in step: the README shows
 * the lines between the markers.
 */
final class ArrowReadmeExampleTest
{
    @Test
    void readmeArrowExampleRuns()
    {
        // not in the README: an engine independent of the test JVM's heap, and no JMX
        try (MemoryEngine engine = MemoryEngine.builder().property("node.heap-size", "1GB").property("node.heap-governed", "false").withoutJmx().build()) {
            // README begins
            NodeMemory node = engine.node(0);
            try (ArrowNodeMemory arrow = ArrowNodeMemory.create(node)) {     // one Arrow root per node
                QueryMemoryContext query = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
                OperatorMemoryContext join = query.addTask("0").addOperator("HashJoin");
                ArrowOperatorMemory memory = arrow.operator(join);
                // user memory; an operator that spills when asked passes OperatorMemoryContext::revocableMemory
                BufferAllocator allocator = memory.newAllocator("build-side");
                try (ArrowBuf buffer = allocator.buffer(1000)) {               // memgov reserved it before Arrow did
                    assertThat(join.userMemory().bytes()).isEqualTo(allocator.getAllocatedMemory()); // 1024: Arrow rounds
                }
                memory.close();                    // closes its allocators (leaks reported with Arrow's account), then the operator
                query.close(QueryState.FINISHED);
            }
            // README ends
            assertThat(node.pool().reservedBytes()).isZero();
        }
    }
}
