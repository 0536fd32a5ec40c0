package io.memgov.engine.internal.heap;

import io.memgov.engine.internal.heap.UntrackedMemory.Estimate;
import io.memgov.engine.internal.heap.UntrackedMemory.Node;
import io.memgov.spi.query.NodeId;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static io.memgov.engine.internal.heap.SyntheticCollections.MB;
import static io.memgov.engine.internal.heap.SyntheticCollections.pause;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Tables of collections, in MB: each row is a collection (F full, Y young), the live heap after it, what each node
 * tracked then, and the expected smoothed untracked memory and effective maximum of each node.
 */
final class UntrackedMemoryTest
{
    private static final NodeId N1 = NodeId.of("n1");
    private static final NodeId N2 = NodeId.of("n2");

    @Test
    void aNodeAloneInItsJvmLosesWhatNobodyTracks()
    {
        // 256MB heap, 76MB headroom: a 180MB pool; floor 10% of it, 18MB
        Cluster cluster = new Cluster(256, 0.1, 0.3).node(N1, 256, 76);
        cluster.expect(new Object[][] {
                // kind, live, tracked n1, | smoothed untracked, effective max n1
                {"F", 200, 150, 50, 130},
                // memgov tracks more than is live (reserved, not yet allocated): nothing is untracked
                {"F", 100, 120, 0, 180},
                // untracked beyond the pool: the floor holds
                {"F", 240, 10, 230, 18},
        });
    }

    @Test
    void nodesSharingTheJvmSplitUntrackedMemoryByTheirShareOfTheHeap()
    {
        // 192MB and 64MB nodes, 30% headroom each: pools of 135MB and 45MB (floors 14MB and 5MB)
        Cluster cluster = new Cluster(256, 0.1, 0.3).node(N1, 192, 57).node(N2, 64, 19);
        cluster.expect(new Object[][] {
                // kind, live, tracked n1, tracked n2, | smoothed untracked, effective n1, effective n2
                {"F", 200, 60, 40, 100, 60, 20},
                {"F", 140, 60, 40, 40, 105, 35},
                // whoever tracks it, untracked memory is the JVM's: shared by heap, not by tracked bytes
                {"F", 140, 100, 0, 40, 105, 35},
        });
    }

    @Test
    void heapNoNodeClaimsAbsorbsUntrackedMemoryFirst()
    {
        // the host gives its node 128MB of a 256MB JVM and keeps 128MB for itself
        Cluster cluster = new Cluster(256, 0.1, 0.3).node(N1, 128, 28);
        cluster.expect(new Object[][] {
                {"F", 150, 80, 70, 100},
                {"F", 250, 80, 170, 58},
        });
    }

    @Test
    void fullCollectionsSetTheUntrackedFigureAndYoungOnesMoveItPartWay()
    {
        Cluster cluster = new Cluster(256, 0.1, 0.5).node(N1, 256, 56);
        cluster.expect(new Object[][] {
                {"F", 100, 50, 50, 150},
                // garbage in the old generation inflates a young figure: half of it shows
                {"Y", 150, 50, 75, 125},
                {"Y", 150, 50, 88, 112},
                // the full collection finds it was garbage
                {"F", 100, 50, 50, 150},
        });
    }

    @Test
    void trackedMemoryGrowingWithTheHeapIsNotUntracked()
    {
        // a query allocates 80MB it reserved: live and tracked grow together and untracked stays at 50MB; smoothing the
        // live heap instead would have shown a drop of untracked memory and widened the pool
        Cluster cluster = new Cluster(256, 0.1, 0.3).node(N1, 256, 56);
        cluster.expect(new Object[][] {
                {"F", 100, 50, 50, 150},
                {"Y", 180, 130, 50, 150},
                {"Y", 180, 130, 50, 150},
        });
    }

    @Test
    void pausesChangeNothing()
    {
        Cluster cluster = new Cluster(256, 0.1, 0.3).node(N1, 256, 56);
        cluster.expect(new Object[][] {{"F", 100, 50, 50, 150}});

        Estimate before = cluster.memory().estimate();
        assertThat(cluster.memory().update(pause(10_000, 1))).isSameAs(before);
    }

    @Test
    void beforeAnyCollectionEveryPoolIsWhole()
    {
        Cluster cluster = new Cluster(256, 0.1, 0.3).node(N1, 192, 57).node(N2, 64, 19);
        Estimate estimate = cluster.memory().estimate();

        assertThat(estimate.smoothedUntrackedBytes()).isZero();
        assertThat(estimate.node(N1).effectiveMaxBytes()).isEqualTo(135 * MB);
        assertThat(estimate.node(N2).effectiveMaxBytes()).isEqualTo(45 * MB);
        assertThatThrownBy(() -> estimate.node(NodeId.of("n3"))).hasMessage("unknown node n3; known: [n1, n2]");
    }

    @Test
    void reportsTheFiguresBehindTheEstimate()
    {
        Cluster cluster = new Cluster(256, 0.1, 0.3).node(N1, 192, 57).node(N2, 64, 19);
        cluster.expect(new Object[][] {{"F", 200, 60, 40, 100, 60, 20}});
        Estimate estimate = cluster.memory().estimate();

        assertThat(estimate.liveBytes()).isEqualTo(200 * MB);
        assertThat(estimate.trackedBytes()).isEqualTo(100 * MB);
        assertThat(estimate.untrackedBytes()).isEqualTo(100 * MB);
        assertThat(estimate.unclaimedHeapBytes()).isZero();
        assertThat(estimate.node(N1)).isEqualTo(new UntrackedMemory.NodeEstimate(N1, 135 * MB, 60 * MB, 75 * MB, 60 * MB));
        assertThat(estimate.node(N2)).isEqualTo(new UntrackedMemory.NodeEstimate(N2, 45 * MB, 40 * MB, 25 * MB, 20 * MB));
    }

    @Test
    void rejectsBadNodes()
    {
        assertThatThrownBy(() -> new UntrackedMemory(256 * MB, List.of(node(N1, 192, 0), node(N2, 128, 0)), 0.1, 0.3))
                .hasMessage("the nodes' heaps add up to 320MB (335544320 bytes), more than the max heap 256MB (268435456 bytes)");
        assertThatThrownBy(() -> new UntrackedMemory(256 * MB, List.of(node(N1, 64, 0), node(N1, 64, 0)), 0.1, 0.3))
                .hasMessage("node n1 is listed twice");
        assertThatThrownBy(() -> new UntrackedMemory(256 * MB, List.of(), 0.1, 0.3))
                .hasMessage("nodes is empty: untracked memory is split over at least one node");
        assertThatThrownBy(() -> new UntrackedMemory(256 * MB, List.of(node(N1, 64, 0)), 1.5, 0.3))
                .hasMessage("floorRatio must be in [0, 1]: 1.5");
        assertThatThrownBy(() -> new UntrackedMemory(256 * MB, List.of(node(N1, 64, 0)), 0.1, 0))
                .hasMessage("smoothing weight must be in (0, 1]: 0.0");
        assertThatThrownBy(() -> node(N1, 64, 64))
                .hasMessage("headroomBytes of node n1 must be in [0, 67108864) (its heap, 64MB): 67108864");
        assertThatThrownBy(() -> node(N1, 0, 0))
                .hasMessage("heapBytes of node n1 is not positive: 0");
    }

    @Test
    void aNegativeTrackedFigureIsABug()
    {
        UntrackedMemory memory = new UntrackedMemory(256 * MB, List.of(new Node(N1, 64 * MB, 0, () -> -1)), 0.1, 0.3);

        assertThatThrownBy(() -> memory.update(SyntheticCollections.full(1_000, 10, 100)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("tracked bytes of node n1 are negative: -1");
    }

    private static Node node(NodeId nodeId, long heapMegabytes, long headroomMegabytes)
    {
        return new Node(nodeId, heapMegabytes * MB, headroomMegabytes * MB, () -> 0);
    }

    /** Nodes whose tracked bytes each row sets before its collection is recorded. */
    private static final class Cluster
    {
        private final long maxHeapMegabytes;
        private final double floorRatio;
        private final double smoothing;
        private final List<Node> nodes = new ArrayList<>();
        private final List<AtomicLong> tracked = new ArrayList<>();
        private UntrackedMemory memory;
        private long clock;

        Cluster(long maxHeapMegabytes, double floorRatio, double smoothing)
        {
            this.maxHeapMegabytes = maxHeapMegabytes;
            this.floorRatio = floorRatio;
            this.smoothing = smoothing;
        }

        Cluster node(NodeId nodeId, long heapMegabytes, long headroomMegabytes)
        {
            AtomicLong bytes = new AtomicLong();
            tracked.add(bytes);
            nodes.add(new Node(nodeId, heapMegabytes * MB, headroomMegabytes * MB, bytes::get));
            return this;
        }

        UntrackedMemory memory()
        {
            if (memory == null) {
                memory = new UntrackedMemory(maxHeapMegabytes * MB, nodes, floorRatio, smoothing);
            }
            return memory;
        }

        void expect(Object[][] rows)
        {
            for (Object[] row : rows) {
                int column = 0;
                String kind = (String) row[column++];
                long live = ((Integer) row[column++]) * MB;
                for (AtomicLong bytes : tracked) {
                    bytes.set(((Integer) row[column++]) * MB);
                }
                clock += 1_000;
                HeapCollection collection = kind.equals("F")
                        ? new HeapCollection("G1 Old Generation", CollectionKind.FULL, false, "Allocation Failure", clock, 10, live, live)
                        : new HeapCollection("G1 Young Generation", CollectionKind.YOUNG, false, "G1 Evacuation Pause", clock, 10, live, live);
                Estimate estimate = memory().update(collection);

                String description = Arrays.toString(row);
                assertThat(estimate.smoothedUntrackedBytes()).as("smoothed untracked after %s", description)
                        .isCloseTo(((Integer) row[column++]) * MB, within(MB / 2));
                for (Node node : nodes) {
                    assertThat(estimate.node(node.nodeId()).effectiveMaxBytes()).as("effective max of %s after %s", node.nodeId(), description)
                            .isCloseTo(((Integer) row[column++]) * MB, within(MB / 2));
                }
            }
        }
    }
}
