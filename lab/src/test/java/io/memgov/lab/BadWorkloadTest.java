package io.memgov.lab;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;



/**
 * Every bad workload file stops {@code run} with exit code 2 and one line naming the file, the field, the bad value and
 * what is accepted: no stack trace, no Java type names, nothing run (issue #17, defect 8).
 */
final class BadWorkloadTest
{
    private static final String SORT = "  - operator: sort\n    rows: 1000\n";

    @TempDir
    Path directory;

    static Stream<Arguments> badWorkloads()
    {
        return Stream.of(
                // Duration.toMillis overflowed later, in expand(): an internal ArithmeticException and exit 1
                arguments("arrival overflowing a long of milliseconds", "queries:\n" + SORT + "    arrival: 999999999999999m\n",
                        List.of("queries[0].arrival", "'999999999999999m'", "0ms to 1440m")),
                arguments("interval overflowing a long of milliseconds", "queries:\n" + SORT + "    count: 2\n    interval: 999999999999999s\n",
                        List.of("queries[0].interval", "'999999999999999s'", "0ms to 1440m")),
                // each value is fine, the last query's arrival is not
                arguments("last arrival beyond the bound", "queries:\n" + SORT + "    count: 100\n    arrival: 1m\n    interval: 1000s\n",
                        List.of("queries[0]", "'interval' 1000s", "'count' 100", "99060000 ms", "1440m")),
                // Long.parseLong threw "For input string" with nothing else
                arguments("a duration beyond a long", "queries:\n" + SORT + "    arrival: 99999999999999999999m\n",
                        List.of("queries[0].arrival", "'99999999999999999999m'", "0ms to 1440m")),
                arguments("a null query group", "queries:\n  -\n" + SORT,
                        List.of("queries[0]", "no value", "'operator'", "'rows'")),
                arguments("a property without a value", "properties:\n  node.heap-size:\nqueries:\n" + SORT,
                        List.of("properties.node.heap-size", "no value")),
                arguments("a session property without a value", "queries:\n" + SORT + "    session:\n      query_max_memory:\n",
                        List.of("queries[0].session.query_max_memory", "no value")),
                arguments("a field without a value", "queries:\n  - operator: sort\n    rows:\n",
                        List.of("queries[0].rows", "no value", "300000")),
                // the parser's int overflow was reported as "not valid YAML"
                arguments("a count beyond an int", "queries:\n" + SORT + "    count: 99999999999\n",
                        List.of("queries[0].count", "'99999999999'", "1 to 10000")),
                arguments("a count of zero", "queries:\n" + SORT + "    count: 0\n",
                        List.of("queries[0].count", "'0'", "1 to 10000")),
                arguments("more queries than the lab runs", "queries:\n" + SORT + "    count: 6000\n" + SORT + "    count: 6000\n",
                        List.of("12000 queries", "at most 10000")),
                arguments("rows beyond the bound", "queries:\n  - operator: sort\n    rows: 99999999999\n",
                        List.of("queries[0].rows", "'99999999999'", "1 to 100000000")),
                arguments("groups beyond the bound", "queries:\n  - operator: hash-aggregation\n    rows: 1000\n    groups: 1..200000000\n",
                        List.of("queries[0].groups", "'1..200000000'", "1 to 100000000")),
                arguments("a seed beyond a long", "seed: 99999999999999999999\nqueries:\n" + SORT,
                        List.of("'seed'", "'99999999999999999999'", "whole number")),
                arguments("an empty file", "",
                        List.of("is empty", "'queries'")),
                arguments("a file of comments only", "# nothing yet\n",
                        List.of("is empty", "'queries'")),
                arguments("a typo in a required field", "queries:\n  - operator: sort\n    rowz: 1000\n",
                        List.of("queries[0]", "unknown field 'rowz'", "rows")),
                arguments("a required field missing", "queries:\n  - rows: 1000\n",
                        List.of("'queries[0].operator' is required", "hash-aggregation")),
                arguments("queries not a list", "queries: 5\n",
                        List.of("'queries'", "'5'", "a list of query groups")),
                arguments("a list where one value belongs", "queries:\n  - operator: sort\n    rows: [1, 2]\n",
                        List.of("queries[0].rows", "a list", "300000")),
                arguments("session not a mapping", "queries:\n" + SORT + "    session: 3\n",
                        List.of("queries[0].session", "'3'", "a mapping")),
                arguments("revocable neither true nor false", "queries:\n" + SORT + "    revocable: maybe\n",
                        List.of("queries[0].revocable", "'maybe'", "true or false")),
                arguments("a workload that is not a mapping", "- operator: sort\n",
                        List.of("a list", "'queries'")),
                // the second 'queries' silently replaced the first
                arguments("a duplicate queries key", "queries:\n" + SORT + "queries:\n" + SORT,
                        List.of("'queries'", "more than once")),
                arguments("a duplicate property", "properties:\n  cluster.node-count: 1\n  cluster.node-count: 2\nqueries:\n" + SORT,
                        List.of("'cluster.node-count'", "more than once")),
                arguments("an empty user", "queries:\n" + SORT + "    user: \"\"\n",
                        List.of("queries[0].user", "''", "a user name")),
                arguments("a blank name", "name: \" \"\nqueries:\n" + SORT,
                        List.of("'name'", "' '", "not blank")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badWorkloads")
    // a file wrongly accepted would run its queries instead
    @Timeout(20)
    void exitsWithTwoNamingTheFieldTheValueAndWhatIsAccepted(String name, String content, List<String> expected)
            throws IOException
    {
        Path workload = Files.writeString(directory.resolve("bad.yaml"), content);

        LabRunner.Result result = LabRunner.execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.out()).as("nothing ran").isEmpty();
        assertThat(result.err()).startsWith("memgov-lab: Workload file '" + workload + "'").contains(expected);
        // one line for a person, not a stack trace or Jackson's wording with Java type names
        assertThat(result.err().strip()).doesNotContain("\n", "Exception", "`", "java.", "com.fasterxml", "index ", ": null");
    }

    @Test
    @Timeout(20)
    void nodesThatDoNotFitTheHeapAreRefusedAtStartUpInsteadOfRunningIntoOutOfMemoryErrors()
            throws IOException
    {
        // two nodes of the whole max heap each: they ran, and threw JVM OutOfMemoryErrors (issue #17, defect 6)
        long maxHeap = Runtime.getRuntime().maxMemory();
        Path workload = Files.writeString(directory.resolve("too-big.yaml"),
                "properties:\n  cluster.node-count: 2\n  node.heap-size: " + maxHeap + "B\nqueries:\n" + SORT);

        LabRunner.Result result = LabRunner.execute("run", "--workload", workload.toString());

        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.out()).as("nothing ran").isEmpty();
        assertThat(result.err().strip())
                .startsWith("memgov-lab: Invalid value '" + maxHeap + "B' for 'node.heap-size': 2 nodes of ")
                .contains("whose max heap is", "'node.heap-governed=false'")
                .doesNotContain("\n", "Exception");
    }
}
