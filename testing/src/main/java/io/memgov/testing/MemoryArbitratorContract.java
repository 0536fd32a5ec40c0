package io.memgov.testing;

import io.memgov.spi.annotation.Experimental;
import io.memgov.spi.arbitration.ArbitrationCandidate;
import io.memgov.spi.arbitration.ArbitrationPlan;
import io.memgov.spi.arbitration.ArbitrationRequest;
import io.memgov.spi.arbitration.ArbitrationStep;
import io.memgov.spi.arbitration.MemoryArbitrator;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The promises of {@link MemoryArbitrator} as tests, over a few hand-written node states and a few hundred drawn from a
 * fixed seed (queries of several sizes, priorities and ages, some with revocable consumers, some with unused
 * reservations, the requester holding something or nothing yet). An arbitrator gets the whole suite with one small
 * subclass:
 *
 * <pre>{@code
 * final class MyArbitratorContractTest
 *         extends MemoryArbitratorContract
 * {
 *     @Override
 *     protected MemoryArbitrator newArbitrator()
 *     {
 *         return new MyArbitratorFactory().create(PolicyConfig.empty(), TestingNodeContext.create());
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: a plan is never null; it revokes only consumers it was shown, each at most once in a plan; it
 * kills only queries on the node, each at most once, never one that holds nothing; a {@code Fail} step is the last
 * one (nothing after it could run); it does not modify its input; two fresh arbitrators plan the same for the same
 * input; with nothing on the node but the requester's ask, it plans without throwing.
 *
 * <p>Test methods are public so that a subclass can override one to disable it while a known defect is fixed.
 *
 * @since 1.0
 */
@Experimental
public abstract class MemoryArbitratorContract
{
    private static final long RANDOM_SEED = 20_261_205;
    private static final int RANDOM_SCENARIOS = 300;
    private static final long MB = 1024 * 1024;
    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

    /** A new arbitrator, configured as the subclass wants to test it. Called once or more per test. */
    protected abstract MemoryArbitrator newArbitrator();

    /** The scenarios every check runs over: hand-written ones first, then the seeded ones. */
    protected List<ArbitrationRequest> scenarios()
    {
        List<ArbitrationRequest> scenarios = new ArrayList<>();
        scenarios.add(requesterAlone());
        scenarios.add(oneSpillerAndTheRequester());
        scenarios.add(nothingToSpill());
        Random random = new Random(RANDOM_SEED);
        for (int i = 0; i < RANDOM_SCENARIOS; i++) {
            scenarios.add(randomRequest(random, i));
        }
        return scenarios;
    }

    @Test
    public void aPlanIsNeverNull()
    {
        MemoryArbitrator arbitrator = newArbitrator();
        for (ArbitrationRequest request : scenarios()) {
            assertThat(arbitrator.arbitrate(request)).as("%s", request).isNotNull();
        }
    }

    @Test
    public void revokesOnlyConsumersItWasShownEachAtMostOnce()
    {
        MemoryArbitrator arbitrator = newArbitrator();
        for (ArbitrationRequest request : scenarios()) {
            Set<Long> shown = new HashSet<>();
            request.queries().forEach(query -> query.consumers().forEach(consumer -> shown.add(consumer.consumerId())));
            Set<Long> revoked = new HashSet<>();
            for (ArbitrationStep step : arbitrator.arbitrate(request).steps()) {
                if (step instanceof ArbitrationStep.Revoke revoke) {
                    for (long consumer : revoke.consumerIds()) {
                        assertThat(shown).as("consumers shown in %s", request).contains(consumer);
                        assertThat(revoked.add(consumer)).as("consumer %s revoked twice in %s", consumer, request).isTrue();
                    }
                }
            }
        }
    }

    @Test
    public void killsOnlyQueriesOnTheNodeThatHoldMemoryEachAtMostOnce()
    {
        MemoryArbitrator arbitrator = newArbitrator();
        for (ArbitrationRequest request : scenarios()) {
            Map<QueryId, ArbitrationCandidate> onNode = new HashMap<>();
            request.queries().forEach(query -> onNode.put(query.queryId(), query));
            Set<QueryId> killed = new HashSet<>();
            for (ArbitrationStep step : arbitrator.arbitrate(request).steps()) {
                if (step instanceof ArbitrationStep.Kill kill) {
                    assertThat(onNode).as("queries on the node in %s", request).containsKey(kill.queryId());
                    assertThat(onNode.get(kill.queryId()).totalBytes()).as("bytes of the killed %s", kill.queryId()).isPositive();
                    assertThat(killed.add(kill.queryId())).as("query %s killed twice", kill.queryId()).isTrue();
                    assertThat(kill.reason()).isNotBlank();
                }
            }
        }
    }

    @Test
    public void failIsTheLastStep()
    {
        MemoryArbitrator arbitrator = newArbitrator();
        for (ArbitrationRequest request : scenarios()) {
            List<ArbitrationStep> steps = arbitrator.arbitrate(request).steps();
            for (int i = 0; i < steps.size() - 1; i++) {
                assertThat(steps.get(i)).as("step %s of %s", i, steps).isNotInstanceOf(ArbitrationStep.Fail.class);
            }
        }
    }

    @Test
    public void twoFreshArbitratorsPlanTheSameForTheSameInput()
    {
        MemoryArbitrator first = newArbitrator();
        MemoryArbitrator second = newArbitrator();
        for (ArbitrationRequest request : scenarios()) {
            assertThat(second.arbitrate(request)).as("%s", request).isEqualTo(first.arbitrate(request));
        }
    }

    @Test
    public void aPlanNeedsNoMoreThanItWasShownAndTheInputIsUnchanged()
    {
        MemoryArbitrator arbitrator = newArbitrator();
        for (ArbitrationRequest request : scenarios()) {
            ArbitrationRequest copy = new ArbitrationRequest(request.nodeId(), request.requester(), request.requestedBytes(), request.pool(),
                    new ArrayList<>(request.queries()), request.now());
            ArbitrationPlan plan = arbitrator.arbitrate(request);
            assertThat(request).isEqualTo(copy);
            assertThat(plan.steps()).doesNotContainNull();
        }
    }

    /** The requester asks on an empty pool: it holds nothing yet (admission). */
    private static ArbitrationRequest requesterAlone()
    {
        return new ArbitrationRequest(NodeId.of("n0"), QueryId.of("requester"), 8 * MB, pool(4 * MB, 0, 0), List.of(), START);
    }

    private static ArbitrationRequest oneSpillerAndTheRequester()
    {
        ArbitrationCandidate spiller = new ArbitrationCandidate(QueryId.of("spiller"), "alice", 0, START, MB, 6 * MB, 0,
                List.of(consumer(1, "spiller", 6 * MB)));
        ArbitrationCandidate requester = new ArbitrationCandidate(QueryId.of("requester"), "bob", 0, START.plusSeconds(1), 3 * MB, 0, MB, List.of());
        return new ArbitrationRequest(NodeId.of("n0"), QueryId.of("requester"), 2 * MB, pool(10 * MB, 4 * MB, 6 * MB), List.of(spiller, requester), START.plusSeconds(2));
    }

    private static ArbitrationRequest nothingToSpill()
    {
        ArbitrationCandidate big = new ArbitrationCandidate(QueryId.of("big"), "alice", 0, START, 8 * MB, 0, 0, List.of());
        ArbitrationCandidate requester = new ArbitrationCandidate(QueryId.of("requester"), "bob", 1, START.plusSeconds(1), 3 * MB, 0, 0, List.of());
        return new ArbitrationRequest(NodeId.of("n0"), QueryId.of("requester"), MB, pool(10 * MB, 11 * MB, 0), List.of(big, requester), START.plusSeconds(2));
    }

    private static ArbitrationRequest randomRequest(Random random, int index)
    {
        int queries = random.nextInt(6);
        List<ArbitrationCandidate> candidates = new ArrayList<>();
        long user = 0;
        long revocable = 0;
        long consumerId = 1;
        for (int q = 0; q < queries; q++) {
            String id = "q" + q;
            long queryUser = random.nextInt(4) == 0 ? 0 : random.nextInt(64) * MB / 8;
            List<RevocableConsumerInfo> consumers = new ArrayList<>();
            long queryRevocable = 0;
            for (int c = random.nextInt(3); c > 0; c--) {
                // a consumer may hold nothing any more
                long bytes = random.nextInt(5) == 0 ? 0 : (1 + random.nextInt(32)) * MB / 4;
                consumers.add(consumer(consumerId++, id, bytes));
                queryRevocable += bytes;
            }
            long unused = random.nextInt(3) == 0 ? random.nextInt(8) * MB / 8 : 0;
            if (queryUser + queryRevocable == 0 && unused == 0 && random.nextBoolean()) {
                continue;
            }
            candidates.add(new ArbitrationCandidate(QueryId.of(id), "user" + random.nextInt(3), random.nextInt(3) - 1,
                    START.plusSeconds(random.nextInt(100)), queryUser, queryRevocable, unused, consumers));
            user += queryUser;
            revocable += queryRevocable;
        }
        // the requester is one of the queries, or a query that holds nothing yet
        QueryId requester = candidates.isEmpty() || random.nextInt(4) == 0 ? QueryId.of("new" + index) : candidates.get(random.nextInt(candidates.size())).queryId();
        long max = Math.max(MB, (user + revocable) * (50 + random.nextInt(50)) / 100);
        return new ArbitrationRequest(NodeId.of("n0"), requester, 1 + random.nextInt(8) * MB, pool(max, user, revocable), candidates, START.plusSeconds(200));
    }

    private static RevocableConsumerInfo consumer(long id, String queryId, long bytes)
    {
        return new RevocableConsumerInfo(id, TaskId.of(QueryId.of(queryId), "0"), "Operator" + id, bytes, START, id, false);
    }

    private static MemoryPoolInfo pool(long max, long user, long revocable)
    {
        return new MemoryPoolInfo("general", max, user, revocable, Map.of(), Map.of(), Map.of(), Map.of(), Map.of());
    }
}
