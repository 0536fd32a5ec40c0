package io.memgov.spi.arbitration;

import io.memgov.spi.annotation.Experimental;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * What the engine does, in order, to make room for a blocked reservation. The engine stops as soon as the pool has free
 * bytes again; a step that cannot be carried out (a consumer that is gone, a query that already ended) is logged and
 * the next one runs. When every step ran and there is still no room, the requester keeps waiting, as under
 * {@link #WAIT}.
 *
 * @param steps the steps, in order; may be empty
 * @since 1.0
 */
@Experimental
public record ArbitrationPlan(List<ArbitrationStep> steps)
{
    /** No step: the requester waits for memory to be freed, or for the cluster loop's killers (Trino's behaviour). */
    public static final ArbitrationPlan WAIT = new ArbitrationPlan(List.of());

    public ArbitrationPlan
    {
        steps = List.copyOf(requireNonNull(steps, "steps is null"));
    }

    public static ArbitrationPlan of(ArbitrationStep... steps)
    {
        return new ArbitrationPlan(List.of(steps));
    }
}
