package io.memgov.plugin.arbitration;

import io.memgov.spi.arbitration.ArbitrationPlan;
import io.memgov.spi.arbitration.ArbitrationRequest;
import io.memgov.spi.arbitration.ArbitrationStep;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * Doris's paused queries: the requester is paused, not killed. Unused reservations are given back, the largest
 * revocable consumers of the other queries spill, and the requester waits for memory as long as
 * {@code pause-timeout}; if there is still no room then, it fails (and the others go on). A pause before the requester
 * holds anything is admission control: the query waits to start while the node is full. Keys under
 * {@code memory.arbitrator.pause.}: {@code pause-timeout} (30s), {@code revoke-timeout} (5s).
 */
final class PauseArbitrator
        implements MemoryArbitrator
{
    static final String NAME = "pause";
    static final String PAUSE_TIMEOUT = "pause-timeout";
    static final String REVOKE_TIMEOUT = "revoke-timeout";
    static final List<PolicyConfigKey> KEYS = List.of(
            new PolicyConfigKey(PAUSE_TIMEOUT, "30s", "how long the requester is paused waiting for memory before it fails"),
            new PolicyConfigKey(REVOKE_TIMEOUT, "5s", "how long the other queries' consumers may take to spill before the pause"));

    private final Duration pauseTimeout;
    private final Duration revokeTimeout;

    PauseArbitrator(Duration pauseTimeout, Duration revokeTimeout)
    {
        this.pauseTimeout = requireNonNull(pauseTimeout, "pauseTimeout is null");
        this.revokeTimeout = requireNonNull(revokeTimeout, "revokeTimeout is null");
    }

    static PauseArbitrator create(PolicyConfig config)
    {
        return new PauseArbitrator(
                config.duration(PAUSE_TIMEOUT, Duration.ofSeconds(30), Duration.ZERO, Duration.ofHours(1)),
                config.duration(REVOKE_TIMEOUT, Duration.ofSeconds(5), Duration.ZERO, Duration.ofHours(1)));
    }

    @Override
    public ArbitrationPlan arbitrate(ArbitrationRequest request)
    {
        List<ArbitrationStep> steps = new ArrayList<>();
        if (Plans.anythingToReclaim(request)) {
            steps.add(new ArbitrationStep.Reclaim());
        }
        List<Long> others = Plans.largestConsumers(request, query -> !Plans.isRequester(request, query.queryId()));
        if (!others.isEmpty()) {
            steps.add(new ArbitrationStep.Revoke(others, revokeTimeout));
        }
        steps.add(new ArbitrationStep.Pause(pauseTimeout));
        steps.add(new ArbitrationStep.Fail(String.format(
                "Query failed by memory arbitrator '%s' on %s: it asked for %s on a full pool and was paused for %s without memory becoming free",
                NAME, request.nodeId(), succinct(request.requestedBytes()), PolicyConfig.format(pauseTimeout))));
        return new ArbitrationPlan(steps);
    }

    @Override
    public String toString()
    {
        return NAME;
    }
}
