package io.memgov.engine;

import io.memgov.engine.SelectedPolicy;
import io.memgov.spi.PolicyFamily;

import java.util.Map;

import static java.util.Objects.requireNonNull;

/** The policies of a host's own families, by family. */
record ExtraPolicies(Map<PolicyFamily<?, ?, ?>, SelectedPolicy<?>> byFamily)
{
    ExtraPolicies
    {
        byFamily = Map.copyOf(requireNonNull(byFamily, "byFamily is null"));
    }
}
