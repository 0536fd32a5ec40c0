package io.memgov.testing;

import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.KillerScope;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import io.memgov.testing.KillerFixtures.Cluster;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static io.memgov.testing.KillerFixtures.queries;
import static io.memgov.testing.KillerFixtures.tasks;
import static java.util.Objects.requireNonNull;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The promises of {@link LowMemoryKiller} as tests, over a set of {@linkplain #scenarios() scenarios} built with
 * {@link KillerFixtures}: a few written by hand (blocked and unblocked nodes, queries without tasks, nodes without
 * reservations, queries that hold memory but are no longer running, task-retry queries, speculative tasks) and a few
 * hundred drawn from a fixed seed. A killer gets the whole suite with one small subclass:
 *
 * <pre>{@code
 * final class MyLowMemoryKillerContractTest
 *         extends LowMemoryKillerContract
 * {
 *     @Override
 *     protected LowMemoryKiller newKiller()
 *     {
 *         return new MyKillerFactory().create(PolicyConfig.empty(), KillerFixtures.context());
 *     }
 * }
 * }</pre>
 *
 * <p>What it checks: a killer given nothing kills nothing; it never names a query or a task it was not given (a query
 * that still holds memory but is not running included); two killers given the same input choose the same; it accepts
 * the unmodifiable lists the engine passes and leaves mutable ones as they were; it copes with queries without tasks
 * and nodes without reservations; and a {@linkplain #scope() task killer} names only tasks of queries that retry
 * tasks.
 *
 * <p>Test methods are public so that a subclass can override one to disable it ({@code @Disabled("why")}) while a
 * known defect is fixed.
 *
 * @since 1.0
 */
public abstract class LowMemoryKillerContract
{
    private static final long RANDOM_SEED = 20_240_101;
    private static final int RANDOM_SCENARIOS = 300;

    /** A new killer, configured as the subclass wants to test it. Called once or more per test. */
    protected abstract LowMemoryKiller newKiller();

    /**
     * Whether the killer is selected as a query killer or as a task killer ({@code task.low-memory-killer.policy}); a
     * task killer may name only tasks of queries whose retry policy is {@link RetryPolicy#TASK}.
     */
    protected KillerScope scope()
    {
        return KillerScope.QUERY;
    }

    /** The inputs every check runs over; a subclass may add its own to {@link #standardScenarios()}. */
    protected List<Scenario> scenarios()
    {
        return standardScenarios();
    }

    @Test
    public void killsNothingWhenGivenNothing()
    {
        assertThat(newKiller().chooseTargetToKill(List.of(), List.of())).isEmpty();
    }

    @Test
    public void killsNothingWhenNoQueryIsRunning()
    {
        // the nodes are full, but every query holding memory has just ended: there is nothing the killer may name
        Cluster ended = queries(Map.of("q1", Map.of("n1", 12L), "q2", Map.of("n2", 20L))).notRunning("q1").notRunning("q2");

        assertThat(newKiller().chooseTargetToKill(ended.runningQueries(), ended.nodes())).isEmpty();
    }

    @Test
    public void neverNamesAQueryOrTaskItWasNotGiven()
    {
        LowMemoryKiller killer = newKiller();
        for (Scenario scenario : scenarios()) {
            choose(killer, scenario).ifPresent(target -> assertNamesOnlyWhatItWasGiven(scenario, target));
        }
    }

    @Test
    public void twoKillersChooseTheSameForTheSameInput()
    {
        // a cluster loop that restarts (or a standby coordinator) must not pick another victim from the same picture
        LowMemoryKiller first = newKiller();
        LowMemoryKiller second = newKiller();
        for (Scenario scenario : scenarios()) {
            assertThat(choose(second, scenario)).as(scenario.name()).isEqualTo(choose(first, scenario));
        }
    }

    @Test
    public void acceptsUnmodifiableInputsAndLeavesMutableOnesAsTheyWere()
    {
        LowMemoryKiller killer = newKiller();
        for (Scenario scenario : scenarios()) {
            assertThatCode(() -> killer.chooseTargetToKill(Collections.unmodifiableList(scenario.runningQueries()), Collections.unmodifiableList(scenario.nodes())))
                    .as(scenario.name())
                    .doesNotThrowAnyException();
            List<RunningQueryInfo> queries = new ArrayList<>(scenario.runningQueries());
            List<NodeMemoryInfo> nodes = new ArrayList<>(scenario.nodes());
            killer.chooseTargetToKill(queries, nodes);
            assertThat(queries).as(scenario.name()).isEqualTo(scenario.runningQueries());
            assertThat(nodes).as(scenario.name()).isEqualTo(scenario.nodes());
        }
    }

    @Test
    public void copesWithQueriesWithoutTasks()
    {
        // a query that was just admitted has no task yet, and holds nothing
        Scenario scenario = Scenario.of("queries without tasks", queries(Map.of(
                "q1", Map.of("n1", 12L),
                "q2", Map.of(),
                "q3", Map.of())).retryPolicy("q2", RetryPolicy.TASK));

        Optional<KillTarget> target = choose(newKiller(), scenario);

        target.ifPresent(chosen -> assertNamesOnlyWhatItWasGiven(scenario, chosen));
    }

    @Test
    public void copesWithNodesWithoutReservations()
    {
        Scenario scenario = Scenario.of("nodes without reservations", queries(Map.of(
                "q1", Map.of("n1", 12L, "n2", 0L, "n3", 0L))));

        Optional<KillTarget> target = choose(newKiller(), scenario);

        target.ifPresent(chosen -> assertNamesOnlyWhatItWasGiven(scenario, chosen));
    }

    @Test
    public void aTaskKillerNamesOnlyTasksOfQueriesThatRetryTasks()
    {
        // killing a task of a query that cannot retry it fails the whole query: that is the query killer's decision
        assumeThat(scope()).as("the killer is a query killer").isEqualTo(KillerScope.TASK);
        LowMemoryKiller killer = newKiller();
        for (Scenario scenario : scenarios()) {
            Map<QueryId, RetryPolicy> retryPolicies = scenario.runningQueries().stream()
                    .collect(Collectors.toMap(RunningQueryInfo::queryId, RunningQueryInfo::retryPolicy));
            choose(killer, scenario).ifPresent(target -> {
                assertThat(target).as(scenario.name()).isInstanceOf(KillTarget.Tasks.class);
                for (TaskId task : ((KillTarget.Tasks) target).taskIds()) {
                    assertThat(retryPolicies.get(task.queryId())).as("%s: retry policy of the query of %s", scenario.name(), task).isEqualTo(RetryPolicy.TASK);
                }
            });
        }
    }

    private static Optional<KillTarget> choose(LowMemoryKiller killer, Scenario scenario)
    {
        Optional<KillTarget> target = killer.chooseTargetToKill(scenario.runningQueries(), scenario.nodes());
        assertThat(target).as("%s: the result", scenario.name()).isNotNull();
        return target;
    }

    private static void assertNamesOnlyWhatItWasGiven(Scenario scenario, KillTarget target)
    {
        Set<QueryId> queries = scenario.runningQueries().stream().map(RunningQueryInfo::queryId).collect(Collectors.toSet());
        Set<TaskId> tasks = scenario.runningQueries().stream().flatMap(query -> query.tasks().keySet().stream()).collect(Collectors.toSet());
        if (target instanceof KillTarget.WholeQuery whole) {
            assertThat(queries).as("%s: the running queries, which must include the one named", scenario.name()).contains(whole.queryId());
        }
        else {
            assertThat(tasks).as("%s: the running queries' tasks, which must include every one named", scenario.name())
                    .containsAll(((KillTarget.Tasks) target).taskIds());
        }
    }

    /**
     * The hand-written scenarios and {@value #RANDOM_SCENARIOS} random ones from a fixed seed. Each node's general pool
     * holds {@link KillerFixtures#DEFAULT_POOL_BYTES} bytes unless the scenario says otherwise.
     */
    public static List<Scenario> standardScenarios()
    {
        List<Scenario> scenarios = new ArrayList<>();
        scenarios.add(Scenario.of("one blocked node", queries(Map.of(
                "q1", Map.of("n1", 8L),
                "q2", Map.of("n1", 4L, "n2", 1L)))));
        scenarios.add(Scenario.of("no blocked node", queries(Map.of(
                "q1", Map.of("n1", 2L),
                "q2", Map.of("n2", 3L)))));
        scenarios.add(Scenario.of("every node blocked", queries(Map.of(
                "big", Map.of("n1", 9L, "n2", 9L),
                "wide", Map.of("n1", 3L, "n2", 3L, "n3", 3L),
                "local", Map.of("n3", 9L)))));
        scenarios.add(Scenario.of("the largest query has just ended", queries(Map.of(
                "gone", Map.of("n1", 11L, "n2", 11L),
                "q1", Map.of("n1", 1L, "n2", 2L))).notRunning("gone")));
        scenarios.add(Scenario.of("task-retry queries with speculative tasks", tasks(Map.of(
                "q1", Map.of("n1", Map.of("a", 5L, "b", 3L), "n2", Map.of("c", 4L)),
                "q2", Map.of("n1", Map.of("d", 4L), "n2", Map.of("e", 9L)),
                "q3", Map.of("n1", Map.of("f", 1L))))
                .retryPolicy("q1", RetryPolicy.TASK)
                .retryPolicy("q2", RetryPolicy.TASK)
                .retryPolicy("q3", RetryPolicy.QUERY)
                .speculative("q1.b", "q2.e")
                .executionTime("q1.a", Duration.ofMinutes(5))
                .executionTime("q2.d", Duration.ofSeconds(1))));
        scenarios.add(Scenario.of("only query-retry queries on a blocked node", tasks(Map.of(
                "q1", Map.of("n1", Map.of("a", 7L, "b", 6L)),
                "q2", Map.of("n1", Map.of("c", 3L))))
                .retryPolicy("q1", RetryPolicy.QUERY)));
        scenarios.add(Scenario.of("queries without tasks on full nodes", queries(Map.of(
                "q1", Map.of("n1", 20L),
                "q2", Map.of())).retryPolicy("q2", RetryPolicy.TASK)));
        scenarios.add(Scenario.of("a node without reservations", queries(Map.of(
                "q1", Map.of("n1", 12L, "n2", 0L)))));
        scenarios.add(Scenario.of("ties", queries(Map.of(
                "a", Map.of("n1", 6L, "n2", 6L),
                "b", Map.of("n1", 6L, "n2", 6L)))));
        scenarios.addAll(randomScenarios(new Random(RANDOM_SEED), RANDOM_SCENARIOS));
        return List.copyOf(scenarios);
    }

    private static List<Scenario> randomScenarios(Random random, int count)
    {
        List<Scenario> scenarios = new ArrayList<>();
        RetryPolicy[] policies = RetryPolicy.values();
        for (int i = 0; i < count; i++) {
            int nodes = 1 + random.nextInt(4);
            int queryCount = random.nextInt(7);
            Map<String, Map<String, Map<String, Long>>> table = new TreeMap<>();
            List<String> taskNames = new ArrayList<>();
            for (int q = 0; q < queryCount; q++) {
                Map<String, Map<String, Long>> byNode = new TreeMap<>();
                for (int n = 0; n < nodes; n++) {
                    int taskCount = random.nextInt(3);
                    Map<String, Long> byTask = new TreeMap<>();
                    for (int t = 0; t < taskCount; t++) {
                        String task = "t" + n + "_" + t;
                        byTask.put(task, (long) random.nextInt(10));
                        taskNames.add("q" + q + "." + task);
                    }
                    if (!byTask.isEmpty()) {
                        byNode.put("n" + n, byTask);
                    }
                }
                table.put("q" + q, byNode);
            }
            Cluster cluster = tasks(table).poolBytes(8 + random.nextInt(16));
            for (int q = 0; q < queryCount; q++) {
                cluster.retryPolicy("q" + q, policies[random.nextInt(policies.length)]);
                if (random.nextInt(5) == 0) {
                    cluster.notRunning("q" + q);
                }
            }
            for (String task : taskNames) {
                if (random.nextInt(4) == 0) {
                    cluster.speculative(task);
                }
                cluster.executionTime(task, Duration.ofSeconds(random.nextInt(600)));
            }
            scenarios.add(Scenario.of("random scenario " + i + " (seed " + RANDOM_SEED + ")", cluster));
        }
        return scenarios;
    }

    /**
     * One input of a killer: the running queries and the nodes, as the cluster loop hands them over.
     *
     * @param name says which scenario failed; never null
     */
    public record Scenario(String name, List<RunningQueryInfo> runningQueries, List<NodeMemoryInfo> nodes)
    {
        public Scenario
        {
            requireNonNull(name, "name is null");
            runningQueries = List.copyOf(requireNonNull(runningQueries, "runningQueries is null"));
            nodes = List.copyOf(requireNonNull(nodes, "nodes is null"));
        }

        /** The cluster's running queries and nodes. */
        public static Scenario of(String name, Cluster cluster)
        {
            return new Scenario(name, cluster.runningQueries(), cluster.nodes());
        }
    }
}
