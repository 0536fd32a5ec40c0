package io.memgov.engine.internal.heap;

import io.memgov.engine.HeapMemorySnapshot;
import io.memgov.engine.HeapMemorySnapshot.NodeHeapSnapshot;
import io.memgov.engine.HeapSettings;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.engine.internal.revoke.MemoryRevokingScheduler;
import io.memgov.engine.internal.revoke.MemoryRevokingScheduler.QueryFailer;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;



/**
 * Makes the nodes of this JVM follow its real heap. After every collection the {@link HeapObserver} reports:
 * <ol>
 * <li><b>Capacity.</b> {@link UntrackedMemory} compares the live heap with what the nodes' pools hold; each node's
 * general pool gets its effective maximum (its configured maximum less its share of the memory nobody tracked, never
 * under the floor). A pool whose reservations are now above its maximum is blocked, and the usual chain acts: the
 * revoking scheduler spills, then the cluster loop's killers, exactly as when a query over-reserves.</li>
 * <li><b>GC pressure.</b> {@link GcPressureDetector} decides; under pressure the governor first asks every operator
 * that holds revocable memory to give it back, and if the pressure is still there at a later collection, fails the
 * query holding the most memory on any of this JVM's nodes with {@link ErrorCode#EXCEEDED_HEAP_MEMORY_LIMIT} and the
 * GC figures (Presto's worker-side GC killer, gentler: it revokes first). Nothing else is failed while the victim still
 * holds memory, as the cluster loop's cascade guard.</li>
 * </ol>
 * With {@code node.heap-governed=false} the figures are kept and published and nothing follows them.
 *
 * <p>Capacity runs on the JVM's notification thread (a few arithmetic operations and a pool update per node); the
 * pressure response runs on the engine's scheduler, so host callbacks of a failed query never run on the JVM's thread.
 * Thread-safe.
 */
public final class HeapGovernor
        implements AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(HeapGovernor.class);

    static final String KILL_MESSAGE = "Query killed because the JVM is under GC pressure and revoking did not relieve it: %s. "
            + "It held %s on %s, the most of any query";

    private final HeapSource observer;
    private final HeapObserver.Registration registration;
    private final List<GovernedNode> nodes;
    private final UntrackedMemory untracked;
    private final GcPressureDetector detector;
    private final boolean governed;
    private final boolean respondToPressure;
    private final Map<NodeId, MemoryRevokingScheduler> revokers;
    private final QueryFailer failer;
    private final Executor executor;
    private final MetricsSink metrics;
    private final AtomicLong queriesKilled = new AtomicLong();
    private final double untrackedFloor;
    // each node's general pool as configured, before the governor first resized it
    private final Map<NodeId, Long> configuredGeneralBytes = new LinkedHashMap<>();

    private volatile UntrackedMemory.Estimate estimate;
    private volatile GcPressure pressure;
    private volatile long trackedAtLastCollection;

    // touched only by respond(), which is synchronized
    private boolean revokedThisEpisode;
    private QueryId victim;

    /** One node and its general pool as configured. */
    public record GovernedNode(NodeMemoryManager node, long heapBytes, long headroomBytes)
    {
        public GovernedNode
        {
            requireNonNull(node, "node is null");
        }
    }

    /**
     * Starts observing the heap (one {@link HeapObserver} per engine) and governing the nodes.
     *
     * @param governed {@code node.heap-governed}: the nodes' heaps add up to at most the max heap
     * @param revokers each node's revoking scheduler, where it has one (a node whose spill strategy is {@code none} has none)
     * @param failer fails a query on every node and tells the host
     * @param executor runs the pressure response (the engine's scheduler)
     */
    public static HeapGovernor start(HeapSettings settings, boolean governed, List<GovernedNode> nodes, Map<NodeId, MemoryRevokingScheduler> revokers,
            QueryFailer failer, Executor executor, MetricsSink metrics)
    {
        HeapObserver observer = HeapObserver.start(settings.gcTimeWindow(), HeapObserver.DEFAULT_SMOOTHING);
        try {
            return new HeapGovernor(observer, settings, governed, nodes, revokers, failer, executor, metrics);
        }
        catch (RuntimeException | Error e) {
            observer.close();
            throw e;
        }
    }

    HeapGovernor(HeapSource observer, HeapSettings settings, boolean governed, List<GovernedNode> nodes, Map<NodeId, MemoryRevokingScheduler> revokers,
            QueryFailer failer, Executor executor, MetricsSink metrics)
    {
        this.observer = requireNonNull(observer, "observer is null");
        this.nodes = List.copyOf(requireNonNull(nodes, "nodes is null"));
        this.governed = governed;
        this.respondToPressure = governed && settings.gcPressureResponse();
        this.revokers = Map.copyOf(requireNonNull(revokers, "revokers is null"));
        this.failer = requireNonNull(failer, "failer is null");
        this.executor = requireNonNull(executor, "executor is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.detector = new GcPressureDetector(settings.gcTimeThreshold(), settings.liveThreshold(), settings.fullCollections());
        this.untrackedFloor = settings.untrackedFloor();
        this.nodes.forEach(node -> configuredGeneralBytes.put(node.node().nodeId(), node.node().pool().maxBytes()));
        long maxHeap = observer.snapshot().maxHeapBytes();
        this.untracked = governed
                ? new UntrackedMemory(maxHeap, this.nodes.stream()
                        .map(node -> new UntrackedMemory.Node(node.node().nodeId(), node.heapBytes(), node.headroomBytes(), () -> tracked(node.node())))
                        .toList(), settings.untrackedFloor(), HeapObserver.DEFAULT_SMOOTHING)
                : null;
        this.estimate = untracked == null ? null : untracked.estimate();
        this.pressure = detector.evaluate(observer.snapshot());
        this.registration = observer.addListener(this::onCollection);
    }

    /** What the node's pools hold: user and revocable bytes of every pool. */
    private static long tracked(NodeMemoryManager node)
    {
        long bytes = 0;
        for (MemoryPool pool : node.pools()) {
            bytes += Math.max(0, pool.reservedBytes()) + Math.max(0, pool.reservedRevocableBytes());
        }
        return bytes;
    }

    // package-private: tests feed synthetic collections
    void onCollection(HeapCollection collection, HeapSnapshot snapshot)
    {
        long tracked = 0;
        for (GovernedNode node : nodes) {
            tracked += tracked(node.node());
        }
        trackedAtLastCollection = tracked;
        if (untracked != null && collection.hasLiveFigure()) {
            UntrackedMemory.Estimate next = untracked.update(collection);
            estimate = next;
            for (GovernedNode node : nodes) {
                applyEffectiveMaximum(node, next.node(node.node().nodeId()));
            }
        }
        GcPressure now = detector.evaluate(snapshot);
        pressure = now;
        publish(snapshot, now);
        if (respondToPressure) {
            try {
                executor.execute(() -> respond(now));
            }
            catch (RejectedExecutionException e) {
                log.debug("GC-pressure response not scheduled: the engine's scheduler is shut down");
            }
        }
    }

    /**
     * Sets the general pool's maximum to what the node may hold now, less what its other pools may hold (a layout of
     * several pools, Presto's reserved pool, gives up capacity from its general pool only), never above the pool's
     * configured size (heap a pool was never given absorbs untracked memory first) nor under the floor.
     */
    private void applyEffectiveMaximum(GovernedNode governed, UntrackedMemory.NodeEstimate node)
    {
        MemoryPool general = governed.node().pool();
        if (!(general instanceof ResizableMemoryPool resizable)) {
            return;
        }
        long configured = configuredGeneralBytes.get(node.nodeId());
        long others = 0;
        for (MemoryPool pool : governed.node().pools()) {
            if (pool != general) {
                others += pool.maxBytes();
            }
        }
        long effective = Math.min(configured, Math.max((long) Math.ceil(untrackedFloor * configured), node.effectiveMaxBytes() - others));
        if (resizable.maxBytes() != effective) {
            resizable.setMaxBytes(effective);
            log.debug("Effective maximum of {}'s pool '{}': {} (configured {}, untracked share {})", node.nodeId(), general.id(),
                    succinct(effective), succinct(configured), succinct(node.untrackedBytes()));
        }
    }

    private void publish(HeapSnapshot snapshot, GcPressure now)
    {
        metrics.gauge("heap-live-bytes", snapshot.lastLiveBytes());
        metrics.gauge("heap-full-live-bytes", snapshot.lastFullLiveBytes());
        metrics.gauge("heap-tracked-bytes", trackedAtLastCollection);
        metrics.gauge("heap-untracked-bytes", Math.max(0, snapshot.lastLiveBytes() - trackedAtLastCollection));
        metrics.gauge("heap-gc-time-permille", Math.round(now.gcTimeFraction() * 1000));
        metrics.gauge("heap-under-gc-pressure", now.underPressure() ? 1 : 0);
    }

    /** The GC-pressure response: revoke, then fail the largest query, one victim at a time. */
    private synchronized void respond(GcPressure now)
    {
        if (!now.underPressure()) {
            revokedThisEpisode = false;
            return;
        }
        if (victim != null) {
            if (holdsMemory(victim)) {
                // the victim's memory may be all the heap needs: wait until it is gone
                return;
            }
            victim = null;
        }
        if (!revokedThisEpisode) {
            revokedThisEpisode = true;
            int asked = 0;
            for (MemoryRevokingScheduler revoker : revokers.values()) {
                asked += revoker.revokeAll("GC pressure: " + now.message());
            }
            if (asked > 0) {
                log.warn("JVM under GC pressure ({}); asked {} operators to give back all their revocable memory", now.message(), asked);
                return;
            }
        }
        Largest largest = largestQuery();
        if (largest == null) {
            log.warn("JVM under GC pressure ({}), but no query holds memory on this JVM's nodes", now.message());
            return;
        }
        String message = String.format(KILL_MESSAGE, now.message(), succinct(largest.bytes()), largest.nodeId());
        if (failer.fail(largest.queryId(), ErrorCode.EXCEEDED_HEAP_MEMORY_LIMIT, message)) {
            victim = largest.queryId();
            queriesKilled.incrementAndGet();
            metrics.increment("queries-killed-due-to-heap-pressure", 1);
            log.warn("Killed query {} with {}: {}", largest.queryId(), ErrorCode.EXCEEDED_HEAP_MEMORY_LIMIT, message);
        }
        // the next pressured collection revokes again before it kills again
        revokedThisEpisode = false;
    }

    private boolean holdsMemory(QueryId queryId)
    {
        for (GovernedNode node : nodes) {
            for (MemoryPool pool : node.node().pools()) {
                MemoryPoolInfo info = pool.info();
                if (info.queryReservedBytes(queryId) > 0 || info.queryRevocableBytes(queryId) > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    private record Largest(QueryId queryId, NodeId nodeId, long bytes) {}

    /** The query holding the most user and revocable memory on one of this JVM's nodes; ties go to the smaller id. */
    private Largest largestQuery()
    {
        Largest largest = null;
        for (GovernedNode governed : nodes) {
            Map<QueryId, Long> held = new LinkedHashMap<>();
            for (MemoryPool pool : governed.node().pools()) {
                MemoryPoolInfo info = pool.info();
                info.queryMemoryReservations().forEach((query, bytes) -> held.merge(query, bytes, Long::sum));
                info.queryMemoryRevocableReservations().forEach((query, bytes) -> held.merge(query, bytes, Long::sum));
            }
            for (Map.Entry<QueryId, Long> entry : held.entrySet()) {
                if (entry.getValue() <= 0) {
                    continue;
                }
                if (largest == null || entry.getValue() > largest.bytes()
                        || (entry.getValue() == largest.bytes() && entry.getKey().compareTo(largest.queryId()) < 0)) {
                    largest = new Largest(entry.getKey(), governed.node().nodeId(), entry.getValue());
                }
            }
        }
        return largest;
    }

    /** The figures as of the last collection. */
    public HeapMemorySnapshot snapshot()
    {
        HeapSnapshot heap = observer.snapshot();
        UntrackedMemory.Estimate current = estimate;
        GcPressure now = pressure;
        long tracked = trackedAtLastCollection;
        Map<String, NodeHeapSnapshot> perNode = new LinkedHashMap<>();
        for (GovernedNode governed : nodes) {
            NodeId nodeId = governed.node().nodeId();
            long pool = governed.heapBytes() - governed.headroomBytes();
            if (current == null) {
                perNode.put(nodeId.toString(), new NodeHeapSnapshot(pool, pool, tracked(governed.node()), 0));
            }
            else {
                UntrackedMemory.NodeEstimate node = current.node(nodeId);
                perNode.put(nodeId.toString(), new NodeHeapSnapshot(node.poolBytes(), node.effectiveMaxBytes(), node.trackedBytes(), node.untrackedBytes()));
            }
        }
        return new HeapMemorySnapshot(
                governed,
                heap.maxHeapBytes(),
                heap.lastLiveBytes(),
                heap.lastFullLiveBytes(),
                tracked,
                Math.max(0, heap.lastLiveBytes() - tracked),
                current == null ? 0 : current.smoothedUntrackedBytes(),
                heap.gcTimeFraction(),
                heap.youngCollections(),
                heap.fullCollections(),
                now.underPressure(),
                now.message(),
                queriesKilled.get(),
                perNode);
    }

    public long queriesKilledDueToHeapPressure()
    {
        return queriesKilled.get();
    }

    @Override
    public void close()
    {
        registration.close();
        observer.close();
    }
}
