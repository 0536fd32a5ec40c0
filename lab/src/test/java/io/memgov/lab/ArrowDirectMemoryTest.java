package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * etc/workloads/arrow-oversubscribed.yaml in a child JVM whose direct memory is small ({@code -XX:MaxDirectMemorySize}):
 * the lab takes Arrow's memory as JDK direct buffers, so only memgov stands between the Arrow aggregations and the
 * JVM's own {@code OutOfMemoryError} (issue #20, "Must show"). Each node's direct pool is sized from the flag
 * ({@code node.direct-memory-size: "75%"}), its heap pool from the heap; the workload file explains how both fit. The child runs with Arrow's debug allocator, which makes closing an allocator that
 * still holds buffers, children or reservations an error the adapter reports.
 */
final class ArrowDirectMemoryTest
{
    private static final Path WORKLOAD = LabRunner.exampleWorkload("arrow-oversubscribed.yaml");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path directory;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void anOversubscribedArrowWorkloadUnderSixtyFourMegabytesOfDirectMemoryFinishesVerifiedAndLeavesNothing()
            throws Exception
    {
        Run run = runLab("64m", WORKLOAD);

        assertThat(run.exitCode()).as(run.printed()).isZero();
        // neither Arrow's OutOfMemoryException (a pool that stayed full) nor the JVM's OutOfMemoryError (direct memory)
        // anywhere, nor a leaked allocator ("Memory was leaked", "closed with ... outstanding"), nor any other error
        assertThat(run.printed()).doesNotContain("OutOfMemoryException", "OutOfMemoryError:", "direct buffer memory", "outstanding", "Exception", "ERROR")
                .doesNotContainIgnoringCase("leaked");
        JsonNode totals = run.json().get("totals");
        assertThat(totals.get("queries").asInt()).isEqualTo(8);
        assertThat(totals.get("finished").asInt()).as(run.printed()).isEqualTo(8);
        assertThat(totals.get("wrongResults").asInt()).isZero();
        assertThat(totals.get("jvmOutOfMemoryErrors").asInt()).isZero();
        assertThat(totals.get("internalErrors").asInt()).isZero();
        // user and revocable bytes of every pool, plus what the Arrow roots still count
        assertThat(totals.get("reservedBytesAfterRun").asLong()).isZero();
        assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        long arrowSpilled = 0;
        for (JsonNode query : run.json().get("queries")) {
            assertThat(query.get("status").asText()).as(query.toString()).isEqualTo("FINISHED");
            assertThat(query.get("verified").asBoolean()).as(query.toString()).isTrue();
            if (query.get("operator").asText().equals("arrow-hash-aggregation")) {
                arrowSpilled += query.get("spilledBytes").asLong();
                // a query's peak is its heap memory (user, system, revocable): Arrow's bytes were all in the direct pool
                assertThat(query.get("peakBytes").asLong()).as(query.toString()).isZero();
            }
            else {
                assertThat(query.get("peakBytes").asLong()).as(query.toString()).isPositive();
            }
        }
        // the demand really passed the direct pools: memgov revoked Arrow memory, and the runs came back through Arrow IPC
        assertThat(arrowSpilled).isPositive();
        assertThat(run.tempFilesLeft()).as("left in java.io.tmpdir").isEmpty();
    }

    /**
     * The control: the same workload with direct pools fixed at 24MB, under a direct-memory limit below what they let
     * Arrow hold, meets the JVM's own error. So the flag does bind Arrow's memory in the lab (with Arrow's Unsafe allocation manager it would not,
     * and the test above would prove nothing), and a query that met it still leaves nothing behind.
     */
    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void theSameWorkloadUnderADirectMemoryLimitBelowThePoolsMeetsTheJvmsErrorAndStillLeavesNothing()
            throws Exception
    {
        Path fixedPools = directory.resolve("arrow-fixed-direct-pools.yaml");
        String workload = Files.readString(WORKLOAD);
        assertThat(workload).contains("node.direct-memory-size: \"75%\"");
        Files.writeString(fixedPools, workload.replace("node.direct-memory-size: \"75%\"", "node.direct-memory-size: 24MB"));
        Run run = runLab("16m", fixedPools);

        assertThat(run.exitCode()).as(run.printed()).isEqualTo(1);
        List<String> directMemoryErrors = new ArrayList<>();
        for (JsonNode query : run.json().get("queries")) {
            if (query.get("errorCode").asText().equals(WorkloadRunner.JVM_OUT_OF_MEMORY)) {
                assertThat(query.get("operator").asText()).isEqualTo("arrow-hash-aggregation");
                directMemoryErrors.add(query.get("message").asText());
            }
            else {
                assertThat(query.get("status").asText()).as(query.toString()).isEqualTo("FINISHED");
                assertThat(query.get("verified").asBoolean()).as(query.toString()).isTrue();
            }
        }
        assertThat(directMemoryErrors).as(run.printed()).isNotEmpty().allSatisfy(message -> assertThat(message).contains("direct buffer memory"));
        JsonNode totals = run.json().get("totals");
        assertThat(totals.get("reservedBytesAfterRun").asLong()).as(run.printed()).isZero();
        assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        assertThat(run.printed()).doesNotContainIgnoringCase("leaked").doesNotContain("outstanding", "Exception", "internal error");
        assertThat(run.tempFilesLeft()).as("left in java.io.tmpdir").isEmpty();
    }

    private record Run(int exitCode, String printed, JsonNode json, List<Path> tempFilesLeft) {}

    /** The lab's {@code run} of {@code workload} in a child JVM with {@code maxDirectMemory} of direct memory. */
    private Run runLab(String maxDirectMemory, Path workload)
            throws IOException, InterruptedException
    {
        Path temp = Files.createDirectory(directory.resolve("tmp"));
        Path json = directory.resolve("result.json");
        Path output = directory.resolve("output.txt");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // 2 nodes of 32MB heap within 128MB; Arrow 19 on Java 17 reads java.nio.Buffer.address reflectively
        Process process = new ProcessBuilder(List.of(java.toString(), "-Xmx128m", "-XX:MaxDirectMemorySize=" + maxDirectMemory,
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Darrow.memory.debug.allocator=true", "-Djava.io.tmpdir=" + temp,
                "-cp", System.getProperty("java.class.path"), Lab.class.getName(),
                "run", "--workload", workload.toString(), "--json", json.toString()))
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        try {
            assertThat(process.waitFor(150, TimeUnit.SECONDS)).as("lab finished within 150 s").isTrue();
        }
        finally {
            process.destroyForcibly();
        }
        String printed = Files.readString(output);
        assertThat(json).as(printed).exists();
        List<Path> left;
        try (Stream<Path> files = Files.list(temp)) {
            left = files.toList();
        }
        return new Run(process.exitValue(), printed, JSON.readTree(json.toFile()), left);
    }
}
