package io.memgov.lab;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lab's one log, in a fresh JVM each time (a logging backend reads its level once per JVM): quiet by default,
 * {@code --verbose} shows the kill decisions, and the plugins' {@link System.Logger} lines come out through SLF4J in the
 * engine's format, never as {@code java.util.logging}'s two-line records.
 */
final class LoggingTest
{
    // java.util.logging's SimpleFormatter header line, e.g. "Dec 05, 2026 12:57:53 AM io.memgov.plugin... create"
    private static final Pattern JUL_LINE = Pattern.compile("(?m)^[A-Z][a-z]{2} \\d{1,2}, \\d{4} \\d{1,2}:\\d{2}:\\d{2} [AP]M ");

    @TempDir
    Path temp;

    @Test
    @Timeout(120)
    void quietByDefaultAndVerboseShowsTheKillDecisions()
            throws Exception
    {
        String workload = LabRunner.testWorkload("compare-small.yaml").toString();

        Run quiet = lab("run", "--workload", workload);
        Run verbose = lab("run", "--workload", workload, "--verbose");

        assertThat(quiet.exitCode()).as(quiet.toString()).isZero();
        assertThat(quiet.out().lines().findFirst()).hasValueSatisfying(header -> assertThat(header).startsWith("memgov lab: workload 'compare-small'"));
        assertThat(quiet.out()).contains("killed");
        assertThat(quiet.err()).as("stderr of a run without --verbose").doesNotContain(" INFO ").doesNotContainPattern(JUL_LINE);
        assertThat(verbose.exitCode()).as(verbose.toString()).isZero();
        assertThat(verbose.err()).as("stderr with --verbose").contains("INFO io.memgov.engine.internal.cluster.ClusterMemoryManager - Query Kill Decision: killer ")
                .doesNotContainPattern(JUL_LINE);
    }

    @Test
    @Timeout(120)
    void pluginsLogThroughSlf4jInTheEngineFormat()
            throws Exception
    {
        // reserve-mode logs its start-up through System.Logger at INFO; without the bridge it came out of java.util.logging
        Path workload = Files.writeString(temp.resolve("reserve-mode.yaml"), """
                name: reserve-mode
                seed: 1
                properties:
                  node.heap-size: 32MB
                  memory.heap-headroom-per-node: 8MB
                  query.max-memory-per-node: 16MB
                  memory.pool.policy: reserve-mode
                  memory.pool.reserve-mode.source: heap
                queries:
                  - count: 1
                    user: etl
                    operator: sort
                    rows: 1000
                """, StandardCharsets.UTF_8);

        Run quiet = lab("run", "--workload", workload.toString());
        Run verbose = lab("--verbose", "run", "--workload", workload.toString());

        assertThat(quiet.exitCode()).as(quiet.toString()).isZero();
        assertThat(quiet.err()).as("stderr of a run without --verbose").doesNotContain("Reserve mode on node").doesNotContainPattern(JUL_LINE);
        assertThat(verbose.exitCode()).as(verbose.toString()).isZero();
        assertThat(verbose.err()).as("stderr with --verbose before the subcommand")
                .contains("INFO io.memgov.plugin.reservemode.ReserveModePoolFactory - Reserve mode on node node-0: keeping ")
                .doesNotContainPattern(JUL_LINE);
    }

    private record Run(int exitCode, String out, String err)
    {
        @Override
        public String toString()
        {
            return "exit " + exitCode + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    /** Runs the lab's main class in a child JVM on this test's class path, as {@code java -jar memgov-lab.jar} would. */
    private Run lab(String... args)
            throws IOException, InterruptedException
    {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-cp", System.getProperty("java.class.path"),
                Lab.class.getName()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(temp, "out", ".txt");
        Path err = Files.createTempFile(temp, "err", ".txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertThat(process.waitFor(90, TimeUnit.SECONDS)).as("the lab finished within 90 s: %s", command).isTrue();
            return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        }
        finally {
            process.destroyForcibly();
        }
    }
}
