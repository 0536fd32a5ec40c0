package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import io.memgov.spill.SpillCompression;
import io.memgov.spill.SpillConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.memgov.lab.LabRunner.execute;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class LabConfigTest
{
    @TempDir
    Path directory;

    @Test
    void aFileNamingOnlyTheKillersKeepsTheLabsDefaultsAndItsKillerFires()
            throws IOException
    {
        // before --config layered over the defaults, this file replaced them: one node, the JVM's whole heap, no kill
        Path killer = write("killer.properties", "query.low-memory-killer.policy=total-reservation\ntask.low-memory-killer.policy=none\n");
        Path json = directory.resolve("run.json");

        LabRunner.Result result = execute("run", "--config", killer.toString(), "--workload",
                LabRunner.testWorkload("default-cluster-oversubscribed.yaml").toString(), "--json", json.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        JsonNode run = Reports.json().readTree(json.toFile());
        // the defaults' 3 nodes of 64MB heap less 16MB headroom
        assertThat(run.get("nodes")).hasSize(3);
        assertThat(run.get("poolBytes").asLong()).isEqualTo(48L << 20);
        JsonNode settings = run.get("settings");
        assertThat(settings.get("sources").get("cluster.node-count").asText()).isEqualTo("default");
        assertThat(settings.get("sources").get("query.low-memory-killer.policy").asText()).isEqualTo(killer.toString());
        assertThat(settings.get("policies").get("query.low-memory-killer.policy").asText()).isEqualTo("total-reservation");
        assertThat(run.get("totals").get("killed").asInt()).isPositive();
        assertThat(result.out()).contains("3 queries on 3 nodes", "killers: task 'none', query 'total-reservation'")
                .containsPattern("q\\d+(, q\\d+)* killed by total-reservation: CLUSTER_OUT_OF_MEMORY");
    }

    @Test
    void configFilesLayerInOrderAndSetWinsAndExplainNamesTheLayerOfEveryKey()
            throws IOException
    {
        Path first = write("first.properties", "query.max-memory-per-node=20MB\nquery.max-memory=60MB\nmemory.cluster.poll-interval=300ms\n");
        Path second = write("second.properties", "query.max-memory=70MB\n");

        LabRunner.Result result = execute("run", "--config", first.toString(), "--config", second.toString(),
                "--set", "memory.cluster.poll-interval=150ms", "--queries", "2", "--explain");

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        Map<String, String> lines = explained(result.out());
        assertThat(lines).containsEntry("cluster.node-count", "3 (default)")
                .containsEntry("query.max-memory-per-node", "20MB (" + first + ")")
                .containsEntry("query.max-memory", "70MB (" + second + ")")
                .containsEntry("memory.cluster.poll-interval", "150ms (--set)");
        // --explain runs nothing
        assertThat(result.out()).doesNotContain("finished");
    }

    @Test
    void pluginsSaysWhereEachKeyCameFrom()
            throws IOException
    {
        Path file = write("pool.properties", "memory.heap-headroom-per-node=8MB\n");

        LabRunner.Result text = execute("plugins", "--config", file.toString(), "--set", "query.max-memory=50MB");
        LabRunner.Result json = execute("plugins", "--json", "--config", file.toString());

        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(explained(text.out())).containsEntry("memory.heap-headroom-per-node", "8MB (" + file + ")")
                .containsEntry("query.max-memory", "50MB (--set)")
                .containsEntry("node.heap-size", "64MB (default)");
        JsonNode configuration = Reports.json().readTree(json.out()).get("configuration");
        assertThat(configuration.get("memory.heap-headroom-per-node").get("source").asText()).isEqualTo(file.toString());
        assertThat(configuration.get("cluster.node-count").get("value").asText()).isEqualTo("3");
    }

    @Test
    void compareTakesFixedSetsAfterTheComparedOne()
            throws IOException
    {
        LabRunner.Result result = execute("compare", "--workload", LabRunner.testWorkload("compare-small.yaml").toString(),
                "--set", "query.low-memory-killer.policy=none,total-reservation", "--set", "query.max-memory=25MB", "--explain");

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        assertThat(explained(result.out())).containsEntry("query.low-memory-killer.policy", "none (--set (compared))")
                .containsEntry("query.max-memory", "25MB (--set)")
                .containsEntry("query.max-memory-per-node", "13MB (workload compare-small)");
    }

    @Test
    void aSetWithoutAnEqualsSignOrABadValueIsBadInputNamingIt()
    {
        LabRunner.Result noEquals = execute("run", "--set", "query.max-memory", "--explain");
        LabRunner.Result badValue = execute("run", "--set", "query.max-memory=lots", "--explain");

        assertThat(noEquals.exitCode()).isEqualTo(2);
        assertThat(noEquals.err()).contains("'query.max-memory'", "'--set'", "KEY=VALUE");
        assertThat(badValue.exitCode()).isEqualTo(2);
        assertThat(badValue.err()).contains("query.max-memory", "lots");
    }

    @Test
    void spillCompressionAndEncryptionReachTheSpillFilesAndNotTheEngine()
    {
        LabConfig.Resolved resolved = LabConfig.resolve(List.of(), "w", Map.of(),
                Map.of(LabConfig.SPILL_COMPRESSION, "LZ4", LabConfig.SPILL_ENCRYPTION, "true"));

        SpillConfig spill = resolved.spill(directory);

        assertThat(spill.compression()).isEqualTo(SpillCompression.LZ4);
        assertThat(spill.encryptionEnabled()).isTrue();
        assertThat(spill.spillPaths()).containsExactly(directory.toAbsolutePath().normalize());
        assertThat(resolved.engineProperties()).doesNotContainKeys(LabConfig.SPILL_COMPRESSION, LabConfig.SPILL_ENCRYPTION)
                .containsKey("cluster.node-count");
        assertThat(LabConfig.resolve(List.of(), "w", Map.of(), Map.of()).spill(directory).compression()).isEqualTo(SpillCompression.NONE);
        assertThatThrownBy(() -> LabConfig.resolve(List.of(), "w", Map.of(), Map.of(LabConfig.SPILL_COMPRESSION, "ZSTD")).spill(directory))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("'ZSTD'")
                .hasMessageContaining(LabConfig.SPILL_COMPRESSION)
                .hasMessageContaining("lz4");
    }

    @Test
    void aSpillingRunWithLz4AndEncryptionFinishesVerifiedAndLeavesNoFile()
            throws IOException
    {
        Path json = directory.resolve("spill.json");

        LabRunner.Result result = execute("run", "--workload", LabRunner.exampleWorkload("spill.yaml").toString(),
                "--set", "spill-compression-codec=LZ4", "--set", "spill-encryption-enabled=true", "--json", json.toString());
        LabRunner.Result bad = execute("run", "--workload", LabRunner.exampleWorkload("spill.yaml").toString(),
                "--set", "spill-encryption-enabled=maybe");

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        JsonNode run = Reports.json().readTree(json.toFile());
        assertThat(run.get("totals").get("spilledBytes").asLong()).isPositive();
        assertThat(run.get("totals").get("spillFilesLeft").asInt()).isZero();
        assertThat(run.get("totals").get("wrongResults").asInt()).isZero();
        assertThat(run.get("settings").get("properties").get("spill-compression-codec").asText()).isEqualTo("LZ4");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("spill-encryption-enabled", "maybe");
    }

    /** {@code key = value (source)} lines as key to {@code value (source)}. */
    private static Map<String, String> explained(String out)
    {
        Map<String, String> lines = new java.util.LinkedHashMap<>();
        out.lines().filter(line -> line.startsWith("  ") && line.contains(" = ")).forEach(line -> {
            int equals = line.indexOf(" = ");
            lines.put(line.substring(0, equals).trim(), line.substring(equals + 3).replaceAll("\\s+", " ").trim());
        });
        return lines;
    }

    private Path write(String name, String text)
            throws IOException
    {
        return Files.writeString(directory.resolve(name), text);
    }
}
