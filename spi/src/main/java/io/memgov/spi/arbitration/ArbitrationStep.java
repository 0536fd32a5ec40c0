package io.memgov.spi.arbitration;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.query.QueryId;

import java.time.Duration;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * One step of an {@link ArbitrationPlan}. Each step that waits does so for at most its timeout, then the next step runs.
 *
 * @since 1.0
 */
@Experimental
public sealed interface ArbitrationStep
        permits ArbitrationStep.Reclaim, ArbitrationStep.Revoke, ArbitrationStep.Pause, ArbitrationStep.Kill, ArbitrationStep.Fail
{
    /** Gives back every query's unused reservation (bytes reserved ahead in quanta): free, immediate, nobody waits. */
    record Reclaim()
            implements ArbitrationStep {}

    /**
     * Asks these revocable consumers (the requester's own or others') to spill, and waits until their revokes end or
     * {@code timeout} passes.
     *
     * @param consumerIds ids from {@link ArbitrationCandidate#consumers()}; unknown ids are skipped
     */
    record Revoke(List<Long> consumerIds, Duration timeout)
            implements ArbitrationStep
    {
        public Revoke
        {
            consumerIds = List.copyOf(requireNonNull(consumerIds, "consumerIds is null"));
            checkTimeout(timeout);
        }
    }

    /**
     * Pauses the requester: it keeps waiting for memory, as long as {@code timeout}, while others finish or spill
     * (Doris's paused query). A pause before the requester holds anything is admission control.
     */
    record Pause(Duration timeout)
            implements ArbitrationStep
    {
        public Pause
        {
            checkTimeout(timeout);
        }
    }

    /**
     * Fails this query on every node (the requester or another query on this node) and waits as long as {@code timeout}
     * for its memory to be released.
     *
     * @param reason why, for the query's failure message
     */
    record Kill(QueryId queryId, String reason, Duration timeout)
            implements ArbitrationStep
    {
        public Kill
        {
            requireNonNull(queryId, "queryId is null");
            requireNonNull(reason, "reason is null");
            checkTimeout(timeout);
        }
    }

    /**
     * Fails the requester now.
     *
     * @param reason why, for the query's failure message
     */
    record Fail(String reason)
            implements ArbitrationStep
    {
        public Fail
        {
            requireNonNull(reason, "reason is null");
        }
    }

    private static void checkTimeout(Duration timeout)
    {
        requireNonNull(timeout, "timeout is null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout is negative: " + timeout);
        }
    }
}
