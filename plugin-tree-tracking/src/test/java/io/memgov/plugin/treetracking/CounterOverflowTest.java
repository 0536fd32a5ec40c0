package io.memgov.plugin.treetracking;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static io.memgov.plugin.treetracking.ClickHouseScenariosTest.assertLevels;
import static io.memgov.plugin.treetracking.TrackerFixture.MIB;
import static io.memgov.plugin.treetracking.TrackerFixture.query;
import static io.memgov.plugin.treetracking.TrackerFixture.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue #17, defect 4 in the tracker: a delta that would overflow any level's counter is refused, naming the bytes,
 * and changes nothing at any level or in the calling thread's batch.
 */
final class CounterOverflowTest
{
    private static final long HALF_PLUS_ONE = Long.MAX_VALUE / 2 + 1;
    // no limit anywhere, so nothing but the counters' range can refuse
    private static final Map<String, String> UNLIMITED = Map.of("max-server-memory-usage-to-ram-ratio", "0", "overcommit-killer", "none");

    @Test
    void anAllocationThatWouldOverflowTheUserAndNodeIsRefusedAndChangesNothing()
    {
        try (TrackerFixture fixture = tree(with(UNLIMITED, "max-untracked-memory", "0"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker first = query(user, "q1");
            MemoryTracker second = query(user, "q2");
            first.allocate(HALF_PLUS_ONE);

            assertThatThrownBy(() -> second.allocate(HALF_PLUS_ONE))
                    .isInstanceOfSatisfying(MemoryLimitExceededException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                    .hasMessageContaining(Long.toString(HALF_PLUS_ONE))
                    .hasMessageContaining("overflow");

            assertThat(second.usedBytes()).isZero();
            assertLevels(first, user, fixture.root, HALF_PLUS_ONE);
            first.free(HALF_PLUS_ONE);
            assertLevels(first, user, fixture.root, 0);
        }
    }

    @Test
    void aBatchedAllocationThatWouldOverflowTheThreadsBalanceIsRefusedAndChangesNothing()
    {
        try (TrackerFixture fixture = tree(with(UNLIMITED, "max-untracked-memory", "4MB"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");
            query.allocate(MIB);

            assertThatThrownBy(() -> query.allocate(Long.MAX_VALUE))
                    .isInstanceOf(MemoryLimitExceededException.class)
                    .hasMessageContaining(Long.toString(Long.MAX_VALUE));

            assertThat(query.untrackedBytes()).isEqualTo(MIB);
            assertLevels(query, user, fixture.root, 0);
            query.flush();
            assertLevels(query, user, fixture.root, MIB);
        }
    }

    @Test
    void aFreeThatWouldOverflowTheNodeIsRefusedAndChangesNothing()
    {
        try (TrackerFixture fixture = tree(with(UNLIMITED, "max-untracked-memory", "0"))) {
            MemoryTracker user = fixture.user("alice");
            MemoryTracker query = query(user, "q1");
            query.free(Long.MAX_VALUE);
            assertThat(fixture.root.usedBytes()).isEqualTo(-Long.MAX_VALUE);

            assertThatThrownBy(() -> query.free(2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("2 bytes")
                    .hasMessageContaining("overflow");

            assertThat(fixture.root.usedBytes()).isEqualTo(-Long.MAX_VALUE);
            query.allocate(Long.MAX_VALUE);
            assertLevels(query, user, fixture.root, 0);
        }
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value)
    {
        Map<String, String> config = new HashMap<>(base);
        config.put(key, value);
        return config;
    }
}
