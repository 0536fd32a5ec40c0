package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lab's promise: in a real JVM of 256MB, a workload asking for over 4x the governed pool ends with no
 * OutOfMemoryError, nothing reserved, no spill file left and every finished query verified.
 */
final class HeapGovernedTest
{
    @TempDir
    Path directory;

    @Test
    void oversubscribedWorkloadUnder256MegabyteHeapEndsClean()
            throws Exception
    {
        Path json = directory.resolve("heap.json");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(List.of(java.toString(), "-Xmx256m", "-XX:+ExitOnOutOfMemoryError",
                "-cp", System.getProperty("java.class.path"), Lab.class.getName(),
                "run", "--workload", LabRunner.testWorkload("heap-4x.yaml").toString(), "--json", json.toString()))
                .redirectErrorStream(true)
                .redirectOutput(directory.resolve("output.txt").toFile())
                .start();
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("lab finished within 3 minutes").isTrue();
        String output = Files.readString(directory.resolve("output.txt"));

        assertThat(process.exitValue()).as(output).isZero();
        JsonNode run = Reports.json().readTree(json.toFile());
        JsonNode totals = run.get("totals");
        assertThat(totals.get("jvmOutOfMemoryErrors").asInt()).isZero();
        assertThat(totals.get("reservedBytesAfterRun").asLong()).isZero();
        assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        assertThat(totals.get("wrongResults").asInt()).isZero();
        assertThat(totals.get("finished").asInt()).isPositive();
        // the workload asks for at least 4x the pool: the governance had to act, by killing or spilling
        long demand = 0;
        for (Workload.QuerySpec query : Workload.read(LabRunner.testWorkload("heap-4x.yaml")).expand()) {
            // what each of the two tasks would hold without governance
            demand += 2 * switch (query.operator()) {
                case SORT -> 4L * query.rows();
                case HASH_AGGREGATION -> HashAggregation.tableBytes(query.groups());
                // the build rows in chunks, without the hash index
                case JOIN_BUILD -> 2L * Long.BYTES * query.rows();
                // its table is off-heap: no heap demand
                case ARROW_HASH_AGGREGATION -> 0L;
            };
        }
        for (JsonNode query : run.get("queries")) {
            if (query.get("status").asText().equals("FINISHED")) {
                assertThat(query.get("verified").asBoolean()).as(query.get("id").asText()).isTrue();
            }
        }
        assertThat(demand).isGreaterThanOrEqualTo(4 * 2 * run.get("poolBytes").asLong());
        assertThat(totals.get("killed").asInt() + totals.get("spilledBytes").asLong()).isPositive();
        assertThat(output).doesNotContain("java.lang.OutOfMemoryError");
        // the real heap as the run saw it: the child's 256MB, governed, never full after a collection, and the JVM's own
        // count of OutOfMemoryErrors (any thread, caught or not) is 0
        JsonNode heap = run.get("heap");
        assertThat(heap.get("governed").asBoolean()).isTrue();
        assertThat(heap.get("maxHeapBytes").asLong()).isBetween(200L << 20, 256L << 20);
        assertThat(heap.get("peakLiveBytes").asLong()).isPositive().isLessThan(heap.get("maxHeapBytes").asLong());
        assertThat(heap.get("youngCollections").asLong() + heap.get("fullCollections").asLong()).isPositive();
        assertThat(heap.get("outOfMemoryErrorsThrown").asLong()).isZero();
    }
}
