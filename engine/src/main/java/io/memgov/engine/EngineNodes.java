package io.memgov.engine;

import io.memgov.engine.SelectedPolicy;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.spill.SpillStrategy;

import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * The nodes of the engine with their per-node policies, built together because each node's policies are created
 * through that node's context.
 */
record EngineNodes(List<NodeMemoryManager> nodes, Map<NodeId, SelectedPolicy<SpillStrategy>> spillStrategies, Map<NodeId, SelectedPolicy<MemoryArbitrator>> arbitrators)
{
    EngineNodes
    {
        nodes = List.copyOf(requireNonNull(nodes, "nodes is null"));
        spillStrategies = Map.copyOf(requireNonNull(spillStrategies, "spillStrategies is null"));
        arbitrators = Map.copyOf(requireNonNull(arbitrators, "arbitrators is null"));
    }
}
