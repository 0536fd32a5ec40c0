package io.memgov.lab;

import io.memgov.lab.Workload.OperatorKind;
import io.memgov.lab.Workload.QuerySpec;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

final class WorkloadTest
{
    @Test
    void defaultWorkloadFileIsTheBuiltInDefault()
    {
        // the README points at etc/workloads/default.yaml as what `run` does without --workload
        assertThat(Workload.read(LabRunner.exampleWorkload("default.yaml"))).isEqualTo(Workload.defaultWorkload(12, 600_000));
    }

    @Test
    void everyExampleWorkloadParses()
            throws IOException
    {
        List<Path> examples = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(LabRunner.exampleWorkloads(), "*.{yaml,json}")) {
            files.forEach(examples::add);
        }
        assertThat(examples).hasSizeGreaterThanOrEqualTo(4);
        for (Path example : examples) {
            assertThat(Workload.read(example).expand()).as(example.toString()).isNotEmpty();
        }
    }

    @Test
    void mixedWorkloadUsesAllThreeOperatorsRevocablyAndRunsCleanWithSpilling(@org.junit.jupiter.api.io.TempDir Path directory)
            throws IOException
    {
        Path file = LabRunner.exampleWorkload("mixed.yaml");
        List<QuerySpec> queries = Workload.read(file).expand();
        assertThat(queries).extracting(QuerySpec::operator)
                .contains(OperatorKind.HASH_AGGREGATION, OperatorKind.SORT, OperatorKind.JOIN_BUILD);
        assertThat(queries).filteredOn(query -> query.operator() != OperatorKind.JOIN_BUILD).allSatisfy(query -> assertThat(query.revocable()).isTrue());

        Path json = directory.resolve("mixed.json");
        LabRunner.Result result = LabRunner.execute("run", "--workload", file.toString(), "--json", json.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode run = Reports.json().readTree(json.toFile());
        com.fasterxml.jackson.databind.JsonNode totals = run.get("totals");
        assertThat(totals.get("wrongResults").asInt()).isZero();
        assertThat(totals.get("reservedBytesAfterRun").asLong()).isZero();
        assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        assertThat(totals.get("jvmOutOfMemoryErrors").asInt()).isZero();
        List<com.fasterxml.jackson.databind.JsonNode> finished = new ArrayList<>();
        run.get("queries").forEach(query -> {
            if (query.get("status").asText().equals("FINISHED")) {
                assertThat(query.get("verified").asBoolean()).as(query.toString()).isTrue();
                finished.add(query);
            }
        });
        // every operator finished at least once with a verified answer, and joins and aggregations really spilled
        assertThat(finished).extracting(query -> query.get("operator").asText()).contains("join-build", "hash-aggregation", "sort");
        for (String operator : List.of("join-build", "hash-aggregation")) {
            assertThat(finished).as(operator + " spilled")
                    .anySatisfy(query -> {
                        assertThat(query.get("operator").asText()).isEqualTo(operator);
                        assertThat(query.get("spilledBytes").asLong()).isPositive();
                    });
        }
    }

    @Test
    void arrowWorkloadMixesArrowAndHeapOperatorsAndRunsCleanWithSpilling(@org.junit.jupiter.api.io.TempDir Path directory)
            throws IOException
    {
        Path file = LabRunner.exampleWorkload("arrow.yaml");
        assertThat(Workload.read(file).expand()).extracting(QuerySpec::operator)
                .contains(OperatorKind.ARROW_HASH_AGGREGATION, OperatorKind.HASH_AGGREGATION, OperatorKind.SORT);

        Path json = directory.resolve("arrow.json");
        LabRunner.Result result = LabRunner.execute("run", "--workload", file.toString(), "--json", json.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        com.fasterxml.jackson.databind.JsonNode run = Reports.json().readTree(json.toFile());
        com.fasterxml.jackson.databind.JsonNode totals = run.get("totals");
        assertThat(totals.get("wrongResults").asInt()).isZero();
        // pool reservations and Arrow buffers still allocated after the run
        assertThat(totals.get("reservedBytesAfterRun").asLong()).isZero();
        assertThat(totals.get("spillFilesLeft").asInt()).isZero();
        assertThat(totals.get("jvmOutOfMemoryErrors").asInt()).isZero();
        List<com.fasterxml.jackson.databind.JsonNode> arrow = new ArrayList<>();
        run.get("queries").forEach(query -> {
            if (query.get("status").asText().equals("FINISHED")) {
                assertThat(query.get("verified").asBoolean()).as(query.toString()).isTrue();
            }
            if (query.get("operator").asText().equals("arrow-hash-aggregation")) {
                arrow.add(query);
            }
        });
        // the Arrow aggregations finished with verified answers, and the revocable ones spilled Arrow IPC runs
        assertThat(arrow).allSatisfy(query -> assertThat(query.get("status").asText()).as(query.toString()).isEqualTo("FINISHED"));
        assertThat(arrow).anySatisfy(query -> assertThat(query.get("spilledBytes").asLong()).isPositive());
        assertThat(result.err()).doesNotContain("leaked", "OutOfMemory");
    }

    @Test
    void aggregateIsAnotherNameForHashAggregation()
    {
        Workload workload = Workload.parse("w.yaml",
                "queries:\n  - operator: aggregate\n    rows: 10\n    groups: 5\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), false);
        assertThat(workload.expand()).singleElement().extracting(QuerySpec::operator).isEqualTo(OperatorKind.HASH_AGGREGATION);
    }

    @Test
    void groupsOnlyApplyToHashAggregation()
    {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Workload.parse("w.yaml",
                        "queries:\n  - operator: join-build\n    rows: 10\n    groups: 5\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), false))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("w.yaml")
                .hasMessageContaining("'groups' applies to operators hash-aggregation and arrow-hash-aggregation only, not to join-build");
    }

    @Test
    void expandsGroupsIntoQueriesOrderedByArrivalWithSizesDrawnFromRanges()
    {
        Workload workload = Workload.parse("test", """
                seed: 1
                queries:
                  - count: 2
                    operator: sort
                    rows: 100
                    arrival: 1s
                    interval: 500ms
                    revocable: true
                  - count: 20
                    user: bob
                    operator: hash-aggregation
                    rows: 1000..2000
                    groups: 10
                    session:
                      resource_overcommit: true
                """.getBytes(java.nio.charset.StandardCharsets.UTF_8), false);

        List<QuerySpec> queries = workload.expand();

        assertThat(queries).hasSize(22);
        // the aggregations arrive at 0 and come first; the sorts keep their ids from file order
        assertThat(queries.get(20).id()).isEqualTo("q0");
        assertThat(queries.get(20).arrivalMillis()).isEqualTo(1000);
        assertThat(queries.get(21).arrivalMillis()).isEqualTo(1500);
        assertThat(queries.get(21).revocable()).isTrue();
        List<QuerySpec> aggregations = queries.subList(0, 20);
        assertThat(aggregations).allSatisfy(query -> {
            assertThat(query.operator()).isEqualTo(OperatorKind.HASH_AGGREGATION);
            assertThat(query.rows()).isBetween(1000, 2000);
            assertThat(query.session()).containsEntry("resource_overcommit", "true");
        });
        assertThat(aggregations.stream().mapToInt(QuerySpec::rows).distinct().count()).isGreaterThan(1);
        // the same seed draws the same sizes
        assertThat(workload.expand()).isEqualTo(queries);
    }

    @Test
    void jsonWorkloadsAreReadAsJson()
    {
        Workload workload = Workload.read(LabRunner.exampleWorkload("small.json"));

        assertThat(workload.name()).isEqualTo("small");
        assertThat(workload.expand()).extracting(QuerySpec::operator).contains(OperatorKind.SORT, OperatorKind.HASH_AGGREGATION);
    }

    @Test
    void aggregationWithoutGroupsIsRejected()
    {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Workload.parse("w.yaml",
                        "queries:\n  - operator: hash-aggregation\n    rows: 10\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), false))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("'groups'")
                .hasMessageContaining("w.yaml");
    }
}
