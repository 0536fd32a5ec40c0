package io.memgov.integration;

import io.memgov.engine.MemoryEngine;
import org.junit.jupiter.api.AfterAll;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every scenario of {@link ClusterMemoryManagerTest} (Trino's killer scenarios, distributed limits, the cascade guard,
 * leaks, misbehaving killers) again, with the cluster loop reading the nodes and sending its decisions only through
 * {@link JsonRoundTripTransport}: the loop needs nothing but the documented snapshots and commands, and reaches the same
 * outcomes.
 */
final class ClusterMemoryManagerOverJsonTest
        extends ClusterMemoryManagerTest
{
    @Override
    MemoryEngine.Builder cluster(int nodes)
    {
        return super.cluster(nodes)
                .plugin(JsonRoundTripTransport.PLUGIN)
                .property("cluster.transport.policy", JsonRoundTripTransport.NAME);
    }

    @AfterAll
    static void documentsCrossedTheWire()
    {
        assertThat(JsonRoundTripTransport.DOCUMENTS.get()).isPositive();
    }
}
