package io.memgov.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine governing a real, small heap, in child JVMs ({@link HeapGovernanceChild}): heap held outside memgov shrinks
 * the pool until the node revokes and then kills, and GC pressure fails the query holding the heap, with no JVM
 * {@code OutOfMemoryError}.
 */
final class HeapGovernanceChildJvmTest
{
    private static final long MB = 1024 * 1024;

    @TempDir
    Path directory;

    @Test
    @Timeout(90)
    void heapNobodyTracksShrinksThePoolUntilTheNodeRevokesAndThenKills()
            throws Exception
    {
        Map<String, String> result = run(List.of("-Xmx128m", "-XX:+UseG1GC"), "untracked");

        long pool = Long.parseLong(result.get("pool"));
        assertThat(result.get("revoked")).isEqualTo("true");
        // revoking starts when the pool is 90% full: 35MB held of at most 35MB / 0.9
        assertThat(Long.parseLong(result.get("effectiveAfterRevoke"))).isLessThanOrEqualTo((long) (35 * MB / 0.9)).isLessThan(pool);
        assertThat(result.get("userAliveAfterRevoke")).isEqualTo("true");
        assertThat(result.get("killed")).isEqualTo("true");
        assertThat(result.get("failures")).isEqualTo("[user]");
        assertThat(result.get("code")).isEqualTo("CLUSTER_OUT_OF_MEMORY");
        // the cluster loop kills once the pool's maximum is at or under the 15MB the query holds (the node is blocked)
        assertThat(Long.parseLong(result.get("effectiveAfterKill"))).isLessThanOrEqualTo(15 * MB);
        assertThat(result.get("reservedAfter")).isEqualTo("0");
    }

    @Test
    @Timeout(90)
    void gcPressureFailsTheQueryHoldingTheHeapWithTheGcFigures()
            throws Exception
    {
        Map<String, String> result = run(List.of("-Xmx96m", "-XX:+UseSerialGC"), "pressure");

        assertThat(result.get("failed")).isEqualTo("true");
        assertThat(result.get("victims")).isEqualTo("[large]");
        assertThat(result.get("code")).isEqualTo("EXCEEDED_HEAP_MEMORY_LIMIT");
        assertThat(result.get("message"))
                .startsWith("Query killed because the JVM is under GC pressure and revoking did not relieve it: GC took ")
                .containsPattern("live heap after the last 3 full collections 9\\d%, 9\\d%, 9\\d% of ")
                .contains("on node-0, the most of any query");
        // the small query goes on, holding its 1MB
        assertThat(result.get("reservedAfter")).isEqualTo(Long.toString(MB));
    }

    /** Runs the child, bounded in time and destroyed whatever happens; fails on a JVM OutOfMemoryError. */
    private Map<String, String> run(List<String> options, String mode)
            throws IOException, InterruptedException
    {
        Path output = Files.createTempFile(directory, "child", ".txt");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), HeapGovernanceChild.class.getName(), mode));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        try {
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("child ended within 60 s").isTrue();
        }
        finally {
            process.destroyForcibly();
        }
        String printed = Files.readString(output);
        assertThat(printed).as("no JVM OutOfMemoryError").doesNotContain("OutOfMemoryError");
        assertThat(process.exitValue()).as(printed).isZero();
        String line = printed.lines()
                .filter(each -> each.startsWith(HeapGovernanceChild.RESULT + " "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no result line in:\n" + printed));
        Map<String, String> values = new LinkedHashMap<>();
        String rest = line.substring(HeapGovernanceChild.RESULT.length() + 1);
        while (!rest.isEmpty()) {
            int equals = rest.indexOf('=');
            String key = rest.substring(0, equals);
            // message= takes the rest of the line; a list value may hold spaces
            int end = key.equals("message") ? rest.length() : rest.indexOf(' ', rest.charAt(equals + 1) == '[' ? rest.indexOf(']', equals) : equals);
            end = end < 0 ? rest.length() : end;
            values.put(key, rest.substring(equals + 1, end));
            rest = end == rest.length() ? "" : rest.substring(end + 1);
        }
        System.out.println(mode + ": " + values);
        return values;
    }
}
