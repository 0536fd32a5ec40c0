package io.memgov.engine.internal.tracker;

import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The built-in {@code exact} tracker: deltas reach the root at once, a level over its limit rolls the whole chain
 * back, and the message is ClickHouse's.
 */
final class ExactMemoryTrackerTest
{
    private static final long MIB = 1024 * 1024;

    @Test
    void allocationsAndFreesReachEveryLevel()
    {
        ExactMemoryTracker node = ExactMemoryTracker.root("node-0", 0);
        MemoryTracker user = node.newChild(TrackerLevel.USER, "alice", 0);
        MemoryTracker query = user.newChild(TrackerLevel.QUERY, "q1", 0);

        query.allocate(100);
        query.allocate(50);
        query.free(120);

        assertThat(query.usedBytes()).isEqualTo(30);
        assertThat(user.usedBytes()).isEqualTo(30);
        assertThat(node.usedBytes()).isEqualTo(30);
        assertThat(query.peakBytes()).isEqualTo(150);
        assertThat(node.peakBytes()).isEqualTo(150);
        assertThat(query.parent()).containsSame(user);
        assertThat(node.parent()).isEmpty();
        assertThat(query.untrackedBytes()).isZero();
    }

    @Test
    void levelOverItsLimitRollsBackTheWholeChainWithClickHousesMessage()
    {
        // a failed allocation must leave no trace at any level, or limits would drift after every failure
        ExactMemoryTracker node = ExactMemoryTracker.root("node-0", 20 * MIB);
        MemoryTracker user = node.newChild(TrackerLevel.USER, "alice", 0);
        MemoryTracker query = user.newChild(TrackerLevel.QUERY, "q1", 10 * MIB);
        query.allocate(8 * MIB + MIB / 2);

        assertThatThrownBy(() -> query.allocate(2 * MIB))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                .hasMessage("Memory limit (for query) exceeded: would use 10.50 MiB (attempt to allocate chunk of 2.00 MiB), maximum: 10.00 MiB.");
        assertThat(query.usedBytes()).isEqualTo(8 * MIB + MIB / 2);
        assertThat(user.usedBytes()).isEqualTo(8 * MIB + MIB / 2);
        assertThat(node.usedBytes()).isEqualTo(8 * MIB + MIB / 2);

        // the root's limit fails after the lower levels accepted: they must be rolled back too
        MemoryTracker other = node.newChild(TrackerLevel.USER, "bob", 0).newChild(TrackerLevel.QUERY, "q2", 0);
        other.allocate(11 * MIB);
        assertThatThrownBy(() -> other.allocate(MIB))
                .hasMessage("Memory limit (total) exceeded: would use 20.50 MiB (attempt to allocate chunk of 1.00 MiB), maximum: 20.00 MiB.");
        assertThat(other.usedBytes()).isEqualTo(11 * MIB);
        assertThat(other.parent().orElseThrow().usedBytes()).isEqualTo(11 * MIB);
        assertThat(node.usedBytes()).isEqualTo(19 * MIB + MIB / 2);
    }

    @Test
    void anAllocationThatWouldOverflowALevelIsRefusedAndChangesNothing()
    {
        // issue #17, defect 4: no level has a limit, so only the counters' range can refuse; a wrapped counter would
        // read as a large negative and pass every later check
        long halfPlusOne = Long.MAX_VALUE / 2 + 1;
        ExactMemoryTracker node = ExactMemoryTracker.root("node-0", 0);
        MemoryTracker alice = node.newChild(TrackerLevel.USER, "alice", 0).newChild(TrackerLevel.QUERY, "q1", 0);
        MemoryTracker bobsUser = node.newChild(TrackerLevel.USER, "bob", 0);
        MemoryTracker bob = bobsUser.newChild(TrackerLevel.QUERY, "q2", 0);
        alice.allocate(halfPlusOne);

        // the node, after bob's query and user accepted: they must be rolled back
        assertThatThrownBy(() -> bob.allocate(halfPlusOne))
                .isInstanceOfSatisfying(MemoryLimitExceededException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MEMORY_LIMIT_EXCEEDED))
                .hasMessage("Memory limit (total) exceeded: an allocation of 4611686018427387904 bytes on top of 4611686018427387904 bytes "
                        + "would overflow the counter of NODE tracker 'node-0'; refused, nothing changed.");
        // the query itself, the first level it reaches
        assertThatThrownBy(() -> alice.allocate(halfPlusOne))
                .hasMessageContaining("would overflow the counter of QUERY tracker 'q1'");

        assertThat(bob.usedBytes()).isZero();
        assertThat(bobsUser.usedBytes()).isZero();
        assertThat(bob.peakBytes()).isZero();
        assertThat(alice.usedBytes()).isEqualTo(halfPlusOne);
        assertThat(node.usedBytes()).isEqualTo(halfPlusOne);
        assertThat(node.peakBytes()).isEqualTo(halfPlusOne);
        alice.free(halfPlusOne);
        bob.allocate(halfPlusOne);
        assertThat(node.usedBytes()).isEqualTo(halfPlusOne);
        bob.free(halfPlusOne);
        assertThat(node.usedBytes()).isZero();
    }

    @Test
    void freesSaturateAtQueryAndUserLevelButNotAtTheRoot()
    {
        // ClickHouse: memory freed outside the context that allocated it must not drive a query negative
        ExactMemoryTracker node = ExactMemoryTracker.root("node-0", 0);
        MemoryTracker user = node.newChild(TrackerLevel.USER, "alice", 0);
        MemoryTracker query = user.newChild(TrackerLevel.QUERY, "q1", 0);
        query.allocate(10);

        query.free(15);

        assertThat(query.usedBytes()).isZero();
        assertThat(user.usedBytes()).isZero();
        assertThat(node.usedBytes()).isEqualTo(-5);
    }

    @Test
    void invalidArgumentsAreRejected()
    {
        ExactMemoryTracker node = ExactMemoryTracker.root("node-0", 0);
        assertThatThrownBy(() -> node.allocate(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> node.free(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> node.newChild(TrackerLevel.NODE, "again", 0))
                .hasMessage("a NODE tracker cannot be a child of a NODE tracker");
        assertThatThrownBy(() -> ExactMemoryTracker.root("node-0", -1)).isInstanceOf(IllegalArgumentException.class);
        node.allocate(0);
        assertThat(node.usedBytes()).isZero();
        assertThat(node.level()).isEqualTo(TrackerLevel.NODE);
        assertThat(node.description()).isEqualTo("node-0");
    }
}
