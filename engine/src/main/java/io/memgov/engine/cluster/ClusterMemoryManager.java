package io.memgov.engine.cluster;

import io.memgov.engine.config.MemoryEngineConfig;
import io.memgov.engine.node.ClusterQueries;
import io.memgov.engine.node.QuerySession;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.assignment.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * The cluster enforcement loop (Trino's {@code ClusterMemoryManager.process}). Every poll interval, and whenever a
 * host calls {@link #process()}: run the leak check; enforce the distributed limits; and, if a node is blocked, no
 * query was killed this round and the last kill target no longer holds memory (or was flagged as leaked), ask the
 * task killer, then the query killer, and kill the first target chosen.
 *
 * <p>One kill at a time: while the previous target still holds memory nothing else is killed, because the memory
 * it frees may be all the cluster needs (the cascade guard). {@code query.low-memory-killer.delay} (Presto) makes
 * the loop also wait that long after the cluster became out of memory.
 *
 * <p>With a pool layout of several pools per node (Presto's RESERVED pool), the pool policy's
 * {@link MemoryPoolAssigner} decides, at the end of each round, which pool each query runs in; the decision is a
 * numbered {@link MemoryPoolAssignment} sent to every node, and the assigner is asked again only once every node has
 * applied it. The assigner also defines when the cluster is out of memory and which pools the killers see.
 */
public final class ClusterMemoryManager
        implements AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(ClusterMemoryManager.class);

    static final String QUERY_KILLED_MESSAGE = "Query killed because the cluster is out of memory. Please try again in a few minutes.";
    static final String TASK_KILLED_MESSAGE = "Task killed because the cluster is out of memory.";
    /** How many queries and tasks of each blocked node a kill decision's log line shows, largest first. */
    static final int TOP_CONSUMERS_LOGGED = 10;

    private final MemoryEngineConfig config;
    private final ClusterTransport transport;
    private final ClusterQueries queries;
    private final LowMemoryKiller taskKiller;
    private final LowMemoryKiller queryKiller;
    private final MemoryLeakDetector leakDetector;
    private final Clock clock;
    private final MetricsSink metrics;
    private final MemoryPoolAssigner assigner;

    private final AtomicLong queriesKilledDueToOutOfMemory = new AtomicLong();
    private final AtomicLong tasksKilledDueToOutOfMemory = new AtomicLong();
    private volatile long clusterUserMemoryReservation;
    private volatile long clusterTotalMemoryReservation;
    private volatile int blockedNodes;
    private volatile List<NodeMemoryInfo> lastNodes = List.of();

    // touched only by process(), which is synchronized
    private KillTarget lastKillTarget;
    private Instant outOfMemorySince;
    private ScheduledFuture<?> loop;
    private volatile MemoryPoolAssignment assignment = MemoryPoolAssignment.initial();
    // the version each node reported as applied; touched only by process()
    private final Map<NodeId, Long> appliedVersions = new HashMap<>();

    public ClusterMemoryManager(
            MemoryEngineConfig config,
            ClusterTransport transport,
            ClusterQueries queries,
            LowMemoryKiller taskKiller,
            LowMemoryKiller queryKiller,
            MemoryLeakDetector leakDetector,
            Clock clock,
            MetricsSink metrics)
    {
        this(config, transport, queries, taskKiller, queryKiller, leakDetector, clock, metrics, MemoryPoolAssigner.NONE);
    }

    public ClusterMemoryManager(
            MemoryEngineConfig config,
            ClusterTransport transport,
            ClusterQueries queries,
            LowMemoryKiller taskKiller,
            LowMemoryKiller queryKiller,
            MemoryLeakDetector leakDetector,
            Clock clock,
            MetricsSink metrics,
            MemoryPoolAssigner assigner)
    {
        this.assigner = requireNonNull(assigner, "assigner is null");
        this.config = requireNonNull(config, "config is null");
        this.transport = requireNonNull(transport, "transport is null");
        this.queries = requireNonNull(queries, "queries is null");
        this.taskKiller = requireNonNull(taskKiller, "taskKiller is null");
        this.queryKiller = requireNonNull(queryKiller, "queryKiller is null");
        this.leakDetector = requireNonNull(leakDetector, "leakDetector is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    /** Runs {@link #process()} every {@code memory.cluster.poll-interval} on the scheduler until closed. */
    public synchronized void start(ScheduledExecutorService scheduler)
    {
        if (loop != null) {
            throw new IllegalStateException("cluster memory manager already started");
        }
        long periodNanos = config.pollInterval().toNanos();
        loop = scheduler.scheduleWithFixedDelay(this::processSafely, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    }

    private void processSafely()
    {
        try {
            process();
        }
        catch (RuntimeException e) {
            // the loop must survive anything one round throws, or the cluster loses its killer
            log.error("Cluster memory loop failed; it will run again in {}", config.pollInterval(), e);
        }
    }

    /** One round of the loop. Hosts and tests may call it at any time; rounds never overlap. */
    public synchronized void process()
    {
        List<NodeMemoryInfo> nodes = transport.readNodes();
        lastNodes = nodes;

        Map<QueryId, Long> userReservations = new HashMap<>();
        Map<QueryId, Long> totalReservations = new HashMap<>();
        int blocked = 0;
        long clusterUser = 0;
        long clusterTotal = 0;
        for (NodeMemoryInfo node : nodes) {
            MemoryPoolInfo pool = node.generalPool();
            if (pool.isBlocked()) {
                blocked++;
            }
            for (MemoryPoolInfo anyPool : node.pools()) {
                clusterUser += anyPool.reservedBytes();
                clusterTotal += anyPool.reservedBytes() + anyPool.reservedRevocableBytes();
                anyPool.queryMemoryReservations().forEach((query, bytes) -> {
                    userReservations.merge(query, bytes, Long::sum);
                    totalReservations.merge(query, bytes, Long::sum);
                });
                anyPool.queryMemoryRevocableReservations().forEach((query, bytes) -> totalReservations.merge(query, bytes, Long::sum));
            }
        }
        blockedNodes = blocked;
        clusterUserMemoryReservation = clusterUser;
        clusterTotalMemoryReservation = clusterTotal;

        Set<QueryId> leaked = leakDetector.checkForLeaks(queries.known(), Map.copyOf(totalReservations));

        MemoryPoolAssignment current = withoutEndedQueries(assignment);
        boolean outOfMemory = isOutOfMemory(nodes, current, blocked);
        Instant now = clock.instant();
        if (!outOfMemory) {
            outOfMemorySince = null;
        }
        else if (outOfMemorySince == null) {
            outOfMemorySince = now;
        }

        boolean queryKilled = false;
        for (ClusterQueries.QueryRecord query : queries.running().values()) {
            QuerySession session = query.session();
            if (session.retryPolicy() == RetryPolicy.TASK) {
                // with task retries only the pools and the killers apply, as in Trino
                continue;
            }
            long user = userReservations.getOrDefault(query.queryId(), 0L);
            long total = totalReservations.getOrDefault(query.queryId(), 0L);
            if (session.resourceOvercommit() && outOfMemory) {
                queryKilled |= kill(query.queryId(), ErrorCode.CLUSTER_OUT_OF_MEMORY, String.format(
                        "The cluster is out of memory and resource_overcommit=true, so this query was killed. It was using %s of memory", succinct(total)));
                continue;
            }
            if (session.resourceOvercommit()) {
                continue;
            }
            long userLimit = lower(config.maxQueryMemory(), session.maxMemory().orElse(Long.MAX_VALUE));
            long totalLimit = lower(config.maxQueryTotalMemory(), session.maxTotalMemory().orElse(Long.MAX_VALUE));
            if (user > userLimit) {
                queryKilled |= kill(query.queryId(), ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT, "Query exceeded distributed user memory limit of " + succinct(userLimit));
            }
            else if (total > totalLimit) {
                queryKilled |= kill(query.queryId(), ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT, "Query exceeded distributed total memory limit of " + succinct(totalLimit));
            }
        }

        if (outOfMemory && !queryKilled && isLastKillTargetGone(nodes, leaked) && delayPassed(now)) {
            callOomKiller(nodes, current);
        }
        if (assigner != MemoryPoolAssigner.NONE) {
            updateAssignment(nodes, current);
        }
        metrics.gauge("blocked-nodes", blocked);
        metrics.gauge("cluster-user-memory-reservation", clusterUser);
        metrics.gauge("cluster-total-memory-reservation", clusterTotal);
    }

    private boolean isOutOfMemory(List<NodeMemoryInfo> nodes, MemoryPoolAssignment current, int blocked)
    {
        try {
            return assigner.isOutOfMemory(nodes, current);
        }
        catch (RuntimeException e) {
            log.error("Memory pool assigner {} failed to tell whether the cluster is out of memory; using 'a general pool is blocked'", assigner, e);
            return blocked > 0;
        }
    }

    private MemoryPoolAssignment withoutEndedQueries(MemoryPoolAssignment assignment)
    {
        Map<QueryId, ClusterQueries.QueryRecord> running = queries.running();
        if (running.keySet().containsAll(assignment.placements().keySet())) {
            return assignment;
        }
        Map<QueryId, String> placements = new HashMap<>(assignment.placements());
        placements.keySet().retainAll(running.keySet());
        // the version stays: nodes need not hear that a query they no longer run left its pool
        return new MemoryPoolAssignment(assignment.version(), placements);
    }

    /**
     * Asks the assigner for the next placements once every node applied the current version (Presto's
     * {@code updateAssignments}), then delivers the version in force to the nodes that have not applied it, again
     * every round until they have.
     */
    private void updateAssignment(List<NodeMemoryInfo> nodes, MemoryPoolAssignment current)
    {
        boolean everyNodeApplied = nodes.stream().allMatch(node -> appliedVersions.getOrDefault(node.nodeId(), 0L) >= current.version());
        MemoryPoolAssignment next = current;
        if (everyNodeApplied) {
            try {
                Map<QueryId, String> placements = assigner.assign(nodes, transport.runningQueries(nodes), current);
                if (!placements.equals(current.placements())) {
                    next = new MemoryPoolAssignment(current.version() + 1, placements);
                    if (log.isInfoEnabled()) {
                        log.info("Memory pool assignment version {}: {} (was {}). {}", next.version(), new TreeMap<>(placements),
                                new TreeMap<>(current.placements()), new NodesSummary(nodes));
                    }
                }
            }
            catch (RuntimeException e) {
                log.error("Memory pool assigner {} failed; the assignment stays at version {}", assigner, current.version(), e);
            }
        }
        assignment = next;
        MemoryPoolAssignment toDeliver = next;
        if (nodes.stream().anyMatch(node -> appliedVersions.getOrDefault(node.nodeId(), 0L) < toDeliver.version())) {
            appliedVersions.putAll(transport.assignPools(toDeliver));
        }
        metrics.gauge("memory-pool-assignment-version", next.version());
    }

    private boolean delayPassed(Instant now)
    {
        return outOfMemorySince != null && !now.isBefore(outOfMemorySince.plus(config.killerDelay()));
    }

    private boolean kill(QueryId queryId, ErrorCode errorCode, String message)
    {
        boolean killed = transport.killQuery(queryId, errorCode, message);
        if (killed) {
            log.info("Killed query {} with {}: {}", queryId, errorCode, message);
        }
        return killed;
    }

    private boolean isLastKillTargetGone(List<NodeMemoryInfo> nodes, Set<QueryId> leaked)
    {
        KillTarget target = lastKillTarget;
        if (target == null) {
            return true;
        }
        if (target instanceof KillTarget.WholeQuery wholeQuery) {
            if (leaked.contains(wholeQuery.queryId())) {
                log.info("Last kill target {} still holds memory but was flagged as leaked; the killer may run again", wholeQuery.queryId());
                lastKillTarget = null;
                return true;
            }
            boolean holdsMemory = nodes.stream()
                    .flatMap(node -> node.pools().stream())
                    .anyMatch(pool -> pool.queryMemoryReservations().containsKey(wholeQuery.queryId())
                            || pool.queryMemoryRevocableReservations().containsKey(wholeQuery.queryId()));
            if (!holdsMemory) {
                lastKillTarget = null;
            }
            return !holdsMemory;
        }
        Set<TaskId> tasks = ((KillTarget.Tasks) target).taskIds();
        boolean holdsMemory = nodes.stream()
                .flatMap(node -> node.pools().stream())
                .anyMatch(pool -> tasks.stream().anyMatch(task -> pool.taskMemoryReservations().containsKey(task)
                        || pool.taskRevocableMemoryReservations().containsKey(task)));
        if (!holdsMemory) {
            lastKillTarget = null;
        }
        return !holdsMemory;
    }

    private void callOomKiller(List<NodeMemoryInfo> allNodes, MemoryPoolAssignment current)
    {
        List<NodeMemoryInfo> nodes = visibleToKillers(allNodes);
        String generalPoolId = allNodes.isEmpty() ? "" : allNodes.get(0).generalPool().poolId();
        List<RunningQueryInfo> running = transport.runningQueries(allNodes);
        if (assigner != MemoryPoolAssigner.NONE) {
            running = running.stream()
                    .filter(query -> isVisibleToKillers(current.poolOf(query.queryId(), generalPoolId), generalPoolId))
                    .toList();
        }
        Map<QueryId, RunningQueryInfo> runningById = new HashMap<>();
        for (RunningQueryInfo query : running) {
            if (runningById.put(query.queryId(), query) != null) {
                throw new IllegalStateException("transport listed query " + query.queryId() + " twice as running");
            }
        }
        // rendered only if a line is actually logged: at 1,000 nodes the full maps would be megabytes per round
        NodesSummary summary = new NodesSummary(nodes);
        for (LowMemoryKiller killer : List.of(taskKiller, queryKiller)) {
            Optional<KillTarget> chosen;
            try {
                chosen = killer.chooseTargetToKill(running, nodes);
            }
            catch (RuntimeException e) {
                log.error("Low memory killer {} failed; skipping it this round", killer, e);
                continue;
            }
            if (chosen == null || chosen.isEmpty()) {
                continue;
            }
            KillTarget target = chosen.get();
            if (target instanceof KillTarget.WholeQuery wholeQuery) {
                if (!runningById.containsKey(wholeQuery.queryId())) {
                    log.warn("Low memory killer {} chose query {}, which is not running; ignored. {}", killer, wholeQuery.queryId(), summary);
                    continue;
                }
                logDecision(killer, target, summary);
                if (transport.killQuery(wholeQuery.queryId(), ErrorCode.CLUSTER_OUT_OF_MEMORY, QUERY_KILLED_MESSAGE)) {
                    queriesKilledDueToOutOfMemory.incrementAndGet();
                    metrics.increment("queries-killed-due-to-out-of-memory", 1);
                    lastKillTarget = target;
                }
                return;
            }
            Set<TaskId> tasks = ((KillTarget.Tasks) target).taskIds();
            Set<TaskId> unknown = tasks.stream()
                    .filter(task -> !runningById.containsKey(task.queryId()) || !runningById.get(task.queryId()).tasks().containsKey(task))
                    .collect(Collectors.toSet());
            if (!unknown.isEmpty()) {
                log.warn("Low memory killer {} chose tasks {} that are not running; ignored. {}", killer, unknown, summary);
                continue;
            }
            logDecision(killer, target, summary);
            if (transport.killTasks(tasks, ErrorCode.CLUSTER_OUT_OF_MEMORY, TASK_KILLED_MESSAGE)) {
                tasksKilledDueToOutOfMemory.addAndGet(tasks.size());
                metrics.increment("tasks-killed-due-to-out-of-memory", tasks.size());
                lastKillTarget = target;
            }
            return;
        }
        log.debug("Cluster is out of memory but no killer chose a target. {}", summary);
    }

    private static void logDecision(LowMemoryKiller killer, KillTarget target, NodesSummary summary)
    {
        if (log.isInfoEnabled()) {
            log.info("Query Kill Decision: killer {} chose {}. {}", killer, describe(target), summary);
        }
    }

    /** Each node with only the pools the assigner shows the killers; the general pool always stays. */
    private List<NodeMemoryInfo> visibleToKillers(List<NodeMemoryInfo> nodes)
    {
        if (assigner == MemoryPoolAssigner.NONE) {
            return nodes;
        }
        return nodes.stream()
                .map(node -> {
                    String general = node.generalPool().poolId();
                    return new NodeMemoryInfo(node.nodeId(), node.pools().stream()
                            .filter(pool -> isVisibleToKillers(pool.poolId(), general))
                            .toList());
                })
                .toList();
    }

    private boolean isVisibleToKillers(String poolId, String generalPoolId)
    {
        if (poolId.equals(generalPoolId) || assigner == MemoryPoolAssigner.NONE) {
            return true;
        }
        try {
            return assigner.isVisibleToKillers(poolId);
        }
        catch (RuntimeException e) {
            log.error("Memory pool assigner {} failed to tell whether killers see pool '{}'; showing it", assigner, poolId, e);
            return true;
        }
    }

    /** The assignment in force: which pool each query runs in, by version. */
    public MemoryPoolAssignment assignment()
    {
        return assignment;
    }

    /** The running queries the assignment in force places in {@code poolId} (Presto's {@code AssignedQueries}). */
    public long assignedQueries(String poolId)
    {
        return assignment.assignedQueries(poolId);
    }

    private static String describe(KillTarget target)
    {
        if (target instanceof KillTarget.WholeQuery wholeQuery) {
            return "query " + wholeQuery.queryId();
        }
        return "tasks " + ((KillTarget.Tasks) target).taskIds();
    }

    /**
     * The nodes as a kill decision's log line shows them, in Trino's shape (max, free, queries and tasks with their
     * bytes), summarised: only the blocked nodes (every node when none is blocked and there are few), each with its
     * {@value #TOP_CONSUMERS_LOGGED} largest queries and tasks. Trino prints every map of every node, which at
     * 1,000 nodes is megabytes per decision.
     */
    static String describeNodes(List<NodeMemoryInfo> nodes)
    {
        List<NodeMemoryInfo> shown = nodes.stream().filter(NodeMemoryInfo::isBlocked).toList();
        String heading = "Blocked nodes (" + shown.size() + " of " + nodes.size() + "): [";
        if (shown.isEmpty() && nodes.size() <= TOP_CONSUMERS_LOGGED) {
            shown = nodes;
            heading = "Nodes: [";
        }
        StringBuilder text = new StringBuilder(heading);
        for (NodeMemoryInfo node : shown) {
            if (text.length() > heading.length()) {
                text.append("; ");
            }
            MemoryPoolInfo pool = node.generalPool();
            text.append(node.nodeId()).append(": MaxBytes ").append(pool.maxBytes()).append(", FreeBytes ").append(pool.freeBytes())
                    .append(", Queries ");
            appendLargest(text, pool.queryMemoryReservations());
            text.append(", Tasks ");
            appendLargest(text, pool.taskMemoryReservations());
        }
        return text.append(']').toString();
    }

    private static <K> void appendLargest(StringBuilder text, Map<K, Long> reservations)
    {
        text.append(reservations.entrySet().stream()
                .sorted(Map.Entry.<K, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(entry -> entry.getKey().toString()))
                .limit(TOP_CONSUMERS_LOGGED)
                .map(entry -> entry.getKey() + "=" + entry.getValue())
                .collect(Collectors.joining(", ", "{", "}")));
        if (reservations.size() > TOP_CONSUMERS_LOGGED) {
            text.append(" and ").append(reservations.size() - TOP_CONSUMERS_LOGGED).append(" more");
        }
    }

    /** Renders {@link #describeNodes} when, and only when, a logger formats it. */
    private record NodesSummary(List<NodeMemoryInfo> nodes)
    {
        @Override
        public String toString()
        {
            return describeNodes(nodes);
        }
    }

    private static long lower(long configured, long session)
    {
        return Math.min(configured, session);
    }

    public long queriesKilledDueToOutOfMemory()
    {
        return queriesKilledDueToOutOfMemory.get();
    }

    public long tasksKilledDueToOutOfMemory()
    {
        return tasksKilledDueToOutOfMemory.get();
    }

    public long clusterUserMemoryReservation()
    {
        return clusterUserMemoryReservation;
    }

    public long clusterTotalMemoryReservation()
    {
        return clusterTotalMemoryReservation;
    }

    public int blockedNodes()
    {
        return blockedNodes;
    }

    public int numberOfLeakedQueries()
    {
        return leakDetector.numberOfLeakedQueries();
    }

    /** The nodes as the last round read them. */
    public List<NodeMemoryInfo> lastNodes()
    {
        return lastNodes;
    }

    /** The target of the last kill while it still holds memory. */
    public synchronized Optional<KillTarget> lastKillTarget()
    {
        return Optional.ofNullable(lastKillTarget);
    }

    @Override
    public synchronized void close()
    {
        if (loop != null) {
            loop.cancel(false);
        }
    }
}
