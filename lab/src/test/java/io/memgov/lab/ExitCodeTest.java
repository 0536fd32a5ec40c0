package io.memgov.lab;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.memgov.lab.LabRunner.execute;
import static org.assertj.core.api.Assertions.assertThat;

final class ExitCodeTest
{
    @TempDir
    Path directory;

    @Test
    void missingWorkloadFileExitsWithTwoNamingTheFile()
    {
        LabRunner.Result result = execute("run", "--workload", directory.resolve("nope.yaml").toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("nope.yaml").contains("does not exist").contains("--workload");
    }

    @Test
    void malformedWorkloadExitsWithTwoNamingTheLine()
            throws IOException
    {
        Path workload = write("broken.yaml", "name: broken\nqueries:\n  - count: 2\n    operator: [sort\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("broken.yaml").containsPattern("line \\d+");
    }

    @Test
    void unknownOperatorExitsWithTwoListingTheAcceptedOnes()
            throws IOException
    {
        Path workload = write("join.yaml", "queries:\n  - operator: hash-join\n    rows: 1000\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).containsPattern("line \\d").contains("join.yaml", "queries[0]", "unknown operator 'hash-join'", "hash-aggregation, aggregate, sort, join-build");
    }

    @Test
    void unknownWorkloadFieldExitsWithTwoListingTheAcceptedFields()
            throws IOException
    {
        Path workload = write("typo.yaml", "queries:\n  - operator: sort\n    rows: 1000\n    revokable: true\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).containsPattern("line \\d").contains("typo.yaml", "queries[0]", "unknown field 'revokable'", "revocable");
    }

    @Test
    void unknownPropertyInTheConfigurationExitsWithTwoNamingIt()
            throws IOException
    {
        Path config = write("memory.properties", "cluster.node-count=1\nquery.max-memory-per-nod=1GB\n");

        LabRunner.Result result = execute("run", "--config", config.toString(), "--queries", "1", "--rows", "1000");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("query.max-memory-per-nod");
    }

    @Test
    void unknownPropertyInTheWorkloadExitsWithTwoNamingIt()
            throws IOException
    {
        Path workload = write("props.yaml", "properties:\n  node.heapsize: 1GB\nqueries:\n  - operator: sort\n    rows: 1000\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("node.heapsize");
    }

    @Test
    void unknownSessionPropertyExitsWithTwoListingTheAcceptedOnes()
            throws IOException
    {
        Path workload = write("session.yaml", "queries:\n  - operator: sort\n    rows: 1000\n    session:\n      query_max_memroy: 1MB\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("session.yaml", "query_max_memroy", "resource_overcommit");
    }

    @Test
    void badRangeAndDurationExitWithTwoShowingTheAcceptedForm()
            throws IOException
    {
        LabRunner.Result range = execute("run", "--workload", write("range.yaml", "queries:\n  - operator: sort\n    rows: 10..5\n").toString());
        LabRunner.Result duration = execute("run", "--workload", write("arrival.yaml", "queries:\n  - operator: sort\n    rows: 10\n    arrival: soon\n").toString());

        assertThat(range.exitCode()).isEqualTo(2);
        assertThat(range.err()).contains("'10..5'", "'queries[0].rows'", "5000..45000");
        assertThat(duration.exitCode()).isEqualTo(2);
        assertThat(duration.err()).contains("'soon'", "'queries[0].arrival'", "500ms");
    }

    @Test
    void missingConfigurationFileExitsWithTwo()
    {
        LabRunner.Result result = execute("plugins", "--config", directory.resolve("missing.properties").toString());

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("missing.properties", "--config");
    }

    @Test
    void usageErrorsExitWithTwo()
    {
        assertThat(execute("run", "--no-such-option").exitCode()).isEqualTo(2);
        assertThat(execute("run", "--queries", "many").exitCode()).isEqualTo(2);
        assertThat(execute("run", "--queries", "0").err()).contains("'--queries'");
        assertThat(execute("compare", "--workload", "x.yaml").exitCode()).isEqualTo(2);
    }

    @Test
    void queriesWithAWorkloadFileExitsWithTwo()
            throws IOException
    {
        Path workload = write("ok.yaml", "queries:\n  - operator: sort\n    rows: 1000\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString(), "--queries", "3");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("--queries", "ok.yaml");
    }

    @Test
    void badSetExitsWithTwoBeforeAnyRun()
            throws IOException
    {
        Path workload = write("ok.yaml", "queries:\n  - operator: sort\n    rows: 1000\n");

        LabRunner.Result noValues = execute("compare", "--workload", workload.toString(), "--set", "query.low-memory-killer.policy");
        LabRunner.Result unknownPolicy = execute("compare", "--workload", workload.toString(), "--set", "query.low-memory-killer.policy=none,biggest");

        assertThat(noValues.exitCode()).isEqualTo(2);
        assertThat(noValues.err()).contains("--set", "KEY=V1,V2");
        assertThat(unknownPolicy.exitCode()).isEqualTo(2);
        assertThat(unknownPolicy.err()).contains("biggest");
        // the engine for the bad value is built before any run starts
        assertThat(unknownPolicy.out()).doesNotContain("run 1/2");
    }

    @Test
    void aSmallRunExitsWithZero()
            throws IOException
    {
        Path workload = write("ok.yaml", "queries:\n  - operator: sort\n    rows: 20000\n  - operator: hash-aggregation\n    rows: 20000\n    groups: 500\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        assertThat(result.out()).contains("finished 2, killed 0, failed 0, wrong results 0");
    }

    @Test
    void oneQueryOnOneNodeIsSaidInTheSingular()
            throws IOException
    {
        Path workload = write("one.yaml", "properties:\n  cluster.node-count: 1\nqueries:\n  - operator: sort\n    rows: 1000\n");

        LabRunner.Result result = execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).as(result.out() + result.err()).isZero();
        assertThat(result.out()).contains("workload 'workload', 1 query on 1 node\n", "after the run: 0B reserved, 0 spill files left");
    }

    private Path write(String name, String content)
            throws IOException
    {
        return Files.writeString(directory.resolve(name), content);
    }
}
