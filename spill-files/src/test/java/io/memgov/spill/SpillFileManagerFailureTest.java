package io.memgov.spill;

import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link SpillFileManager#queryFailed}: a killed query leaves no file behind, even if it tries to spill again. */
final class SpillFileManagerFailureTest
{
    private static final QueryId Q1 = QueryId.of("q1");
    private static final QueryId Q2 = QueryId.of("q2");

    @TempDir
    Path spillPath;

    @Test
    void aFailedQueryLosesItsFilesAndCannotSpillAgainUntilReleased()
    {
        try (SpillFileManager manager = new SpillFileManager(SpillConfig.builder().spillPaths(spillPath).build())) {
            SpillFile file = written(manager, TaskId.of(Q1, "0"));
            SpillFile other = written(manager, TaskId.of(Q2, "0"));

            manager.queryFailed(Q1, Set.of());

            assertThat(file.isDeleted()).isTrue();
            assertThat(other.isDeleted()).isFalse();
            assertThat(files()).containsExactly(other.path());
            assertThat(manager.spilledBytes(Q1)).isZero();
            // an operator still winding down must not leave a new file behind
            assertThatThrownBy(() -> manager.create(TaskId.of(Q1, "1"), "OrderBy"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("Query q1 failed; it may not spill any more");
            assertThat(files()).containsExactly(other.path());

            // the host ended the query: the id may be used afresh
            manager.releaseQuery(Q1);
            written(manager, TaskId.of(Q1, "0"));
            assertThat(files()).hasSize(2);
        }
        assertThat(files()).isEmpty();
    }

    @Test
    void failedTasksLoseOnlyTheirOwnFiles()
    {
        try (SpillFileManager manager = new SpillFileManager(SpillConfig.builder().spillPaths(spillPath).build())) {
            SpillFile killed = written(manager, TaskId.of(Q1, "0"));
            SpillFile survivor = written(manager, TaskId.of(Q1, "1"));

            manager.queryFailed(Q1, Set.of(TaskId.of(Q1, "0")));

            assertThat(killed.isDeleted()).isTrue();
            assertThat(survivor.isDeleted()).isFalse();
            assertThatThrownBy(() -> manager.create(TaskId.of(Q1, "0"), "OrderBy"))
                    .hasMessage("Task q1.0 failed; it may not spill any more");
            written(manager, TaskId.of(Q1, "1"));
            assertThat(files()).hasSize(2);
        }
    }

    private static SpillFile written(SpillFileManager manager, TaskId taskId)
    {
        SpillFile file = manager.create(taskId, "OrderBy");
        try (SpillFileWriter writer = file.newWriter()) {
            writer.write(new byte[] {1, 2, 3});
        }
        return file;
    }

    private List<Path> files()
    {
        try (Stream<Path> listed = Files.list(spillPath)) {
            return listed.toList();
        }
        catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
