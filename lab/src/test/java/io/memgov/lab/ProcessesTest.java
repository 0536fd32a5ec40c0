package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code run --processes}: one worker JVM per node, joined by the Hazelcast cluster transport from the plugin folder the
 * build puts in {@code target/plugins/} (Hazelcast is not on this test's class path). Each run starts three JVMs.
 */
final class ProcessesTest
{
    private static final Pattern PID = Pattern.compile("node-(\\d+) \\(pid (\\d+)");

    @TempDir
    Path temp;

    @Test
    @Timeout(180)
    void theDefaultWorkloadRunsCleanInOneJvmPerNodeAndNoWorkerOutlivesTheRun()
            throws Exception
    {
        Path json = temp.resolve("run.json");

        LabRunner.Result result = LabRunner.execute("run", "--processes", "--json", json.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        assertThat(result.out()).contains("memgov lab: workload 'default', 12 queries on 3 nodes, each in its own JVM")
                .contains("3 worker JVMs formed one cluster in ");
        JsonNode run = Reports.json().readTree(json.toFile());
        JsonNode totals = run.get("totals");
        assertThat(totals.get("finished").asInt()).isPositive();
        // the default workload oversubscribes the pools, as in one JVM: a killer acts
        assertThat(totals.get("killed").asInt()).isPositive();
        assertThat(totals.get("finished").asInt() + totals.get("killed").asInt()).isEqualTo(12);
        for (JsonNode query : run.get("queries")) {
            if (query.get("status").asText().equals("FINISHED")) {
                assertThat(query.get("verified").asBoolean()).as("query %s verified", query.get("id")).isTrue();
            }
            else {
                assertThat(query.get("errorCode").asText()).as("query %s", query.get("id")).isEqualTo("CLUSTER_OUT_OF_MEMORY");
            }
        }
        assertThat(totals.get("wrongResults").asInt()).isZero();
        assertThat(totals.get("jvmOutOfMemoryErrors").asInt()).isZero();
        assertThat(totals.get("reservedBytesAfterRun").asLong()).isZero();
        assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        assertThat(totals.get("workersLost").asInt()).isZero();
        List<JsonNode> processes = StreamSupport.stream(run.get("processes").spliterator(), false).toList();
        assertThat(processes).extracting(process -> process.get("node").asText()).containsExactly("node-0", "node-1", "node-2");
        for (JsonNode process : processes) {
            assertThat(process.get("maxHeapBytes").asLong()).isEqualTo((64L + 32) << 20);
            assertThat(process.get("peakHeapBytes").asLong()).isPositive().isLessThanOrEqualTo(process.get("maxHeapBytes").asLong());
            assertThat(process.get("jvmOutOfMemoryErrors").asInt()).isZero();
            assertThat(process.get("end").asText()).isEqualTo("ran to the end");
        }
        assertNoneAlive(workerPids(result.out()));
    }

    @Test
    @Timeout(180)
    void killingTheCoordinatorAndThenANodeMidRunFailsOnlyTheQueriesOnTheLostNodes()
            throws Exception
    {
        Path json = temp.resolve("chaos.json");

        // the workload says 'processes: true': no --processes needed
        LabRunner.Result result = LabRunner.execute("run", "--workload", LabRunner.exampleWorkload("failover.yaml").toString(),
                "--chaos", "kill-coordinator@1500ms,kill-node:1@3500ms", "--json", json.toString());

        // processes the lab killed itself are no lost workers: the run is clean
        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        // node-0's process started first, so it coordinates; which of the other two joined first, and so takes over, is open
        assertThat(result.out()).containsPattern("chaos kill-coordinator@1500ms at 1\\.\\ds: killed node-0's process \\(pid \\d+\\), the coordinator\n")
                .containsPattern("node-[12]'s process took the coordinator role at \\d+\\.\\ds")
                .containsPattern("chaos kill-node:1@3500ms at 3\\.\\ds: killed node-1's process \\(pid \\d+\\)");
        JsonNode run = Reports.json().readTree(json.toFile());
        int finished = 0;
        int lost = 0;
        for (JsonNode query : run.get("queries")) {
            if (query.get("status").asText().equals("FINISHED")) {
                assertThat(query.get("verified").asBoolean()).as("query %s verified", query.get("id")).isTrue();
                finished++;
            }
            else {
                assertThat(query.get("status").asText() + " " + query.get("errorCode").asText()).as("query %s", query.get("id")).isEqualTo("FAILED NODE_LOST");
                lost++;
            }
        }
        // queries that arrived after the last kill ran on node-2 alone, and finished
        assertThat(finished).isGreaterThanOrEqualTo(5);
        assertThat(finished + lost).isEqualTo(24);
        JsonNode totals = run.get("totals");
        assertThat(totals.get("reservedBytesAfterRun").asLong()).isZero();
        assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        assertThat(totals.get("jvmOutOfMemoryErrors").asInt()).isZero();
        List<String> ends = StreamSupport.stream(run.get("processes").spliterator(), false).map(process -> process.get("end").asText()).toList();
        assertThat(ends.get(0)).startsWith("killed by --chaos kill-coordinator@1500ms at 1.");
        assertThat(ends.get(1)).startsWith("killed by --chaos kill-node:1@3500ms at 3.");
        assertThat(ends.get(2)).isEqualTo("ran to the end");
        assertNoneAlive(workerPids(result.out()));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @Timeout(180)
    void theWorkersEndWithALabThatIsInterruptedOrKilled(boolean killed)
            throws Exception
    {
        // long enough to be interrupted mid-run: queries arriving for a minute
        Path workload = Files.writeString(temp.resolve("long.yaml"), """
                name: long
                queries:
                  - count: 600
                    operator: sort
                    rows: 20000
                    interval: 100ms
                """, StandardCharsets.UTF_8);
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), Lab.class.getName(), "run", "--processes", "--workload", workload.toString());
        Process lab = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<Long> pids = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(lab.getInputStream(), StandardCharsets.UTF_8))) {
            CompletableFuture<String> formed = CompletableFuture.supplyAsync(() -> lineContaining(out, "worker JVMs formed one cluster"));
            String line = formed.get(150, TimeUnit.SECONDS);
            pids.addAll(workerPids(line));
            assertThat(pids).hasSize(3);
            assertThat(pids).allSatisfy(pid -> assertThat(ProcessHandle.of(pid)).hasValueSatisfying(process -> assertThat(process.isAlive()).isTrue()));

            if (killed) {
                // SIGKILL: no shutdown hook runs; each worker's standard input ends, and it exits on its own
                lab.destroyForcibly();
            }
            else {
                // SIGTERM, as Ctrl-C's SIGINT: the lab's shutdown hook ends its workers
                lab.destroy();
            }
            assertThat(lab.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertNoneAlive(pids);
        }
        finally {
            lab.destroyForcibly();
            pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    @Test
    void badChaosAndProcessOptionsExitWithTwoBeforeAnyWorkerStarts()
            throws IOException
    {
        // each names the option, the value and what is accepted; none starts a JVM (the messages come before)
        assertBadInput(new String[] {"run", "--chaos", "kill-coordinator@5s"},
                "invalid use of '--chaos': it kills worker JVMs, which only --processes (or 'processes: true' in the workload) starts");
        assertBadInput(new String[] {"run", "--processes", "--chaos", "kill-coordinator@5s,kill-node@8s"},
                "invalid value 'kill-coordinator@5s,kill-node@8s' for '--chaos': expected comma-separated kill-coordinator@TIME and kill-node:N@TIME",
                "('kill-node@8s' is neither)");
        assertBadInput(new String[] {"run", "--processes", "--chaos", "kill-node:1@soon"}, "invalid value 'kill-node:1@soon' for '--chaos'",
                "('soon' is not a duration)");
        assertBadInput(new String[] {"run", "--processes", "--chaos", "kill-node:3@1s"},
                "invalid value 'kill-node:3@1s' for '--chaos': node 3 does not exist; the cluster has nodes 0 to 2 (cluster.node-count=3)");
        assertBadInput(new String[] {"run", "--processes", "--http", "0"}, "--http serves the memory of the engine in the lab's JVM");
        Path workload = Files.writeString(temp.resolve("processes.yaml"), "processes: maybe\nqueries:\n  - operator: sort\n    rows: 1000\n",
                StandardCharsets.UTF_8);
        assertBadInput(new String[] {"run", "--workload", workload.toString()}, "processes.yaml", "'processes'", "true or false");
    }

    private static void assertBadInput(String[] args, String... expected)
    {
        LabRunner.Result result = LabRunner.execute(args);

        assertThat(result.exitCode()).as(String.join(" ", args) + "\n" + result.out() + result.err()).isEqualTo(2);
        assertThat(result.err()).contains(expected);
        assertThat(result.out()).doesNotContain("worker JVMs formed");
    }

    private static String lineContaining(BufferedReader reader, String text)
    {
        try {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.contains(text)) {
                    return line;
                }
            }
            throw new AssertionError("the lab ended without a line containing '" + text + "'");
        }
        catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<Long> workerPids(String output)
    {
        Optional<String> line = output.lines().filter(text -> text.contains("worker JVMs formed one cluster")).findFirst();
        assertThat(line).as("the line naming the workers in %s", output).isPresent();
        List<Long> pids = new ArrayList<>();
        Matcher matcher = PID.matcher(line.get());
        while (matcher.find()) {
            pids.add(Long.parseLong(matcher.group(2)));
        }
        return pids;
    }

    /** Every worker gone within 20s: at once after a run (the lab waits for them), after their own goodbye to the cluster when the lab died. */
    private static void assertNoneAlive(List<Long> pids)
    {
        assertThat(pids).isNotEmpty();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(pids).allSatisfy(pid -> assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).as("worker pid %d", pid).isEmpty()));
    }
}
