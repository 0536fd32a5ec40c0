package io.memgov.engine;

import io.memgov.engine.internal.arbitration.ArbitrationStatistics;
import io.memgov.engine.internal.arbitration.NodeArbitration;

import java.util.List;

import static java.util.Objects.requireNonNull;

/** The arbitration of every node, with the statistics they share; closed with the engine. */
record NodeArbitrations(List<NodeArbitration> byNode, ArbitrationStatistics statistics)
{
    NodeArbitrations
    {
        byNode = List.copyOf(requireNonNull(byNode, "byNode is null"));
        requireNonNull(statistics, "statistics is null");
    }
}
