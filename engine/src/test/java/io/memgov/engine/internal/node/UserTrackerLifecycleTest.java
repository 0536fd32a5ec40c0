package io.memgov.engine.internal.node;

import io.memgov.engine.NodeMemory;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.internal.pool.FixedMemoryPool;
import io.memgov.engine.internal.tracker.ExactMemoryTracker;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.tracker.MemoryTracker;
import io.memgov.spi.tracker.TrackerLevel;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A user's tracker lives while the user has queries on the node (ClickHouse resets it when the last one ends): issue
 * #17, defect 3, where a closed user's level kept what the batching tracker had mis-carried and refused the user's
 * next query.
 */
final class UserTrackerLifecycleTest
{
    @Test
    void aUsersTrackerIsClosedWhenItsLastQueryOnTheNodeEndsAndMadeAgainForItsNextQuery()
    {
        RecordingTracker root = new RecordingTracker(ExactMemoryTracker.root("node-test", 0));
        NodeMemory node = node(root);

        QueryMemoryContext first = node.createQuery(QueryId.of("q1"), QuerySession.of("alice"));
        QueryMemoryContext second = node.createQuery(QueryId.of("q2"), QuerySession.of("alice"));
        QueryMemoryContext other = node.createQuery(QueryId.of("q3"), QuerySession.of("bob"));
        assertThat(root.children).extracting(MemoryTracker::description).containsExactly("alice", "bob");
        RecordingTracker alice = root.children.get(0);

        first.close();
        assertThat(alice.closed).isFalse();
        second.close();
        assertThat(alice.closed).isTrue();
        assertThat(root.children.get(1).closed).as("bob still runs q3").isFalse();

        QueryMemoryContext third = node.createQuery(QueryId.of("q4"), QuerySession.of("alice"));
        assertThat(root.children).hasSize(3);
        RecordingTracker aliceAgain = root.children.get(2);
        assertThat(aliceAgain.description()).isEqualTo("alice");
        assertThat(aliceAgain.closed).isFalse();

        // a query refused for a duplicate id does not count as one of the user's queries
        assertThatThrownBy(() -> node.createQuery(QueryId.of("q4"), QuerySession.of("alice"))).isInstanceOf(IllegalArgumentException.class);
        third.close();
        assertThat(aliceAgain.closed).isTrue();
        other.close();
        assertThat(root.children.get(1).closed).isTrue();
    }

    private static NodeMemoryManager node(MemoryTracker root)
    {
        Clock clock = Clock.systemUTC();
        return new NodeMemoryManager(NodeId.of("node-test"), new FixedMemoryPool("general", 64L << 20), root, clock, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /** Delegates to an exact tracker and records the children it makes and whether it was closed. */
    private static final class RecordingTracker
            implements MemoryTracker
    {
        private final MemoryTracker delegate;
        private final RecordingTracker parent;
        final List<RecordingTracker> children = new CopyOnWriteArrayList<>();
        volatile boolean closed;

        RecordingTracker(MemoryTracker delegate)
        {
            this(delegate, null);
        }

        private RecordingTracker(MemoryTracker delegate, RecordingTracker parent)
        {
            this.delegate = delegate;
            this.parent = parent;
        }

        @Override
        public TrackerLevel level()
        {
            return delegate.level();
        }

        @Override
        public String description()
        {
            return delegate.description();
        }

        @Override
        public Optional<MemoryTracker> parent()
        {
            return Optional.ofNullable(parent);
        }

        @Override
        public long usedBytes()
        {
            return delegate.usedBytes();
        }

        @Override
        public long peakBytes()
        {
            return delegate.peakBytes();
        }

        @Override
        public long hardLimitBytes()
        {
            return delegate.hardLimitBytes();
        }

        @Override
        public void allocate(long bytes)
        {
            delegate.allocate(bytes);
        }

        @Override
        public void free(long bytes)
        {
            delegate.free(bytes);
        }

        @Override
        public MemoryTracker newChild(TrackerLevel level, String description, long hardLimitBytes)
        {
            if (closed) {
                throw new IllegalStateException("tracker " + description() + " is closed");
            }
            RecordingTracker child = new RecordingTracker(delegate.newChild(level, description, hardLimitBytes), this);
            children.add(child);
            return child;
        }

        @Override
        public void close()
        {
            closed = true;
            delegate.close();
        }
    }
}
