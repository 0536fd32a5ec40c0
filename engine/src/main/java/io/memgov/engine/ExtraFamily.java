package io.memgov.engine;

import io.memgov.engine.SelectedPolicy;
import io.memgov.engine.internal.plugin.PolicySelector;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;

import static java.util.Objects.requireNonNull;

/** A host's own policy family, kept with its type so that its policy is created without a cast. */
record ExtraFamily<F extends PolicyFactory<PolicyContext, P>, P>(PolicyFamily<F, PolicyContext, P> family)
{
    ExtraFamily
    {
        requireNonNull(family, "family is null");
    }

    SelectedPolicy<P> create(PolicySelector policies, PolicyContext context)
    {
        return policies.create(family, context);
    }
}
