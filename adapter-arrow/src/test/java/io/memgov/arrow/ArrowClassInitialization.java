package io.memgov.arrow;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.QueryId;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.unsafe.UnsafeAllocationManager;

/**
 * Run in a fresh JVM by {@link ArrowClassInitializationTest}: the first Arrow class this program touches is the
 * allocation manager a host names, the order in which Arrow's own class initialization fails.
 */
final class ArrowClassInitialization
{
    private ArrowClassInitialization() {}

    public static void main(String[] args)
    {
        try (MemoryEngine engine = MemoryEngine.builder().property("node.heap-size", "64MB").withoutJmx().build();
                ArrowNodeMemory arrow = ArrowNodeMemory.builder(engine.node(0)).allocationManagerFactory(UnsafeAllocationManager.FACTORY).build()) {
            OperatorMemoryContext operator = engine.node(0).createQuery(QueryId.of("q1"), QuerySession.of("alice")).addTask("0").addOperator("Scan");
            try (ArrowOperatorMemory memory = arrow.operator(operator); ArrowBuf buffer = memory.newAllocator("pages").buffer(1000)) {
                System.out.println("allocated " + buffer.capacity() + ", reserved " + operator.userMemory().bytes());
            }
        }
    }
}
