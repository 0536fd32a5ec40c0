package io.memgov.arrow;

import io.memgov.engine.MemoryEngine;

import java.util.HashMap;
import java.util.Map;

/** Single-node engines for the adapter's tests: no JMX, and a cluster loop that never runs during a test. */
final class TestEngines
{
    private TestEngines() {}

    /**
     * A node whose pool is {@code poolSize} (no heap headroom, not checked against the test JVM's heap), with the per-node query limit {@code queryLimit}.
     * {@code overrides} replace or add properties.
     */
    static MemoryEngine engine(String poolSize, String queryLimit, Map<String, String> overrides)
    {
        Map<String, String> properties = new HashMap<>();
        properties.put("node.heap-size", poolSize);
        properties.put("memory.heap-headroom-per-node", "0B");
        properties.put("query.max-memory-per-node", queryLimit);
        properties.put("memory.cluster.poll-interval", "1h");
        // the pool governs Arrow's off-heap buffers, not this JVM's heap
        properties.put("node.heap-governed", "false");
        // memgov's figures are checked against Arrow's counters byte for byte
        properties.put("memory.reservation-quantum", "0B");
        properties.putAll(overrides);
        return MemoryEngine.builder()
                .properties(properties)
                .withoutJmx()
                .build();
    }

    static MemoryEngine engine(String poolSize, String queryLimit)
    {
        return engine(poolSize, queryLimit, Map.of());
    }
}
