package io.memgov.json;

import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's example of a node snapshot ("The cluster JSON") is a document this version reads, with the figures the
 * text around it describes, so that the example cannot drift from the format.
 */
final class ClusterJsonReadmeTest
{
    private static final String MARKER = "<!-- cluster-json-example";

    @Test
    void theReadmesNodeSnapshotReadsBackAndWritesTheSameDocument()
            throws IOException
    {
        String readme = Files.readString(Path.of("..", "README.md"));
        int marker = readme.indexOf(MARKER);
        assertThat(marker).as("README has the marked example").isNotNegative();
        int start = readme.indexOf("```json\n", marker) + "```json\n".length();
        String example = readme.substring(start, readme.indexOf("```", start));

        NodeSnapshot snapshot = ClusterJson.readNodeSnapshot(example);

        assertThat(snapshot.nodeId()).isEqualTo(NodeId.of("node-0"));
        assertThat(snapshot.arbitrating()).isTrue();
        assertThat(snapshot.pools()).extracting(pool -> pool.kind()).containsExactly(MemoryPoolKind.HEAP, MemoryPoolKind.DIRECT);
        assertThat(snapshot.queries()).singleElement().satisfies(query -> {
            assertThat(query.queryId()).isEqualTo(QueryId.of("q1"));
            assertThat(query.cumulativeUserMemoryByteSeconds()).isPositive();
        });
        // the example is what the writer writes, not a hand-made variant of it
        assertThat(ClusterJson.readNodeSnapshot(ClusterJson.write(snapshot))).isEqualTo(snapshot);
        assertThat(ClusterJson.write(snapshot)).isEqualTo(example.replaceAll("\\s+", ""));
    }
}
