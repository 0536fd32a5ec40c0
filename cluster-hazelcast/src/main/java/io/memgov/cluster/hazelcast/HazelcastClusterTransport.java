package io.memgov.cluster.hazelcast;

import io.memgov.json.ClusterJson;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransport;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.policy.MetricsSink;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * The cluster transport of engines in separate processes ({@code cluster.transport.policy=hazelcast}): each engine
 * runs an embedded Hazelcast member through a {@link HazelcastMembership}, and everything it carries is the documented
 * {@link ClusterJson} (version 1), signed by the membership.
 *
 * <ul>
 *     <li>{@link #publish}: each local node's snapshot goes to every member; every member keeps the newest of each
 *         live node.</li>
 *     <li>{@link #isCoordinator}: the oldest trusted member with {@code coordinator-quorum} trusted members in
 *         view; the role moves when its process dies (under a second on loopback).</li>
 *     <li>{@link #clusterSnapshots}: the newest snapshot of every node of a live trusted member, this process's own
 *         as published; a node whose member left is gone as soon as this member saw it leave.</li>
 *     <li>{@link #send}: to every trusted member, which applies it to its own nodes through
 *         {@link ClusterTransportContext#apply} (a kill goes everywhere, since any node may run the query).</li>
 *     <li>{@link #saveCoordinatorState} / {@link #loadCoordinatorState}: signed and versioned, on a topic every
 *         member keeps and in a Hazelcast map (see {@link HazelcastMembership#saveState}).</li>
 * </ul>
 *
 * <p><b>Node loss.</b> When a member leaves, each remaining member fails, on its own nodes, the queries that the lost
 * nodes' last snapshots showed running, with {@link ErrorCode#NODE_LOST}: the same command the coordinator's loop
 * sends when it sees the node gone, applied without waiting for it. This also covers the case the loop cannot see: the
 * coordinator's own process died, and the new coordinator never saw the lost node in a round of its own. A second
 * failure of the same query is a no-op on the node.
 *
 * <p><b>Metrics</b> (gauges in the engine's metrics under the transport family's scope): {@code coordinator} (1 or
 * 0), {@code live-nodes}, {@code snapshot-bytes} (the largest ClusterJson snapshot this process published last),
 * {@code refused-messages}.
 *
 * <p>Thread-safe: the loop's calls come from one thread at a time; commands and node losses arrive on the
 * membership's event thread.
 */
final class HazelcastClusterTransport
        implements ClusterTransport
{
    private static final Logger log = LoggerFactory.getLogger(HazelcastClusterTransport.class);
    // how long a new coordinator waits for the state map before it takes the state the topic brought
    private static final Duration MIN_STATE_TIMEOUT = Duration.ofMillis(200);
    private static final Duration MAX_STATE_TIMEOUT = Duration.ofSeconds(2);

    /** A remote node's snapshot as decoded from its bytes, kept while the bytes are the newest. */
    private record Decoded(byte[] payload, NodeSnapshot snapshot) {}

    private final HazelcastSettings settings;
    private final Map<String, NodeSnapshot> published = new ConcurrentHashMap<>();
    // touched by clusterSnapshots() only, which the loop calls from one thread at a time
    private final Map<String, Decoded> decoded = new HashMap<>();
    private final Set<String> reportedUnreadable = ConcurrentHashMap.newKeySet();
    private volatile ClusterTransportContext context;
    private volatile MetricsSink metrics = MetricsSink.NONE;
    private volatile HazelcastMembership membership;

    HazelcastClusterTransport(HazelcastSettings settings)
    {
        this.settings = requireNonNull(settings, "settings is null");
    }

    @Override
    public void start(ClusterTransportContext context)
    {
        requireNonNull(context, "context is null");
        if (membership != null) {
            throw new IllegalStateException("the Hazelcast cluster transport is already started");
        }
        this.context = context;
        this.metrics = context.metrics();
        Set<String> nodeIds = new LinkedHashSet<>();
        for (NodeId nodeId : context.localNodes()) {
            nodeIds.add(nodeId.toString());
        }
        membership = HazelcastMembership.start(settings, nodeIds, new Listener());
        updateGauges();
    }

    @Override
    public void publish(List<NodeSnapshot> localNodes)
    {
        HazelcastMembership started = started();
        long largest = 0;
        for (NodeSnapshot snapshot : localNodes) {
            byte[] bytes = ClusterJson.write(snapshot).getBytes(StandardCharsets.UTF_8);
            String nodeId = snapshot.nodeId().toString();
            started.publishSnapshot(nodeId, bytes);
            published.put(nodeId, snapshot);
            largest = Math.max(largest, bytes.length);
        }
        metrics.gauge("snapshot-bytes", largest);
        updateGauges();
    }

    @Override
    public boolean isCoordinator()
    {
        HazelcastMembership started = membership;
        return started != null && started.isCoordinator();
    }

    @Override
    public List<NodeSnapshot> clusterSnapshots()
    {
        Map<String, SignedSnapshot> live = started().liveSnapshots();
        Map<String, NodeSnapshot> snapshots = new TreeMap<>(published);
        for (SignedSnapshot signed : live.values()) {
            if (published.containsKey(signed.nodeId())) {
                // this process's own nodes: the snapshot as published, not as it came back over the topic
                continue;
            }
            NodeSnapshot snapshot = decode(signed);
            if (snapshot != null) {
                snapshots.put(signed.nodeId(), snapshot);
            }
        }
        decoded.keySet().retainAll(live.keySet());
        return List.copyOf(snapshots.values());
    }

    /** The node's snapshot; the previous one while its newest bytes cannot be read; null if none could be. */
    private NodeSnapshot decode(SignedSnapshot signed)
    {
        Decoded cached = decoded.get(signed.nodeId());
        if (cached != null && cached.payload() == signed.payload()) {
            return cached.snapshot();
        }
        try {
            NodeSnapshot snapshot = ClusterJson.readNodeSnapshot(new String(signed.payload(), StandardCharsets.UTF_8));
            if (!snapshot.nodeId().toString().equals(signed.nodeId())) {
                throw new IllegalArgumentException("it describes node " + snapshot.nodeId());
            }
            decoded.put(signed.nodeId(), new Decoded(signed.payload(), snapshot));
            return snapshot;
        }
        catch (IllegalArgumentException e) {
            // a member of another memgov version, or a bug: the node keeps its last readable snapshot rather than look lost
            if (reportedUnreadable.add(signed.nodeId())) {
                log.error("The snapshot of node {} from member {} is not a ClusterJson node snapshot this version reads ({}); the cluster "
                        + "loop keeps using its last readable one, if any", signed.nodeId(), signed.memberId(), e.getMessage());
            }
            return cached == null ? null : cached.snapshot();
        }
    }

    @Override
    public void send(ClusterCommand command)
    {
        requireNonNull(command, "command is null");
        // every node: a query may run anywhere, and tasks do not say where they run
        started().sendCommand(Set.of(), ClusterJson.write(command).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void saveCoordinatorState(CoordinatorState state)
    {
        requireNonNull(state, "state is null");
        long version = started().saveState(ClusterJson.write(state).getBytes(StandardCharsets.UTF_8));
        log.debug("Saved coordinator state version {}: {}", version, state);
    }

    @Override
    public Optional<CoordinatorState> loadCoordinatorState()
    {
        Optional<byte[]> stored = started().loadState(stateTimeout());
        if (stored.isEmpty()) {
            return Optional.empty();
        }
        try {
            CoordinatorState state = ClusterJson.readCoordinatorState(new String(stored.get(), StandardCharsets.UTF_8));
            log.info("Loaded the coordinator state the last coordinator saved: victims {} {}, out of memory since {}, pool assignment version {}",
                    state.killedQueries(), state.killedTasks(), state.outOfMemorySince(), state.assignment().version());
            return Optional.of(state);
        }
        catch (IllegalArgumentException e) {
            log.error("The stored coordinator state is not a ClusterJson coordinator state this version reads ({}); starting from none", e.getMessage());
            return Optional.empty();
        }
    }

    private Duration stateTimeout()
    {
        Duration poll = context.pollInterval();
        return poll.compareTo(MIN_STATE_TIMEOUT) < 0 ? MIN_STATE_TIMEOUT : poll.compareTo(MAX_STATE_TIMEOUT) > 0 ? MAX_STATE_TIMEOUT : poll;
    }

    @Override
    public void close()
    {
        HazelcastMembership started = membership;
        if (started != null) {
            started.close();
        }
    }

    @Override
    public String toString()
    {
        return "hazelcast cluster '" + settings.clusterName() + "'";
    }

    private HazelcastMembership started()
    {
        HazelcastMembership started = membership;
        if (started == null) {
            throw new IllegalStateException("the Hazelcast cluster transport is not started");
        }
        return started;
    }

    private void updateGauges()
    {
        HazelcastMembership started = membership;
        if (started != null) {
            metrics.gauge("coordinator", started.isCoordinator() ? 1 : 0);
            metrics.gauge("live-nodes", started.liveNodeIds().size());
            metrics.gauge("refused-messages", started.refusedMessageCount());
        }
    }

    /** Runs on the membership's event thread. */
    private final class Listener
            implements HazelcastMembership.Listener
    {
        @Override
        public void onCommand(ReceivedCommand received)
        {
            ClusterCommand command;
            try {
                command = ClusterJson.readCommand(new String(received.payload(), StandardCharsets.UTF_8));
            }
            catch (IllegalArgumentException e) {
                log.error("A command from member {} is not a ClusterJson command this version reads ({}); dropped", received.senderId(), e.getMessage());
                return;
            }
            context.apply(command);
        }

        @Override
        public void onNodesLost(Set<String> nodeIds, Map<String, SignedSnapshot> lastSnapshots)
        {
            for (String nodeId : nodeIds) {
                SignedSnapshot last = lastSnapshots.get(nodeId);
                if (last == null) {
                    log.warn("Node {} left the cluster before this member had a snapshot of it; no query to fail here", nodeId);
                    continue;
                }
                NodeSnapshot snapshot;
                try {
                    snapshot = ClusterJson.readNodeSnapshot(new String(last.payload(), StandardCharsets.UTF_8));
                }
                catch (IllegalArgumentException e) {
                    log.error("Node {} left the cluster and its last snapshot cannot be read ({}); the coordinator's loop fails its queries", nodeId, e.getMessage());
                    continue;
                }
                Set<QueryId> running = new TreeSet<>();
                for (QuerySnapshot query : snapshot.queries()) {
                    if (query.isRunning()) {
                        running.add(query.queryId());
                    }
                }
                if (running.isEmpty()) {
                    log.info("Node {} left the cluster; no query ran on it", nodeId);
                    continue;
                }
                log.warn("Node {} left the cluster; failing here the {} queries that ran on it: {}", nodeId, running.size(), running);
                List<QueryId> queries = new ArrayList<>(running);
                for (QueryId queryId : queries) {
                    context.apply(new ClusterCommand.KillQuery(queryId, ErrorCode.NODE_LOST,
                            "Query failed because node " + nodeId + ", on which it ran, left the cluster"));
                }
            }
            updateGauges();
        }

        @Override
        public void onCoordinatorChanged(boolean thisMemberIsCoordinator)
        {
            updateGauges();
        }
    }
}
