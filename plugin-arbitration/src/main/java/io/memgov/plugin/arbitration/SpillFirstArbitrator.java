package io.memgov.plugin.arbitration;

import io.memgov.spi.arbitration.ArbitrationCandidate;
import io.memgov.spi.arbitration.ArbitrationPlan;
import io.memgov.spi.arbitration.ArbitrationRequest;
import io.memgov.spi.arbitration.ArbitrationStep;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * Velox's order ({@code SharedArbitrator}): give back unused reservations, then spill the largest revocable consumers
 * on the node (the requester's own included) until they cover what the pool needs back, and only then kill a query:
 * the lowest priority, then the one holding the most memory. Keys under {@code memory.arbitrator.spill-first.}:
 * {@code revoke-timeout} (5s, how long a spill may take before the next step), {@code kill-timeout} (5s, how long a
 * killed query may take to release its memory), {@code kill} (true; false stops after spilling and lets the
 * requester wait for the cluster loop).
 */
final class SpillFirstArbitrator
        implements MemoryArbitrator
{
    static final String NAME = "spill-first";
    static final String REVOKE_TIMEOUT = "revoke-timeout";
    static final String KILL_TIMEOUT = "kill-timeout";
    static final String KILL = "kill";
    static final List<PolicyConfigKey> KEYS = List.of(
            new PolicyConfigKey(REVOKE_TIMEOUT, "5s", "how long the chosen consumers may take to spill before the next step"),
            new PolicyConfigKey(KILL_TIMEOUT, "5s", "how long a killed query may take to release its memory before the plan ends"),
            new PolicyConfigKey(KILL, "true", "false stops after spilling: the requester then waits for the cluster loop's killers"));

    private final Duration revokeTimeout;
    private final Duration killTimeout;
    private final boolean kill;

    SpillFirstArbitrator(Duration revokeTimeout, Duration killTimeout, boolean kill)
    {
        this.revokeTimeout = requireNonNull(revokeTimeout, "revokeTimeout is null");
        this.killTimeout = requireNonNull(killTimeout, "killTimeout is null");
        this.kill = kill;
    }

    static SpillFirstArbitrator create(PolicyConfig config)
    {
        return new SpillFirstArbitrator(
                config.duration(REVOKE_TIMEOUT, Duration.ofSeconds(5), Duration.ZERO, Duration.ofHours(1)),
                config.duration(KILL_TIMEOUT, Duration.ofSeconds(5), Duration.ZERO, Duration.ofHours(1)),
                config.bool(KILL, true));
    }

    @Override
    public ArbitrationPlan arbitrate(ArbitrationRequest request)
    {
        List<ArbitrationStep> steps = new ArrayList<>();
        if (Plans.anythingToReclaim(request)) {
            steps.add(new ArbitrationStep.Reclaim());
        }
        List<Long> consumers = Plans.largestConsumers(request, query -> true);
        if (!consumers.isEmpty()) {
            steps.add(new ArbitrationStep.Revoke(consumers, revokeTimeout));
        }
        if (kill) {
            Optional<ArbitrationCandidate> victim = Plans.victim(request);
            victim.ifPresent(query -> steps.add(new ArbitrationStep.Kill(query.queryId(), String.format(
                    "Query killed by memory arbitrator '%s' on %s: query %s asked for %s on a full pool, and reclaiming and spilling could not make room; "
                            + "this query held %s, the most of the lowest priority",
                    NAME, request.nodeId(), request.requester(), succinct(request.requestedBytes()), succinct(query.totalBytes())), killTimeout)));
        }
        return new ArbitrationPlan(steps);
    }

    @Override
    public String toString()
    {
        return NAME;
    }
}
