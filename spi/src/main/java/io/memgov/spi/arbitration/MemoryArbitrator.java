package io.memgov.spi.arbitration;

import io.memgov.spi.annotation.Experimental;

/**
 * Decides, on a node, what to do about a reservation its pool cannot grant: the node's arbitration (Velox's memory
 * arbitrator, Doris's paused queries). Selected by {@code memory.arbitrator.policy}; {@link #NONE} leaves a full
 * pool to block its requesters until the cluster loop's killers act, as Trino does.
 *
 * <p><b>Who calls, when.</b> The engine calls {@link #arbitrate} on its arbitration thread when a reservation on the
 * node could not be granted at once (the pool had no free bytes left after it), at most one call per node at a time;
 * further requesters that block meanwhile join the arbitration in progress. The engine carries out the returned plan's
 * steps in order and stops as soon as the pool has free bytes again, which completes the requesters' futures.
 *
 * <p><b>Threads.</b> Calls for one node never overlap; calls for different nodes may. A call should be quick (it plans,
 * the engine acts); the engine bounds it by {@code policy.call-timeout} and treats a call that throws, blocks or
 * returns null as {@link ArbitrationPlan#WAIT}.
 *
 * @since 1.0
 */
@Experimental
public interface MemoryArbitrator
{
    /** Plans nothing: the requester waits for memory to be freed or for the cluster loop's killers. */
    MemoryArbitrator NONE = new MemoryArbitrator()
    {
        @Override
        public ArbitrationPlan arbitrate(ArbitrationRequest request)
        {
            return ArbitrationPlan.WAIT;
        }

        @Override
        public String toString()
        {
            return "none";
        }
    };

    /**
     * The steps that should make room for {@code request}'s requester.
     *
     * @param request the node's state when the reservation blocked; never null
     * @return the plan; never null
     */
    ArbitrationPlan arbitrate(ArbitrationRequest request);
}
