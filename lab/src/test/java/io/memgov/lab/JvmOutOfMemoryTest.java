package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A JVM {@code OutOfMemoryError} on a query's own thread (not one of its task threads) fails that query with
 * {@code JVM_OUT_OF_MEMORY}; the run goes on, the summary is printed, the lab exits with 1 and leaves no spill
 * directory behind (issue #17, defect 7: the lab died of a NullPointerException instead).
 */
final class JvmOutOfMemoryTest
{
    @TempDir
    Path directory;

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void anOutOfMemoryErrorOnAQueryThreadFailsThatQueryAndTheRunStillEndsWithASummary()
            throws Exception
    {
        // q0's operator holds 1000 groups, governed; its answer is checked outside memgov with arrays indexed by key,
        // 900MB for 10^8 keys: that check throws OutOfMemoryError on the query's thread under -Xmx64m, every time
        Path workload = Files.writeString(directory.resolve("oom.yaml"), """
                name: oom
                properties:
                  cluster.node-count: "1"
                  node.heap-size: 32MB
                  memory.heap-headroom-per-node: 8MB
                  query.max-memory-per-node: 16MB
                  query.max-memory: 16MB
                queries:
                  - operator: hash-aggregation
                    rows: 1000
                    groups: 100000000
                  - operator: sort
                    rows: 10000
                    revocable: true
                """);
        Path temp = Files.createDirectory(directory.resolve("tmp"));
        Path output = directory.resolve("output.txt");
        Path json = directory.resolve("run.json");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(List.of(java.toString(), "-Xmx64m", "-Djava.io.tmpdir=" + temp,
                "-cp", System.getProperty("java.class.path"), Lab.class.getName(), "run", "--workload", workload.toString(),
                "--json", json.toString()))
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        try {
            assertThat(process.waitFor(90, TimeUnit.SECONDS)).as("lab finished within 90 s").isTrue();
        }
        finally {
            process.destroyForcibly();
        }
        String printed = Files.readString(output);

        assertThat(process.exitValue()).as(printed).isEqualTo(1);
        assertThat(printed).doesNotContain("internal error", "NullPointerException", "Exception in thread");
        assertThat(printed).containsPattern("q0 +user +hash-aggregation +FAILED ")
                .contains("  q0 failed: JVM_OUT_OF_MEMORY (a JVM OutOfMemoryError on its threads)");
        assertThat(printed).containsPattern("q1 +user +sort +FINISHED .* verified");
        assertThat(printed).contains("finished 1, killed 0, failed 1, wrong results 0, JVM OutOfMemoryErrors 1", "FAILED: JVM OutOfMemoryError");
        // the query's message says where: the error's innermost frames, the independent check's arrays
        JsonNode q0 = Reports.json().readTree(json.toFile()).get("queries").get(0);
        assertThat(q0.get("message").asText()).startsWith("java.lang.OutOfMemoryError: Java heap space at io.memgov.lab.HashAggregation.expected(");
        try (Stream<Path> left = Files.list(temp)) {
            assertThat(left).as("left in java.io.tmpdir").isEmpty();
        }
    }
}
