package io.memgov.testing;

import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import io.memgov.spi.spill.RevocableConsumerInfo;
import io.memgov.spi.spill.RevokeRequest;
import io.memgov.spi.spill.SpillStrategy;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * The promises of {@link SpillStrategy} as tests, over a set of {@linkplain #scenarios() scenarios}: a few written by
 * hand and a few hundred drawn from a fixed seed (consumers of several tasks and ages, some holding nothing any more,
 * at most one requester, and a wide range of amounts to revoke). A strategy gets the whole suite with one small
 * subclass:
 *
 * <pre>{@code
 * final class MySpillStrategyContractTest
 *         extends SpillStrategyContract
 * {
 *     @Override
 *     protected SpillStrategy newStrategy()
 *     {
 *         return new MySpillStrategyFactory().create(PolicyConfig.empty(), TestingNodeContext.create());
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: no consumers, no requests; requests name only consumers the strategy was given, each at most once,
 * and expect a positive amount no larger than what the consumer holds (so never a consumer that holds nothing); the
 * strategy accepts unmodifiable lists and leaves mutable ones as they were.
 *
 * <p>Test methods are public so that a subclass can override one to disable it ({@code @Disabled("why")}) while a
 * known defect is fixed.
 *
 * @since 1.0
 */
public abstract class SpillStrategyContract
{
    private static final long RANDOM_SEED = 20_240_102;
    private static final int RANDOM_SCENARIOS = 300;

    /** A new strategy, configured as the subclass wants to test it. Called once or more per test. */
    protected abstract SpillStrategy newStrategy();

    /** The inputs every check runs over; a subclass may add its own to {@link #standardScenarios()}. */
    protected List<Scenario> scenarios()
    {
        return standardScenarios();
    }

    @Test
    public void asksNobodyWhenNobodyHoldsRevocableMemory()
    {
        SpillStrategy strategy = newStrategy();
        MemoryPoolInfo pool = new MemoryPoolInfo("general", 1000, 990, 0, Map.of(), Map.of(), Map.of(), Map.of(), Map.of());

        for (long bytesToRevoke : new long[] {1, 100, 1000, Long.MAX_VALUE}) {
            assertThat(strategy.chooseConsumersToRevoke(pool, List.of(), bytesToRevoke)).as("bytes to revoke: %s", bytesToRevoke).isEmpty();
        }
    }

    @Test
    public void asksOnlyConsumersItWasGivenEachAtMostOnce()
    {
        SpillStrategy strategy = newStrategy();
        for (Scenario scenario : scenarios()) {
            List<RevokeRequest> requests = choose(strategy, scenario);
            Set<Long> given = scenario.consumers().stream().map(RevocableConsumerInfo::consumerId).collect(Collectors.toSet());
            Set<Long> asked = new HashSet<>();
            for (RevokeRequest request : requests) {
                assertThat(given).as("%s: the consumers given, which must include %s", scenario.name(), request).contains(request.consumerId());
                assertThat(asked.add(request.consumerId())).as("%s: consumer %s is asked twice", scenario.name(), request.consumerId()).isTrue();
            }
        }
    }

    @Test
    public void expectsNoMoreThanEachConsumerHolds()
    {
        // the revoking scheduler counts the expected bytes as being freed: more than the consumer holds never comes
        SpillStrategy strategy = newStrategy();
        for (Scenario scenario : scenarios()) {
            Map<Long, RevocableConsumerInfo> byId = scenario.consumers().stream()
                    .collect(Collectors.toMap(RevocableConsumerInfo::consumerId, Function.identity()));
            for (RevokeRequest request : choose(strategy, scenario)) {
                RevocableConsumerInfo consumer = byId.get(request.consumerId());
                assertThat(consumer).as("%s: consumer %s", scenario.name(), request.consumerId()).isNotNull();
                assertThat(request.expectedBytes()).as("%s: bytes expected from %s", scenario.name(), consumer)
                        .isPositive()
                        .isLessThanOrEqualTo(consumer.revocableBytes());
            }
        }
    }

    @Test
    public void acceptsUnmodifiableInputsAndLeavesMutableOnesAsTheyWere()
    {
        SpillStrategy strategy = newStrategy();
        for (Scenario scenario : scenarios()) {
            assertThatCode(() -> strategy.chooseConsumersToRevoke(scenario.pool(), Collections.unmodifiableList(scenario.consumers()), scenario.bytesToRevoke()))
                    .as(scenario.name())
                    .doesNotThrowAnyException();
            List<RevocableConsumerInfo> consumers = new ArrayList<>(scenario.consumers());
            strategy.chooseConsumersToRevoke(scenario.pool(), consumers, scenario.bytesToRevoke());
            assertThat(consumers).as(scenario.name()).isEqualTo(scenario.consumers());
        }
    }

    private static List<RevokeRequest> choose(SpillStrategy strategy, Scenario scenario)
    {
        List<RevokeRequest> requests = strategy.chooseConsumersToRevoke(scenario.pool(), scenario.consumers(), scenario.bytesToRevoke());
        assertThat(requests).as("%s: the result", scenario.name()).isNotNull();
        return requests;
    }

    /** The hand-written scenarios and {@value #RANDOM_SCENARIOS} random ones from a fixed seed. */
    public static List<Scenario> standardScenarios()
    {
        List<Scenario> scenarios = new ArrayList<>();
        scenarios.add(Scenario.of("one consumer", 100, 90, 6, List.of(consumer(1, "q1.0", 20, 1, 1, false))));
        scenarios.add(Scenario.of("two tasks, one consumer holding nothing", 10, 0, 6, List.of(
                consumer(1, "q1.1", 3, 100, 1, false),
                consumer(2, "q1.1", 0, 100, 2, false),
                consumer(3, "q1.1", 6, 100, 3, false),
                consumer(4, "q2.1", 7, 200, 4, false))));
        scenarios.add(Scenario.of("more to revoke than anyone holds", 100, 50, 1_000_000, List.of(
                consumer(1, "q1.0", 5, 1, 1, false),
                consumer(2, "q2.0", 9, 2, 2, false))));
        scenarios.add(Scenario.of("the requester holds the most", 100, 10, 30, List.of(
                consumer(1, "q1.0", 10, 1, 1, false),
                consumer(2, "q1.0", 60, 1, 2, true),
                consumer(3, "q2.0", 25, 5, 3, false))));
        scenarios.add(Scenario.of("equal consumers", 100, 10, 15, List.of(
                consumer(1, "q1.0", 10, 1, 1, false),
                consumer(2, "q2.0", 10, 1, 2, false),
                consumer(3, "q3.0", 10, 1, 3, false))));
        scenarios.add(Scenario.of("a single byte to revoke", 100, 99, 1, List.of(
                consumer(1, "q1.0", 1, 1, 1, false),
                consumer(2, "q1.0", 50, 1, 2, false))));
        Random random = new Random(RANDOM_SEED);
        for (int i = 0; i < RANDOM_SCENARIOS; i++) {
            List<RevocableConsumerInfo> consumers = new ArrayList<>();
            int count = random.nextInt(10);
            int requester = random.nextInt(3) == 0 && count > 0 ? random.nextInt(count) : -1;
            for (int c = 0; c < count; c++) {
                long bytes = random.nextInt(6) == 0 ? 0 : 1 + random.nextInt(random.nextBoolean() ? 100 : 1_000_000);
                String task = "q" + random.nextInt(4) + "." + random.nextInt(3);
                consumers.add(consumer(1000 + 7L * c, task, bytes, random.nextInt(50), c, c == requester));
            }
            long revocable = consumers.stream().mapToLong(RevocableConsumerInfo::revocableBytes).sum();
            long maxBytes = revocable + 1 + random.nextInt(2_000_000);
            long reserved = random.nextInt((int) Math.min(Integer.MAX_VALUE, maxBytes));
            long bytesToRevoke = 1 + (long) (random.nextDouble() * Math.max(1, revocable * 1.5));
            scenarios.add(Scenario.of("random scenario " + i + " (seed " + RANDOM_SEED + ")", maxBytes, reserved, bytesToRevoke, consumers));
        }
        return List.copyOf(scenarios);
    }

    private static RevocableConsumerInfo consumer(long id, String task, long bytes, long taskCreatedAtSecond, long registrationOrder, boolean requester)
    {
        return new RevocableConsumerInfo(id, TaskId.valueOf(task), "Op" + id, bytes, Instant.ofEpochSecond(taskCreatedAtSecond), registrationOrder, requester);
    }

    /**
     * One input of a strategy: the pool's snapshot, the consumers and how much the scheduler wants freed.
     *
     * @param name says which scenario failed; never null
     * @param bytesToRevoke positive
     */
    public record Scenario(String name, MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
    {
        public Scenario
        {
            requireNonNull(name, "name is null");
            requireNonNull(pool, "pool is null");
            consumers = List.copyOf(requireNonNull(consumers, "consumers is null"));
            if (bytesToRevoke <= 0) {
                throw new IllegalArgumentException("bytesToRevoke must be positive: " + bytesToRevoke);
            }
        }

        /**
         * A general pool of {@code maxBytes} with {@code reservedBytes} of user memory and the consumers' revocable
         * bytes, whose per-query and per-task revocable maps agree with the consumers.
         */
        public static Scenario of(String name, long maxBytes, long reservedBytes, long bytesToRevoke, List<RevocableConsumerInfo> consumers)
        {
            Map<TaskId, Long> byTask = consumers.stream().filter(consumer -> consumer.revocableBytes() > 0)
                    .collect(Collectors.groupingBy(RevocableConsumerInfo::taskId, Collectors.summingLong(RevocableConsumerInfo::revocableBytes)));
            Map<QueryId, Long> byQuery = consumers.stream().filter(consumer -> consumer.revocableBytes() > 0)
                    .collect(Collectors.groupingBy(consumer -> consumer.taskId().queryId(), Collectors.summingLong(RevocableConsumerInfo::revocableBytes)));
            long revocable = byTask.values().stream().mapToLong(Long::longValue).sum();
            MemoryPoolInfo pool = new MemoryPoolInfo("general", maxBytes, reservedBytes, revocable, Map.of(), Map.of(), byQuery, Map.of(), byTask);
            return new Scenario(name, pool, consumers, bytesToRevoke);
        }
    }
}
