package io.memgov.engine.internal.cluster;

import io.memgov.engine.ClusterMemory;
import io.memgov.engine.ClusterQueryMemory;
import io.memgov.engine.MemoryEngineConfig;
import io.memgov.engine.internal.guard.PolicyCallGuard;
import io.memgov.spi.assignment.MemoryPoolAssigner;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.RunningQueryInfo;
import io.memgov.spi.killer.KillTarget;
import io.memgov.spi.killer.LowMemoryKiller;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
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
        implements ClusterMemory, AutoCloseable
{
    private static final Logger log = LoggerFactory.getLogger(ClusterMemoryManager.class);

    static final String QUERY_KILLED_MESSAGE = "Query killed because the cluster is out of memory. Please try again in a few minutes.";
    static final String TASK_KILLED_MESSAGE = "Task killed because the cluster is out of memory.";
    /** How many queries and tasks of each blocked node a kill decision's log line shows, largest first. */
    static final int TOP_CONSUMERS_LOGGED = 10;

    private final MemoryEngineConfig config;
    private final ClusterTransport transport;
    private final Supplier<List<NodeSnapshot>> localSnapshots;
    private final LowMemoryKiller taskKiller;
    private final LowMemoryKiller queryKiller;
    private final MemoryLeakDetector leakDetector;
    private final Clock clock;
    private final MetricsSink metrics;
    private final MemoryPoolAssigner assigner;
    private final PolicyCallGuard guard;
    private final String taskKillerName;
    private final String queryKillerName;
    private final String leakDetectorName;
    private final String assignerName;

    private final AtomicLong queriesKilledDueToOutOfMemory = new AtomicLong();
    private final AtomicLong tasksKilledDueToOutOfMemory = new AtomicLong();
    private volatile long clusterUserMemoryReservation;
    private volatile long clusterTotalMemoryReservation;
    private volatile int blockedNodes;
    private volatile List<NodeMemoryInfo> lastNodes = List.of();
    private volatile List<ClusterQueryMemory> queries = List.of();

    // written only by process(), which is synchronized; volatile so that readers never wait for a round, which may
    // be waiting for a policy
    private volatile CoordinatorState state = CoordinatorState.initial();
    // what the transport holds for the next coordinator: touched only by process()
    private CoordinatorState savedState = state;
    private boolean coordinator;
    private volatile ScheduledFuture<?> loop;
    // kill targets already reported as not running, so that a killer naming one every round is logged once
    private final Set<KillTarget> reportedUnknownTargets = new HashSet<>();
    private volatile MemoryPoolAssignment assignment = MemoryPoolAssignment.initial();
    // the nodes of the last round, to tell which left: touched only by process()
    private Map<NodeId, NodeSnapshot> lastSeen = Map.of();

    /**
     * @param transport carries snapshots and commands; the loop reads nothing else
     * @param localSnapshots the snapshots of this process's nodes, published at the start of every round
     */
    public ClusterMemoryManager(
            MemoryEngineConfig config,
            ClusterTransport transport,
            Supplier<List<NodeSnapshot>> localSnapshots,
            Clock clock,
            MetricsSink metrics,
            ClusterPolicies policies,
            PolicyCallGuard guard)
    {
        requireNonNull(policies, "policies is null");
        this.assigner = policies.assigner();
        this.taskKiller = policies.taskKiller();
        this.queryKiller = policies.queryKiller();
        this.leakDetector = policies.leakDetector();
        this.taskKillerName = "task killer '" + policies.taskKillerName() + "'";
        this.queryKillerName = "query killer '" + policies.queryKillerName() + "'";
        this.leakDetectorName = "leak detector '" + policies.leakDetectorName() + "'";
        this.assignerName = "memory pool assigner '" + policies.assignerName() + "'";
        this.guard = requireNonNull(guard, "guard is null");
        this.config = requireNonNull(config, "config is null");
        this.transport = requireNonNull(transport, "transport is null");
        this.localSnapshots = requireNonNull(localSnapshots, "localSnapshots is null");
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
        catch (Throwable e) {
            // an Error included (a StackOverflowError, an OutOfMemoryError on this thread): the loop must survive
            // anything one round throws, or the cluster loses its killer
            log.error("Cluster memory loop failed; it will run again in {}", config.pollInterval(), e);
        }
    }

    /**
     * One round: publishes this process's node snapshots and, if this process holds the coordinator role, runs the loop
     * over every node's snapshot. Hosts and tests may call it at any time; rounds never overlap.
     */
    public synchronized void process()
    {
        transport.publish(localSnapshots.get());
        if (!transport.isCoordinator()) {
            coordinator = false;
            return;
        }
        if (!coordinator) {
            // the role moved here (or this is the first round): carry on from where the last coordinator stopped
            state = transport.loadCoordinatorState().orElse(state);
            savedState = state;
            assignment = state.assignment();
            coordinator = true;
            resendLastKill();
        }
        Instant now = clock.instant();
        ClusterView view = new ClusterView(transport.clusterSnapshots(), now);
        List<NodeMemoryInfo> nodes = view.nodes();
        lastNodes = nodes;

        int blocked = 0;
        long clusterUser = 0;
        long clusterTotal = 0;
        for (NodeMemoryInfo node : nodes) {
            // the general pool, or the node's direct pool
            if (node.isBlocked()) {
                blocked++;
            }
            for (MemoryPoolInfo anyPool : node.pools()) {
                clusterTotal = ClusterView.saturatedAdd(clusterTotal, ClusterView.saturatedAdd(anyPool.reservedBytes(), anyPool.reservedRevocableBytes()));
            }
        }
        // user memory only, as Presto's ClusterUserMemoryReservation: a pool's reserved bytes include system memory
        for (long user : view.userReservations().values()) {
            clusterUser = ClusterView.saturatedAdd(clusterUser, user);
        }
        blockedNodes = blocked;
        clusterUserMemoryReservation = clusterUser;
        clusterTotalMemoryReservation = clusterTotal;

        failQueriesOfLostNodes(view);

        Set<QueryId> leaked = guard.call(leakDetectorName, "nothing counts as leaked this round",
                () -> copyOrNull(leakDetector.checkForLeaks(view.known(), Map.copyOf(view.totalReservations()))), Set.of());

        MemoryPoolAssignment current = withoutEndedQueries(state.assignment(), view);
        List<NodeMemoryInfo> leftToTheLoop = view.nodesLeftToTheLoop();
        boolean outOfMemory = isOutOfMemory(leftToTheLoop, current, (int) leftToTheLoop.stream().filter(NodeMemoryInfo::isBlocked).count());
        Instant outOfMemorySince = !outOfMemory ? null : state.outOfMemory().orElse(now);

        boolean queryKilled = false;
        List<ClusterQueryMemory> queryFigures = new ArrayList<>(view.running().size());
        for (ClusterView.QueryFacts query : view.running().values()) {
            QuerySnapshot session = query.session();
            ClusterQueryMemory figures = figures(view, query);
            queryFigures.add(figures);
            if (session.retryPolicy() == RetryPolicy.TASK) {
                // with task retries only the pools and the killers apply, as in Trino
                continue;
            }
            if (session.resourceOvercommit() && outOfMemory) {
                queryKilled |= kill(session.queryId(), ErrorCode.CLUSTER_OUT_OF_MEMORY, String.format(
                        "The cluster is out of memory and resource_overcommit=true, so this query was killed. It was using %s of memory",
                        succinct(figures.totalBytes())));
                continue;
            }
            if (session.resourceOvercommit()) {
                continue;
            }
            // the messages name the limits in force, the figures the snapshot shows
            if (figures.userBytes() > figures.maxMemoryBytes()) {
                queryKilled |= kill(session.queryId(), ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT,
                        "Query exceeded distributed user memory limit of " + succinct(figures.maxMemoryBytes()));
            }
            else if (figures.totalBytes() > figures.maxTotalMemoryBytes()) {
                queryKilled |= kill(session.queryId(), ErrorCode.EXCEEDED_GLOBAL_MEMORY_LIMIT,
                        "Query exceeded distributed total memory limit of " + succinct(figures.maxTotalMemoryBytes()));
            }
        }
        queries = List.copyOf(queryFigures);

        state = new CoordinatorState(state.killedQueries(), state.killedTasks(), state.killedAt(), outOfMemorySince, current);
        if (outOfMemory && !queryKilled && isLastKillTargetGone(view, leaked) && delayPassed(now)) {
            callOomKiller(view, current, now);
        }
        if (assigner != MemoryPoolAssigner.NONE) {
            updateAssignment(view, state.assignment());
        }
        if (!state.equals(savedState)) {
            saveState();
        }
        metrics.gauge("blocked-nodes", blocked);
        metrics.gauge("cluster-user-memory-reservation", clusterUser);
        metrics.gauge("cluster-total-memory-reservation", clusterTotal);
    }

    /**
     * A running query's figures this round: its bytes, the distributed limits in force for it (the configuration's,
     * lowered by its session, as Presto's {@code ClusterMemoryManager.process} takes them, with Presto's source of
     * each) and its cumulative memory summed over its nodes.
     */
    private ClusterQueryMemory figures(ClusterView view, ClusterView.QueryFacts query)
    {
        QuerySnapshot session = query.session();
        boolean userFromSession = session.maxMemoryBytes() < config.maxQueryMemory();
        boolean totalFromSession = session.maxTotalMemoryBytes() < config.maxQueryTotalMemory();
        return new ClusterQueryMemory(
                session.queryId().toString(),
                view.userReservations().getOrDefault(session.queryId(), 0L),
                view.totalReservations().getOrDefault(session.queryId(), 0L),
                lower(config.maxQueryMemory(), session.maxMemoryBytes()),
                userFromSession ? ClusterQueryMemory.QUERY : ClusterQueryMemory.SYSTEM,
                lower(config.maxQueryTotalMemory(), session.maxTotalMemoryBytes()),
                totalFromSession ? ClusterQueryMemory.QUERY : ClusterQueryMemory.SYSTEM,
                session.retryPolicy() != RetryPolicy.TASK && !session.resourceOvercommit(),
                query.cumulativeUserMemoryByteSeconds(),
                query.cumulativeTotalMemoryByteSeconds());
    }

    /**
     * The queries that ran on a node that left the cluster cannot finish: they fail on the nodes that remain, once.
     * A node that leaves is one the transport stops listing.
     */
    private void failQueriesOfLostNodes(ClusterView view)
    {
        Map<NodeId, NodeSnapshot> seen = new LinkedHashMap<>();
        view.snapshots().forEach(node -> seen.put(node.nodeId(), node));
        for (NodeSnapshot lost : lastSeen.values()) {
            if (seen.containsKey(lost.nodeId())) {
                continue;
            }
            Set<QueryId> queriesThere = ClusterView.runningOn(lost);
            log.warn("Node {} left the cluster; failing the {} queries that ran on it: {}", lost.nodeId(), queriesThere.size(), new TreeSet<>(queriesThere));
            for (QueryId queryId : queriesThere) {
                if (view.running().containsKey(queryId)) {
                    transport.send(new ClusterCommand.KillQuery(queryId, ErrorCode.NODE_LOST,
                            "Query failed because node " + lost.nodeId() + ", on which it ran, left the cluster"));
                }
            }
        }
        lastSeen = seen;
    }

    private boolean isOutOfMemory(List<NodeMemoryInfo> nodes, MemoryPoolAssignment current, int blocked)
    {
        return guard.call(assignerName, "the cluster is out of memory when a general pool is blocked",
                () -> assigner.isOutOfMemory(nodes, current), blocked > 0);
    }

    private static MemoryPoolAssignment withoutEndedQueries(MemoryPoolAssignment assignment, ClusterView view)
    {
        Map<QueryId, ClusterView.QueryFacts> running = view.running();
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
     * {@code updateAssignments}), then delivers the version in force, again every round until every node's snapshot
     * says it applied it.
     */
    private void updateAssignment(ClusterView view, MemoryPoolAssignment current)
    {
        boolean everyNodeApplied = view.snapshots().stream().allMatch(node -> node.assignmentVersion() >= current.version());
        MemoryPoolAssignment next = current;
        if (everyNodeApplied) {
            Map<QueryId, String> placements = guard.call(assignerName, "the assignment stays as it is",
                    () -> copyOrNull(assigner.assign(view.nodes(), view.runningQueries(), current)), current.placements());
            if (!placements.equals(current.placements())) {
                next = new MemoryPoolAssignment(current.version() + 1, placements);
                if (log.isInfoEnabled()) {
                    log.info("Memory pool assignment version {}: {} (was {}). {}", next.version(), new TreeMap<>(placements),
                            new TreeMap<>(current.placements()), new NodesSummary(view.nodes()));
                }
            }
        }
        assignment = next;
        state = new CoordinatorState(state.killedQueries(), state.killedTasks(), state.killedAt(), state.outOfMemorySince(), next);
        MemoryPoolAssignment toDeliver = next;
        if (view.snapshots().stream().anyMatch(node -> node.assignmentVersion() < toDeliver.version())) {
            transport.send(new ClusterCommand.AssignPools(toDeliver));
        }
        metrics.gauge("memory-pool-assignment-version", next.version());
    }

    private void saveState()
    {
        transport.saveCoordinatorState(state);
        savedState = state;
    }

    /**
     * The last coordinator saved its victims before sending their kill, so it may have died in between: send the kill
     * again. A node that already failed the query (or task) ignores it; the victims stay the same, so this is not a
     * second kill.
     */
    private void resendLastKill()
    {
        if (state.lastKill().isEmpty()) {
            return;
        }
        log.info("Took the coordinator role with the last kill target {} {} recorded; sending its kill again in case the last coordinator "
                + "died before it was delivered", state.killedQueries(), state.killedTasks());
        for (QueryId victim : state.killedQueries()) {
            transport.send(new ClusterCommand.KillQuery(victim, ErrorCode.CLUSTER_OUT_OF_MEMORY, QUERY_KILLED_MESSAGE));
        }
        if (!state.killedTasks().isEmpty()) {
            transport.send(new ClusterCommand.KillTasks(state.killedTasks(), ErrorCode.CLUSTER_OUT_OF_MEMORY, TASK_KILLED_MESSAGE));
        }
    }

    private boolean delayPassed(Instant now)
    {
        return state.outOfMemory().map(since -> !now.isBefore(since.plus(config.killerDelay()))).orElse(false);
    }

    private boolean kill(QueryId queryId, ErrorCode errorCode, String message)
    {
        transport.send(new ClusterCommand.KillQuery(queryId, errorCode, message));
        log.info("Killed query {} with {}: {}", queryId, errorCode, message);
        return true;
    }

    /**
     * The cascade guard: nothing else is killed while a victim of the last kill still holds memory, unless it was
     * flagged as leaked (Trino's rule). The victims are part of the coordinator's state, so the guard holds across a
     * move of the coordinator role too.
     */
    private boolean isLastKillTargetGone(ClusterView view, Set<QueryId> leaked)
    {
        if (state.lastKill().isEmpty()) {
            return true;
        }
        for (QueryId victim : state.killedQueries()) {
            if (leaked.contains(victim)) {
                log.info("Last kill target {} still holds memory but was flagged as leaked; the killer may run again", victim);
                continue;
            }
            if (view.holdsMemory(victim)) {
                return false;
            }
        }
        for (TaskId victim : state.killedTasks()) {
            if (view.holdsMemory(victim)) {
                return false;
            }
        }
        state = new CoordinatorState(Set.of(), Set.of(), null, state.outOfMemorySince(), state.assignment());
        return true;
    }

    private void callOomKiller(ClusterView view, MemoryPoolAssignment current, Instant now)
    {
        List<NodeMemoryInfo> allNodes = view.nodes();
        // a node whose arbitration is at work is not offered: its shortage is being resolved there
        List<NodeMemoryInfo> nodes = visibleToKillers(view.nodesLeftToTheLoop());
        String generalPoolId = allNodes.isEmpty() ? "" : allNodes.get(0).generalPool().poolId();
        List<RunningQueryInfo> running = view.runningQueries();
        if (assigner != MemoryPoolAssigner.NONE) {
            running = running.stream()
                    .filter(query -> isVisibleToKillers(current.poolOf(query.queryId(), generalPoolId), generalPoolId))
                    .toList();
        }
        Map<QueryId, RunningQueryInfo> runningById = new HashMap<>();
        for (RunningQueryInfo query : running) {
            runningById.put(query.queryId(), query);
        }
        // rendered only if a line is actually logged: at 1,000 nodes the full maps would be megabytes per round
        NodesSummary summary = new NodesSummary(nodes);
        List<RunningQueryInfo> offered = running;
        for (LowMemoryKiller killer : List.of(taskKiller, queryKiller)) {
            String killerName = killer == taskKiller ? taskKillerName : queryKillerName;
            Optional<KillTarget> chosen = guard.call(killerName, "it is skipped this round", () -> killer.chooseTargetToKill(offered, nodes), Optional.empty());
            if (chosen.isEmpty()) {
                continue;
            }
            KillTarget target = chosen.get();
            if (target instanceof KillTarget.WholeQuery wholeQuery) {
                if (!runningById.containsKey(wholeQuery.queryId())) {
                    reportUnknownTarget(killerName, target, "query " + wholeQuery.queryId() + ", which is not running", summary);
                    continue;
                }
                logDecision(killer, target, summary);
                // saved before it is sent: a coordinator that dies in between leaves the victim to the next one, never a second kill
                state = new CoordinatorState(Set.of(wholeQuery.queryId()), Set.of(), now, state.outOfMemorySince(), state.assignment());
                saveState();
                transport.send(new ClusterCommand.KillQuery(wholeQuery.queryId(), ErrorCode.CLUSTER_OUT_OF_MEMORY, QUERY_KILLED_MESSAGE));
                queriesKilledDueToOutOfMemory.incrementAndGet();
                metrics.increment("queries-killed-due-to-out-of-memory", 1);
                return;
            }
            Set<TaskId> tasks = ((KillTarget.Tasks) target).taskIds();
            Set<TaskId> unknown = tasks.stream()
                    .filter(task -> !runningById.containsKey(task.queryId()) || !runningById.get(task.queryId()).tasks().containsKey(task))
                    .collect(Collectors.toSet());
            if (!unknown.isEmpty()) {
                reportUnknownTarget(killerName, target, "tasks " + new TreeSet<>(unknown) + ", which are not running", summary);
                continue;
            }
            logDecision(killer, target, summary);
            state = new CoordinatorState(Set.of(), tasks, now, state.outOfMemorySince(), state.assignment());
            saveState();
            transport.send(new ClusterCommand.KillTasks(tasks, ErrorCode.CLUSTER_OUT_OF_MEMORY, TASK_KILLED_MESSAGE));
            tasksKilledDueToOutOfMemory.addAndGet(tasks.size());
            metrics.increment("tasks-killed-due-to-out-of-memory", tasks.size());
            return;
        }
        log.debug("Cluster is out of memory but no killer chose a target. {}", summary);
    }

    /** Logs a target a killer chose that is not running: at WARN the first time, at DEBUG when it names it again. */
    private void reportUnknownTarget(String killerName, KillTarget target, String what, NodesSummary summary)
    {
        if (reportedUnknownTargets.size() > 1_000) {
            // a killer that names a new stranger every round must not grow this forever
            reportedUnknownTargets.clear();
        }
        if (reportedUnknownTargets.add(target)) {
            log.warn("The {} chose {}; ignored (logged once per target). {}", killerName, what, summary);
        }
        else {
            log.debug("The {} chose {} again; ignored", killerName, what);
        }
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
                            // a direct pool is the node's own, never an assigner's: it stays
                            .filter(pool -> pool.kind() == MemoryPoolKind.DIRECT || isVisibleToKillers(pool.poolId(), general))
                            .toList());
                })
                .toList();
    }

    private boolean isVisibleToKillers(String poolId, String generalPoolId)
    {
        if (poolId.equals(generalPoolId) || assigner == MemoryPoolAssigner.NONE) {
            return true;
        }
        return guard.call(assignerName, "the killers see pool '" + poolId + "'", () -> assigner.isVisibleToKillers(poolId), true);
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

    // what a policy returned, copied so that it cannot change under the loop; null stays null for the guard to report
    private static <T> Set<T> copyOrNull(Set<T> set)
    {
        return set == null ? null : Set.copyOf(set);
    }

    private static <K, V> Map<K, V> copyOrNull(Map<K, V> map)
    {
        return map == null ? null : Map.copyOf(map);
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

    @Override
    public List<ClusterQueryMemory> queries()
    {
        return queries;
    }

    /** The target of the last kill while it may still hold memory. Never waits for a round in progress. */
    public Optional<KillTarget> lastKillTarget()
    {
        CoordinatorState current = state;
        if (!current.killedQueries().isEmpty()) {
            return Optional.of(KillTarget.wholeQuery(current.killedQueries().iterator().next()));
        }
        return current.killedTasks().isEmpty() ? Optional.empty() : Optional.of(KillTarget.tasks(current.killedTasks()));
    }

    /** What this coordinator carries from round to round, and hands to the next coordinator. Never waits for a round. */
    public CoordinatorState coordinatorState()
    {
        return state;
    }

    /** Stops the loop; a round in progress ends on its own (its policy calls are bounded). Never waits for a round. */
    @Override
    public void close()
    {
        ScheduledFuture<?> scheduled = loop;
        if (scheduled != null) {
            scheduled.cancel(false);
        }
    }
}
