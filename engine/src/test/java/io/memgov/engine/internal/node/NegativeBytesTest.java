package io.memgov.engine.internal.node;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.lang.ref.Reference;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A negative setBytes fails as in Trino's and Presto's SimpleLocalMemoryContext, and changes nothing. */
final class NegativeBytesTest
{
    @Test
    void negativeBytesAreRefusedInTrinosAndPrestosWordsAndChangeNothing()
    {
        try (MemoryEngine engine = NodeMemoryScenariosTest.engine(Map.of("node.heap-size", "20MB", "memory.heap-headroom-per-node", "10MB"))) {
            OperatorMemoryContext operator = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("Scan");
            operator.userMemory().setBytes(10);

            assertThatThrownBy(() -> operator.userMemory().setBytes(-1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("bytes cannot be negative: -1");
            assertThat(operator.userMemory().bytes()).isEqualTo(10);
            assertThat(engine.node(0).pool().reservedBytes()).isEqualTo(10);
            Reference.reachabilityFence(operator);
        }
    }
}
