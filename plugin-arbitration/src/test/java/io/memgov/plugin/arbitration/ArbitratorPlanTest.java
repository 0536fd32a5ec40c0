package io.memgov.plugin.arbitration;

import io.memgov.spi.arbitration.ArbitrationCandidate;
import io.memgov.spi.arbitration.ArbitrationPlan;
import io.memgov.spi.arbitration.ArbitrationRequest;
import io.memgov.spi.arbitration.ArbitrationStep;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.testing.TestingNodeContext;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The plans of the bundled arbitrators on hand-made node states. */
final class ArbitratorPlanTest
{
    private static final long MB = 1024 * 1024;
    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration FIVE_SECONDS = Duration.ofSeconds(5);

    // a 100MB pool over-committed by 10MB: 'old' holds 40MB (30 revocable in two consumers), 'young' 50MB (10
    // revocable), the requester 'new' 20MB of user memory and 4MB reserved ahead, and asks for 10MB more
    private final ArbitrationRequest request = new ArbitrationRequest(NodeId.of("n0"), QueryId.of("new"), 10 * MB,
            new MemoryPoolInfo("general", 100 * MB, 70 * MB, 40 * MB, Map.of(), Map.of(), Map.of(), Map.of(), Map.of()),
            List.of(
                    new ArbitrationCandidate(QueryId.of("young"), "bob", 0, START.plusSeconds(50), 40 * MB, 10 * MB, 0, List.of(consumer(3, "young", 10 * MB))),
                    new ArbitrationCandidate(QueryId.of("old"), "alice", 0, START, 10 * MB, 30 * MB, 0,
                            List.of(consumer(1, "old", 20 * MB), consumer(2, "old", 10 * MB))),
                    new ArbitrationCandidate(QueryId.of("new"), "carol", 0, START.plusSeconds(60), 20 * MB, 0, 4 * MB, List.of())),
            START.plusSeconds(61));

    @Test
    void spillFirstReclaimsThenSpillsTheLargestConsumersUntilTheyCoverTheNeedThenKillsTheLargestQuery()
    {
        ArbitrationPlan plan = SpillFirstArbitrator.create(PolicyConfig.empty()).arbitrate(request);

        // 10MB + 1 byte to free, 4MB of it reclaimed: the 20MB consumer alone covers the rest
        assertThat(plan.steps()).hasSize(3);
        assertThat(plan.steps().get(0)).isEqualTo(new ArbitrationStep.Reclaim());
        assertThat(plan.steps().get(1)).isEqualTo(new ArbitrationStep.Revoke(List.of(1L), FIVE_SECONDS));
        ArbitrationStep.Kill kill = (ArbitrationStep.Kill) plan.steps().get(2);
        assertThat(kill.queryId()).isEqualTo(QueryId.of("young"));
        assertThat(kill.timeout()).isEqualTo(FIVE_SECONDS);
        assertThat(kill.reason()).isEqualTo("Query killed by memory arbitrator 'spill-first' on n0: query new asked for 10MB on a full pool, and reclaiming and "
                + "spilling could not make room; this query held 50MB, the most of the lowest priority");
    }

    @Test
    void spillFirstKillsTheLowestPriorityFirst()
    {
        ArbitrationRequest prioritised = new ArbitrationRequest(request.nodeId(), request.requester(), request.requestedBytes(), request.pool(),
                List.of(
                        new ArbitrationCandidate(QueryId.of("important"), "bob", 5, START, 80 * MB, 0, 0, List.of()),
                        new ArbitrationCandidate(QueryId.of("batch"), "alice", -1, START, 10 * MB, 0, 0, List.of())),
                request.now());

        ArbitrationPlan plan = SpillFirstArbitrator.create(PolicyConfig.empty()).arbitrate(prioritised);

        assertThat(plan.steps()).singleElement().isInstanceOfSatisfying(ArbitrationStep.Kill.class, kill -> assertThat(kill.queryId()).isEqualTo(QueryId.of("batch")));
    }

    @Test
    void spillFirstWithoutKillingStopsAfterSpilling()
    {
        ArbitrationPlan plan = SpillFirstArbitrator.create(PolicyConfig.of("memory.arbitrator.spill-first.", Map.of("kill", "false", "revoke-timeout", "1s")))
                .arbitrate(request);

        assertThat(plan).isEqualTo(ArbitrationPlan.of(new ArbitrationStep.Reclaim(), new ArbitrationStep.Revoke(List.of(1L), Duration.ofSeconds(1))));
    }

    @Test
    void pauseSpillsOnlyTheOthersThenPausesTheRequesterThenFailsIt()
    {
        ArbitrationRequest ownConsumer = new ArbitrationRequest(request.nodeId(), request.requester(), request.requestedBytes(), request.pool(),
                List.of(
                        request.queries().get(0),
                        new ArbitrationCandidate(QueryId.of("new"), "carol", 0, START.plusSeconds(60), 0, 50 * MB, 0, List.of(consumer(9, "new", 50 * MB)))),
                request.now());

        ArbitrationPlan plan = PauseArbitrator.create(PolicyConfig.empty()).arbitrate(ownConsumer);

        assertThat(plan.steps()).containsExactly(
                new ArbitrationStep.Revoke(List.of(3L), FIVE_SECONDS),
                new ArbitrationStep.Pause(Duration.ofSeconds(30)),
                new ArbitrationStep.Fail("Query failed by memory arbitrator 'pause' on n0: it asked for 10MB on a full pool and was paused for 30s without memory becoming free"));
    }

    @Test
    void pauseOfAQueryThatHoldsNothingYetIsAdmissionControl()
    {
        ArbitrationRequest admission = new ArbitrationRequest(request.nodeId(), QueryId.of("arriving"), MB, request.pool(), request.queries(), request.now());

        ArbitrationPlan plan = PauseArbitrator.create(PolicyConfig.empty()).arbitrate(admission);

        assertThat(plan.steps()).filteredOn(ArbitrationStep.Pause.class::isInstance).hasSize(1);
        assertThat(plan.steps()).noneMatch(ArbitrationStep.Kill.class::isInstance);
    }

    @Test
    void unknownKeysAndBadValuesFailNamingTheKey()
    {
        ArbitrationPlugin plugin = new ArbitrationPlugin();
        assertThatThrownBy(() -> plugin.memoryArbitratorFactories().get(0)
                .create(PolicyConfig.of("memory.arbitrator.spill-first.", Map.of("revoke-timeot", "1s")), TestingNodeContext.create()))
                .isInstanceOf(PolicyConfigException.class)
                .hasMessageContaining("memory.arbitrator.spill-first.revoke-timeot");
        assertThatThrownBy(() -> plugin.memoryArbitratorFactories().get(1)
                .create(PolicyConfig.of("memory.arbitrator.pause.", Map.of("pause-timeout", "forever")), TestingNodeContext.create()))
                .isInstanceOf(PolicyConfigException.class)
                .hasMessageContaining("'forever'")
                .hasMessageContaining("memory.arbitrator.pause.pause-timeout");
    }

    private static RevocableConsumerInfo consumer(long id, String queryId, long bytes)
    {
        return new RevocableConsumerInfo(id, TaskId.of(QueryId.of(queryId), "0"), "Op" + id, bytes, START, id, false);
    }
}
