package io.memgov.cluster.hazelcast;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.AdvancedNetworkConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.JavaSerializationFilterConfig;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.ServerSocketEndpointConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastException;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import com.hazelcast.map.IMap;
import com.hazelcast.topic.ITopic;
import com.hazelcast.topic.Message;
import io.memgov.cluster.hazelcast.Envelope.Kind;
import io.memgov.cluster.hazelcast.MemberIdentity.Verification;
import io.memgov.cluster.hazelcast.MessageVerifier.Refusal;
import io.memgov.cluster.hazelcast.MessageVerifier.Verdict;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * One process's membership in a memgov cluster on embedded Hazelcast (community edition): it hosts some memgov
 * nodes, publishes their snapshots to every member, holds the newest verified snapshot of every live node, sends and
 * receives commands addressed to nodes, tells whether it holds the coordinator role, keeps the coordinator's state
 * for the next coordinator, and reports the nodes of members that leave. Snapshots, commands and the state are opaque
 * bytes here; their meaning belongs to the caller ({@link HazelcastClusterTransport} writes them as ClusterJson).
 * Thread-safe.
 *
 * <h2>Trust</h2>
 * The community edition has no TLS and no member authentication: any process that reaches the port and knows the
 * cluster name joins. So this class trusts nothing Hazelcast carries without a signature:
 * <ul>
 *     <li>each member signs, before it starts, a member attribute naming its address and the nodes it hosts
 *         ({@link MemberIdentity}); a member whose attribute does not verify is <em>untrusted</em>: it is never
 *         coordinator, its snapshots and commands are refused, its leaving reports no node;</li>
 *     <li>every snapshot, command and coordinator state carries an HMAC-SHA256 with a key derived from the shared secret, the cluster
 *         name, the message kind and the sender's member id, plus a sequence number and a timestamp: a forged,
 *         altered or replayed message, one from an untrusted member, one older or newer than {@code max-message-age},
 *         or a snapshot of a node its sender does not host, is refused, counted ({@link #refusedMessageCount()}) and
 *         logged once per sender and reason;</li>
 *     <li>the member binds only the configured address, refuses Hazelcast clients (no client endpoint), turns
 *         multicast, auto-detection, phone-home and Jet off, and filters Java deserialization to JDK and Hazelcast
 *         classes.</li>
 * </ul>
 * Without {@code shared-secret-file} (allowed on loopback only) the keys derive from the cluster name: that keeps
 * apart clusters that meet by accident, not an attacker. With a secret, a rogue member can still disturb the cluster
 * (drop or delay traffic, disturb Hazelcast's own operations, fake a split), but it cannot forge or replay a snapshot
 * or a command, take the coordinator role, or make a node look lost. Everyone holding the secret can sign as anyone.
 *
 * <h2>Coordinator</h2>
 * The coordinator is the oldest trusted member in Hazelcast's member list, provided the list holds at least
 * {@code coordinator-quorum} trusted members. The member list has the same order on every member, and trust depends
 * only on a member's attribute and address, so every member that has the same membership version agrees on the
 * coordinator, without a lease or the CP subsystem (which the community edition lacks). When the coordinator's
 * process dies, its connections close, Hazelcast removes it (measured: well under a second on loopback) and the next
 * oldest trusted member takes the role. A member that vanishes without closing its connections (power loss, a cut
 * network) is removed after {@code failure-detection-timeout}.
 *
 * <p><b>Split brain.</b> When the network splits, each side removes the other's members, reports their nodes lost,
 * and elects its own coordinator: until Hazelcast merges the sides again (only the master looks for other clusters,
 * every {@code hazelcast.merge.next.run.delay.seconds}, 120 s by default), there are two coordinators. With
 * {@code coordinator-quorum} set to a majority of the cluster's members, the minority side has no coordinator and
 * at most one side acts. When the sides merge, the smaller one's members rejoin with new member ids (Hazelcast changes
 * them), their nodes reappear in {@link #liveNodeIds()} and their snapshots come back with their next publication. A
 * node reported lost can therefore come back: callers that failed its queries must not expect its old state.
 *
 * <h2>Coordinator state</h2>
 * What the coordinator carries from round to round ({@link #saveState}) is signed like a message, numbered with a
 * version that only grows (a new coordinator continues from the version it loaded), published on a topic that every
 * member keeps the newest version of, and written to a Hazelcast map for members that join later. {@link #loadState}
 * takes the newest version of the two. The map's partitions may live on any member, an untrusted one included: a
 * stored state whose signature does not verify is ignored, and an old one a rogue puts back loses to the newer one
 * the members kept. Map operations never block a caller for longer than the timeout it gives: a partition owner that
 * hangs leaves the topic's copy.
 *
 * <h2>Delivery</h2>
 * Snapshots, commands and states travel on Hazelcast topics (not the reliable ones: those live in partitions, which an
 * untrusted member may own). Delivery is at most once: a message published while a connection breaks may be lost.
 * A command goes to the members that host its target nodes as the sender sees them when it sends it; a member that
 * joins later does not receive it, even replayed.
 *
 * <h2>Threads</h2>
 * Every {@link Listener} call runs on one thread owned by this membership, one call at a time, in the order the
 * events happened; a listener that throws is logged and called again for the next event. No call is made after
 * {@link #close()} returns.
 *
 * @since 0.1
 */
public final class HazelcastMembership
        implements AutoCloseable
{
    static final String SNAPSHOT_TOPIC = "memgov.snapshots";
    static final String COMMAND_TOPIC = "memgov.commands";
    static final String STATE_TOPIC = "memgov.coordinator-state";
    static final String STATE_MAP = "memgov.coordinator-state";
    static final String STATE_KEY = "state";

    private static final Logger log = LoggerFactory.getLogger(HazelcastMembership.class);
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9_\\-]{1,128}");
    private static final int MAX_LOGGED_REFUSALS = 256;
    private static final long CLOSE_TIMEOUT_SECONDS = 10;

    /**
     * What a membership tells its owner. Every call runs on the membership's own event thread, one at a time; calls
     * must not block for long (they delay every later event) and must not call {@link #close()} expecting to wait
     * for themselves.
     */
    public interface Listener
    {
        /** A verified command for one or more nodes of this member. */
        void onCommand(ReceivedCommand command);

        /**
         * Trusted members left the cluster (their process died, or they closed): these are the nodes they hosted,
         * never a node of this member, never empty. Called as soon as Hazelcast removes the member: at once when it
         * closes, about half a second after its process dies (measured on loopback: its connections close and
         * reconnecting fails), at most {@code failure-detection-timeout} after it vanished without closing them.
         *
         * @param lastSnapshots the last verified snapshot this member had of each lost node that published one
         */
        void onNodesLost(Set<String> nodeIds, Map<String, SignedSnapshot> lastSnapshots);

        /**
         * This member took the coordinator role ({@code true}) or lost it ({@code false}). A member that is
         * coordinator right after {@link #start} is told so once.
         */
        default void onCoordinatorChanged(boolean thisMemberIsCoordinator) {}
    }

    /** What this member currently sees: the trusted members, oldest first, and who hosts which node. */
    private record View(Map<UUID, MemberIdentity> trusted, Map<String, UUID> hosts, boolean coordinator)
    {
        static final View EMPTY = new View(Map.of(), Map.of(), false);
    }

    private record StoredSnapshot(SignedSnapshot snapshot, long sequence) {}

    /** A verified coordinator state; the larger version wins, then the later time, then the larger writer id. */
    private record StoredState(long version, long timestampMillis, UUID writerId, byte[] payload)
    {
        boolean newerThan(StoredState other)
        {
            if (other == null || version != other.version) {
                return other == null || version > other.version;
            }
            if (timestampMillis != other.timestampMillis) {
                return timestampMillis > other.timestampMillis;
            }
            return writerId.compareTo(other.writerId) > 0;
        }
    }

    private final HazelcastSettings settings;
    private final Set<String> localNodeIds;
    private final Listener listener;
    private final Clock clock;
    private final MessageKeys keys;
    private final HazelcastInstance hazelcast;
    private final MessageVerifier verifier;
    private final ITopic<byte[]> snapshotTopic;
    private final ITopic<byte[]> commandTopic;
    private final ITopic<byte[]> stateTopic;
    private final IMap<String, byte[]> stateMap;
    // the newest verified coordinator state this member wrote, received or loaded
    private final AtomicReference<StoredState> newestState = new AtomicReference<>();
    private final ScheduledExecutorService events;
    private final AtomicLong snapshotSequence = new AtomicLong();
    private final AtomicLong commandSequence = new AtomicLong();
    private final AtomicLong refusedMessages = new AtomicLong();
    private final ConcurrentMap<String, StoredSnapshot> snapshots = new ConcurrentHashMap<>();
    private final ConcurrentMap<UUID, Verification> verifications = new ConcurrentHashMap<>();
    private final Set<String> loggedRefusals = ConcurrentHashMap.newKeySet();
    private final Set<String> loggedConflicts = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean refusalLogFull = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Thread eventThread;
    private volatile View view = View.EMPTY;
    private volatile UUID lastLocalMemberId;
    private volatile boolean stoppedLogged;

    private HazelcastMembership(HazelcastSettings settings, Set<String> localNodeIds, Listener listener, Clock clock, MessageKeys keys,
            HazelcastInstance hazelcast)
    {
        this.settings = settings;
        this.localNodeIds = localNodeIds;
        this.listener = listener;
        this.clock = clock;
        this.keys = keys;
        this.hazelcast = hazelcast;
        this.verifier = new MessageVerifier(keys, clock, settings.maxMessageAge());
        this.snapshotTopic = hazelcast.getTopic(SNAPSHOT_TOPIC);
        this.commandTopic = hazelcast.getTopic(COMMAND_TOPIC);
        this.stateTopic = hazelcast.getTopic(STATE_TOPIC);
        this.stateMap = hazelcast.getMap(STATE_MAP);
        this.lastLocalMemberId = hazelcast.getCluster().getLocalMember().getUuid();
        this.events = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "memgov-hazelcast-" + hazelcast.getName());
            thread.setDaemon(true);
            eventThread = thread;
            return thread;
        });
    }

    /**
     * Starts an embedded Hazelcast member on the first free port of the configured range, joins the cluster, and
     * returns once this member sees the cluster (its coordinator state is known and told to the listener).
     *
     * @param settings never null
     * @param localNodeIds the nodes this process hosts: letters, digits, {@code _} and {@code -}, at most 128
     *        characters each; may be empty (a member that only coordinates or observes); a node id hosted by a
     *        running trusted member is refused
     * @param listener never null; see {@link Listener} for its thread
     * @throws IllegalArgumentException for a bad node id or an unreadable, too short or shared secret file, naming
     *         the problem
     * @throws IllegalStateException when no port of the range is free, when one of {@code localNodeIds} is already
     *         hosted by another member, or when this member's own identity does not verify
     */
    public static HazelcastMembership start(HazelcastSettings settings, Set<String> localNodeIds, Listener listener)
    {
        return start(settings, localNodeIds, listener, Clock.systemUTC());
    }

    static HazelcastMembership start(HazelcastSettings settings, Set<String> localNodeIds, Listener listener, Clock clock)
    {
        requireNonNull(settings, "settings is null");
        requireNonNull(listener, "listener is null");
        requireNonNull(clock, "clock is null");
        Set<String> nodeIds = Collections.unmodifiableSet(new TreeSet<>(requireNonNull(localNodeIds, "localNodeIds is null")));
        for (String nodeId : nodeIds) {
            checkNodeId(nodeId, "localNodeIds");
        }
        MessageKeys keys = MessageKeys.forSettings(settings);
        routeHazelcastLoggingToSlf4j();
        if (!keys.fromSharedSecret()) {
            log.info("Cluster '{}' signs its messages with keys derived from the cluster name, because no shared secret is configured: "
                    + "this keeps apart clusters that meet by accident, not an attacker", settings.clusterName());
        }
        HazelcastInstance hazelcast = startHazelcast(settings, keys, nodeIds);
        HazelcastMembership membership;
        try {
            membership = new HazelcastMembership(settings, nodeIds, listener, clock, keys, hazelcast);
        }
        catch (RuntimeException e) {
            hazelcast.shutdown();
            throw e;
        }
        try {
            membership.begin();
        }
        catch (RuntimeException e) {
            membership.close();
            throw e;
        }
        return membership;
    }

    private void begin()
    {
        Member local = hazelcast.getCluster().getLocalMember();
        Verification self = trustOf(local);
        if (!self.trusted()) {
            throw new IllegalStateException("This member's own identity does not verify: " + self.problem());
        }
        for (Member member : hazelcast.getCluster().getMembers()) {
            Verification verification = trustOf(member);
            if (!member.localMember() && verification.trusted()) {
                Set<String> taken = new TreeSet<>(verification.identity().nodeIds());
                taken.retainAll(localNodeIds);
                if (!taken.isEmpty()) {
                    throw new IllegalStateException(String.format(
                            "Nodes %s are already hosted by member %s at %s: a node is hosted by one member at a time",
                            taken, member.getUuid(), verification.identity().address()));
                }
            }
        }
        snapshotTopic.addMessageListener(message -> receive(message, Kind.SNAPSHOT));
        commandTopic.addMessageListener(message -> receive(message, Kind.COMMAND));
        stateTopic.addMessageListener(message -> receive(message, Kind.STATE));
        hazelcast.getCluster().addMembershipListener(new MembershipListener()
        {
            @Override
            public void memberAdded(MembershipEvent event)
            {
                dispatch(HazelcastMembership.this::refresh);
            }

            @Override
            public void memberRemoved(MembershipEvent event)
            {
                dispatch(HazelcastMembership.this::refresh);
            }
        });
        // a stop Hazelcast decides on its own (or a merge after a split) changes the view without a membership event
        hazelcast.getLifecycleService().addLifecycleListener(event -> dispatch(this::refresh));
        long pollMillis = settings.pollInterval().toMillis();
        events.scheduleWithFixedDelay(this::refresh, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
        try {
            events.submit(this::refresh).get();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while reading the member list", e);
        }
        catch (ExecutionException e) {
            throw new IllegalStateException("Reading the member list failed", e.getCause());
        }
        log.info("Member {} at {} joined cluster '{}' hosting nodes {}; {} trusted members, coordinator: {}",
                local.getUuid(), MemberIdentity.addressOf(local.getSocketAddress()), settings.clusterName(), localNodeIds,
                view.trusted().size(), view.coordinator());
    }

    /**
     * Signs and publishes the latest snapshot of a node this member hosts, to every member (this one included).
     * Callers publish every poll interval; a member that joins sees a node's snapshot from its next publication.
     *
     * @param nodeId one of this member's nodes
     * @param payload the snapshot, never null; not copied, so it must not change after the call
     * @throws IllegalArgumentException when {@code nodeId} is not hosted here
     * @throws IllegalStateException when this membership is closed
     */
    public void publishSnapshot(String nodeId, byte[] payload)
    {
        requireNonNull(nodeId, "nodeId is null");
        requireNonNull(payload, "payload is null");
        checkOpen();
        if (!localNodeIds.contains(nodeId)) {
            throw new IllegalArgumentException(String.format("Node '%s' is not hosted by this member. Its nodes: %s", nodeId, localNodeIds));
        }
        Envelope envelope = Envelope.snapshot(localMemberId(), snapshotSequence.incrementAndGet(), clock.millis(), nodeId, payload);
        snapshotTopic.publish(envelope.sign(keys));
    }

    /**
     * The newest verified snapshot of every node hosted by a trusted member that is still in the cluster, this
     * member's nodes included, keyed and sorted by node id. A node whose member left is gone from the map as soon as
     * this member has seen the member leave. A live node that has not published since this member joined is absent.
     */
    public Map<String, SignedSnapshot> liveSnapshots()
    {
        View current = view;
        Map<String, SignedSnapshot> live = new TreeMap<>();
        for (StoredSnapshot stored : snapshots.values()) {
            SignedSnapshot snapshot = stored.snapshot();
            if (snapshot.memberId().equals(current.hosts().get(snapshot.nodeId()))) {
                live.put(snapshot.nodeId(), snapshot);
            }
        }
        return Collections.unmodifiableMap(live);
    }

    /** The nodes hosted by the trusted members in the cluster, this member's included, sorted. */
    public Set<String> liveNodeIds()
    {
        return Collections.unmodifiableSet(new TreeSet<>(view.hosts().keySet()));
    }

    /** Whether this member holds the coordinator role now, as last told to {@link Listener#onCoordinatorChanged}. */
    public boolean isCoordinator()
    {
        return view.coordinator();
    }

    /**
     * Signs and sends a command to the trusted members hosting {@code targetNodeIds}, as this member sees them now;
     * this member receives it too when it hosts a target. At most once: see the class comment.
     *
     * @param targetNodeIds the nodes the command is for; empty means every node of every trusted member
     * @param payload the command, never null; not copied, so it must not change after the call
     * @return the target nodes that no trusted member hosts (they received nothing); empty when all were addressed
     * @throws IllegalStateException when this membership is closed
     */
    public Set<String> sendCommand(Set<String> targetNodeIds, byte[] payload)
    {
        requireNonNull(targetNodeIds, "targetNodeIds is null");
        requireNonNull(payload, "payload is null");
        checkOpen();
        View current = view;
        Set<UUID> members = new LinkedHashSet<>();
        Set<String> unrouted = new TreeSet<>();
        if (targetNodeIds.isEmpty()) {
            members.addAll(current.trusted().keySet());
        }
        for (String nodeId : targetNodeIds) {
            UUID host = current.hosts().get(requireNonNull(nodeId, "targetNodeIds contains null"));
            if (host == null) {
                unrouted.add(nodeId);
            }
            else {
                members.add(host);
            }
        }
        if (!members.isEmpty()) {
            Envelope envelope = Envelope.command(localMemberId(), commandSequence.incrementAndGet(), clock.millis(), targetNodeIds, members, payload);
            commandTopic.publish(envelope.sign(keys));
        }
        return Collections.unmodifiableSet(unrouted);
    }

    /**
     * Keeps the coordinator's state where the next coordinator finds it: signed, numbered one above the newest version
     * this member knows, published to every member and written to the state map without waiting for the map. Called
     * by the coordinator whenever its state changes.
     *
     * @param payload the state, never null; not copied, so it must not change after the call
     * @return the version written
     * @throws IllegalStateException when this membership is closed
     */
    public long saveState(byte[] payload)
    {
        requireNonNull(payload, "payload is null");
        checkOpen();
        StoredState stored;
        synchronized (newestState) {
            StoredState newest = newestState.get();
            long version = newest == null ? 1 : newest.version() + 1;
            stored = new StoredState(version, clock.millis(), localMemberId(), payload);
            newestState.set(stored);
        }
        byte[] signed = Envelope.state(stored.writerId(), stored.version(), stored.timestampMillis(), payload).sign(keys);
        stateTopic.publish(signed);
        stateMap.setAsync(STATE_KEY, signed).whenComplete((ignored, failure) -> {
            if (failure != null && !closed.get()) {
                // the topic's copy stands; only a member that joins later and then coordinates misses this version
                log.warn("Writing coordinator state version {} to map '{}' failed: {}", stored.version(), STATE_MAP, failure.toString());
            }
        });
        return stored.version();
    }

    /**
     * The newest coordinator state: the newest version this member received or wrote, or the one in the state map if
     * that is newer (a member that joined after the last save has only the map's). Called when this member takes the
     * coordinator role.
     *
     * @param mapTimeout how long to wait for the map; past it the received version stands, and a warning is logged
     * @return the state's payload, or empty when no coordinator saved one yet
     * @throws IllegalStateException when this membership is closed
     */
    public Optional<byte[]> loadState(Duration mapTimeout)
    {
        requireNonNull(mapTimeout, "mapTimeout is null");
        checkOpen();
        byte[] mapped = null;
        try {
            mapped = stateMap.getAsync(STATE_KEY).toCompletableFuture().get(mapTimeout.toNanos(), TimeUnit.NANOSECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        catch (TimeoutException e) {
            log.warn("The coordinator state map '{}' did not answer within {}; taking the newest state this member received", STATE_MAP,
                    HazelcastSettings.format(mapTimeout));
        }
        catch (ExecutionException | RuntimeException e) {
            log.warn("Reading the coordinator state map '{}' failed; taking the newest state this member received: {}", STATE_MAP, e.toString());
        }
        if (mapped != null) {
            Verdict verdict = verifier.verifyStored(mapped, Kind.STATE);
            if (verdict.accepted()) {
                Envelope envelope = verdict.envelope();
                remember(new StoredState(envelope.sequence(), envelope.timestampMillis(), envelope.senderId(), envelope.payload()));
            }
            else {
                refusedMessages.incrementAndGet();
                log.warn("Ignored the coordinator state stored in map '{}': {} ({})", STATE_MAP, verdict.refusal().description(), verdict.detail());
            }
        }
        return Optional.ofNullable(newestState.get()).map(StoredState::payload);
    }

    /** For tests: the members, trusted or not, that this member saw in the cluster when it last read the member list. */
    Set<UUID> seenMemberIdsForTests()
    {
        return Set.copyOf(verifications.keySet());
    }

    /**
     * For tests: waits until the event thread has handled everything dispatched to it before this call, listener
     * calls included, so that a test can tell that an event was handled without telling the listener anything.
     */
    void awaitEventsForTests(Duration timeout)
            throws InterruptedException, ExecutionException, TimeoutException
    {
        events.submit(() -> {}).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The map the state is stored in, for tests that play an untrusted member writing to it. */
    IMap<String, byte[]> stateMapForTests()
    {
        return stateMap;
    }

    private void remember(StoredState state)
    {
        synchronized (newestState) {
            if (state.newerThan(newestState.get())) {
                newestState.set(state);
            }
        }
    }

    /**
     * This member's current Hazelcast member id. It changes when the member rejoins after a split; once the member
     * has stopped (closed, or stopped by Hazelcast), it is the last id the member had.
     */
    public UUID localMemberId()
    {
        if (!closed.get()) {
            try {
                lastLocalMemberId = hazelcast.getCluster().getLocalMember().getUuid();
            }
            catch (HazelcastInstanceNotActiveException e) {
                // stopped under us: the last id stands
            }
        }
        return lastLocalMemberId;
    }

    /** The nodes this member hosts, sorted. */
    public Set<String> localNodeIds()
    {
        return localNodeIds;
    }

    /** Snapshots and commands refused since start, for any reason; for metrics and tests. */
    public long refusedMessageCount()
    {
        return refusedMessages.get();
    }

    /**
     * Leaves the cluster (a graceful Hazelcast shutdown: the other members see this member leave at once) and stops
     * the listener thread. Idempotent. Blocks until a listener call in progress returns, unless called from that call.
     */
    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            hazelcast.shutdown();
        }
        finally {
            events.shutdown();
            if (Thread.currentThread() != eventThread) {
                try {
                    if (!events.awaitTermination(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                        log.warn("A membership listener call is still running {}s after close", CLOSE_TIMEOUT_SECONDS);
                    }
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private void checkOpen()
    {
        if (closed.get()) {
            throw new IllegalStateException("This Hazelcast membership is closed");
        }
    }

    private void dispatch(Runnable task)
    {
        try {
            events.execute(task);
        }
        catch (RejectedExecutionException e) {
            // only after close(), when there is no one left to tell
            log.debug("Event after close dropped", e);
        }
    }

    /** Runs on the event thread only: computes the view and tells the listener what changed. */
    private void refresh()
    {
        if (closed.get()) {
            return;
        }
        try {
            View previous = view;
            View next = readView();
            view = next;
            Set<String> lost = new TreeSet<>();
            Map<String, SignedSnapshot> lastSnapshots = new TreeMap<>();
            for (Map.Entry<UUID, MemberIdentity> entry : previous.trusted().entrySet()) {
                if (!next.trusted().containsKey(entry.getKey())) {
                    verifier.forget(entry.getKey());
                    log.info("Member {} at {} left, hosting nodes {}", entry.getKey(), entry.getValue().address(), entry.getValue().nodeIds());
                    for (String nodeId : entry.getValue().nodeIds()) {
                        if (!next.hosts().containsKey(nodeId) && !localNodeIds.contains(nodeId)) {
                            lost.add(nodeId);
                            StoredSnapshot last = snapshots.get(nodeId);
                            if (last != null && last.snapshot().memberId().equals(entry.getKey())) {
                                lastSnapshots.put(nodeId, last.snapshot());
                            }
                        }
                    }
                }
            }
            snapshots.values().removeIf(stored -> !next.trusted().containsKey(stored.snapshot().memberId()));
            if (previous.coordinator() != next.coordinator()) {
                log.info("This member {} the coordinator role of cluster '{}'", next.coordinator() ? "takes" : "gives up", settings.clusterName());
                notifyListener("onCoordinatorChanged", () -> listener.onCoordinatorChanged(next.coordinator()));
            }
            if (!lost.isEmpty()) {
                notifyListener("onNodesLost", () -> listener.onNodesLost(Collections.unmodifiableSet(lost), Collections.unmodifiableMap(lastSnapshots)));
            }
        }
        catch (RuntimeException e) {
            // a scheduled task that throws is never run again: log and keep polling
            log.warn("Refreshing the cluster view failed; retrying in {}", HazelcastSettings.format(settings.pollInterval()), e);
        }
    }

    private View readView()
    {
        List<Member> members;
        UUID localId;
        try {
            members = new ArrayList<>(hazelcast.getCluster().getMembers());
            localId = hazelcast.getCluster().getLocalMember().getUuid();
        }
        catch (HazelcastInstanceNotActiveException e) {
            if (!stoppedLogged) {
                stoppedLogged = true;
                log.error("The Hazelcast member of cluster '{}' stopped on its own: this member sees no other member and is not coordinator",
                        settings.clusterName());
            }
            return View.EMPTY;
        }
        Map<UUID, MemberIdentity> trusted = new LinkedHashMap<>();
        Map<String, UUID> hosts = new HashMap<>();
        Set<UUID> present = new LinkedHashSet<>();
        for (Member member : members) {
            present.add(member.getUuid());
            Verification verification = trustOf(member);
            if (!verification.trusted()) {
                continue;
            }
            trusted.put(member.getUuid(), verification.identity());
            for (String nodeId : verification.identity().nodeIds()) {
                UUID older = hosts.putIfAbsent(nodeId, member.getUuid());
                if (older != null && loggedConflicts.add(nodeId + "/" + member.getUuid())) {
                    log.warn("Node {} is claimed by member {} and by the older member {}; the older one keeps it", nodeId, member.getUuid(), older);
                }
            }
        }
        verifications.keySet().retainAll(present);
        boolean coordinator = trusted.size() >= settings.coordinatorQuorum() && !trusted.isEmpty() && trusted.keySet().iterator().next().equals(localId);
        return new View(Collections.unmodifiableMap(trusted), Collections.unmodifiableMap(hosts), coordinator);
    }

    private Verification trustOf(Member member)
    {
        return verifications.computeIfAbsent(member.getUuid(), memberId -> {
            Verification verification = MemberIdentity.verify(member.getAttribute(MemberIdentity.ATTRIBUTE), member.getSocketAddress(), keys);
            if (!verification.trusted()) {
                log.warn("Member {} at {} is not trusted: {}. It cannot be coordinator, its snapshots and commands are refused, and its "
                        + "leaving reports no node", memberId, member.getSocketAddress(), verification.problem());
            }
            return verification;
        });
    }

    /** The verification of a message's sender; null when no member has that id. Runs on Hazelcast's event threads. */
    private Verification senderVerification(UUID memberId)
    {
        for (Member member : hazelcast.getCluster().getMembers()) {
            if (member.getUuid().equals(memberId)) {
                return trustOf(member);
            }
        }
        return null;
    }

    /** Runs on Hazelcast's event threads: verification is cheap, and only the listener call moves to the event thread. */
    private void receive(Message<byte[]> message, Kind kind)
    {
        if (closed.get()) {
            return;
        }
        byte[] bytes = message.getMessageObject();
        Verdict verdict = bytes == null
                ? new Verdict(null, Refusal.MALFORMED, "no bytes")
                : verifier.verify(bytes, kind, this::senderVerification);
        if (!verdict.accepted()) {
            refused(verdict, kind, message.getPublishingMember());
            return;
        }
        Envelope envelope = verdict.envelope();
        if (kind == Kind.STATE) {
            remember(new StoredState(envelope.sequence(), envelope.timestampMillis(), envelope.senderId(), envelope.payload()));
            return;
        }
        if (kind == Kind.SNAPSHOT) {
            SignedSnapshot snapshot = new SignedSnapshot(envelope.nodeId(), envelope.senderId(), envelope.timestampMillis(), envelope.payload());
            StoredSnapshot stored = new StoredSnapshot(snapshot, envelope.sequence());
            snapshots.merge(envelope.nodeId(), stored, (old, incoming) ->
                    old.snapshot().memberId().equals(incoming.snapshot().memberId()) && old.sequence() > incoming.sequence() ? old : incoming);
            return;
        }
        if (!envelope.targetMemberIds().contains(localMemberId())) {
            return;
        }
        Set<String> nodeIds = new TreeSet<>(localNodeIds);
        if (!envelope.targetNodeIds().isEmpty()) {
            nodeIds.retainAll(envelope.targetNodeIds());
        }
        if (nodeIds.isEmpty()) {
            log.debug("Command {} from {} addressed this member for nodes {} it does not host", envelope.sequence(), envelope.senderId(),
                    envelope.targetNodeIds());
            return;
        }
        ReceivedCommand command = new ReceivedCommand(envelope.senderId(), nodeIds, envelope.timestampMillis(), envelope.payload());
        dispatch(() -> {
            if (!closed.get()) {
                notifyListener("onCommand", () -> listener.onCommand(command));
            }
        });
    }

    private void refused(Verdict verdict, Kind kind, Member publisher)
    {
        refusedMessages.incrementAndGet();
        String sender = verdict.envelope() == null ? "an unknown sender" : "member " + verdict.envelope().senderId();
        String publishedBy = publisher == null ? "unknown" : publisher.getUuid() + " at " + publisher.getSocketAddress();
        if (verdict.refusal() == Refusal.NOT_A_MEMBER) {
            // expected for a moment around joins and leaves
            log.debug("Refused a {} from {}: {} ({})", kind, sender, verdict.refusal().description(), verdict.detail());
            return;
        }
        String key = (verdict.envelope() == null ? "publisher " + publishedBy : sender) + "/" + kind + "/" + verdict.refusal();
        if (loggedRefusals.size() < MAX_LOGGED_REFUSALS) {
            if (loggedRefusals.add(key)) {
                log.warn("Refused a {} from {} (published by {}) {}: {}. Further refusals of this kind from this sender are counted, not logged",
                        kind, sender, publishedBy, verdict.refusal().description(), verdict.detail());
            }
        }
        else if (refusalLogFull.compareAndSet(false, true)) {
            log.warn("Refused messages from more than {} senders or reasons; further refusals are counted, not logged", MAX_LOGGED_REFUSALS);
        }
    }

    private void notifyListener(String method, Runnable call)
    {
        try {
            call.run();
        }
        catch (RuntimeException e) {
            log.warn("Membership listener {} threw; it keeps receiving events", method, e);
        }
    }

    private static void checkNodeId(String nodeId, String name)
    {
        if (nodeId == null || !NODE_ID.matcher(nodeId).matches()) {
            throw new IllegalArgumentException(String.format(
                    "Invalid node id '%s' in %s: expected 1 to 128 letters, digits, '_' or '-'", nodeId, name));
        }
    }

    /**
     * The instance's loggers follow the configuration property set in {@link #hazelcastConfig}, but Hazelcast's static
     * loggers (used before and around an instance, e.g. for its warning about missing {@code --add-opens}) read the
     * system property once, at their first use: set it unless the host chose a logging type itself.
     */
    private static void routeHazelcastLoggingToSlf4j()
    {
        if (System.getProperty("hazelcast.logging.type") == null && System.getProperty("hazelcast.logging.class") == null) {
            System.setProperty("hazelcast.logging.type", "slf4j");
        }
    }

    private static HazelcastInstance startHazelcast(HazelcastSettings settings, MessageKeys keys, Set<String> nodeIds)
    {
        List<Integer> busy = new ArrayList<>();
        for (int port : settings.candidatePorts()) {
            InetSocketAddress address = new InetSocketAddress(settings.bindAddress(), port);
            if (!canBind(address)) {
                busy.add(port);
                continue;
            }
            // the identity names the address, so the member cannot let Hazelcast pick the port after the attribute is set
            String identity = new MemberIdentity(MemberIdentity.addressOf(address), nodeIds).encode(keys);
            try {
                return Hazelcast.newHazelcastInstance(hazelcastConfig(settings, port, identity));
            }
            catch (HazelcastException e) {
                if (!causedByBindException(e)) {
                    throw e;
                }
                // another process took the port between the probe and Hazelcast's bind
                busy.add(port);
            }
        }
        throw new IllegalStateException(String.format(
                "No free port for a Hazelcast member on %s: ports %s are in use. Widen '%s' (now %s) or start at another '%s' (now %s)",
                settings.bindAddress().getHostAddress(), busy, HazelcastSettings.PORT_COUNT, settings.portCount(), HazelcastSettings.PORT,
                settings.port()));
    }

    private static boolean canBind(InetSocketAddress address)
    {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(address);
            return true;
        }
        catch (IOException e) {
            return false;
        }
    }

    private static boolean causedByBindException(Throwable throwable)
    {
        for (Throwable cause = throwable; cause != null; cause = cause.getCause()) {
            if (cause instanceof BindException) {
                return true;
            }
        }
        return false;
    }

    static Config hazelcastConfig(HazelcastSettings settings, int port, String identity)
    {
        Config config = new Config();
        config.setClusterName(settings.clusterName());
        config.setInstanceName("memgov-" + settings.clusterName() + "-" + settings.bindAddress().getHostAddress() + "-" + port);
        config.setClassLoader(HazelcastMembership.class.getClassLoader());
        config.setProperty("hazelcast.logging.type", "slf4j");
        config.setProperty("hazelcast.phone.home.enabled", "false");
        int joinWaitSeconds = HazelcastSettings.wholeSecondsRoundedUp(settings.joinWait());
        config.setProperty("hazelcast.wait.seconds.before.join", Integer.toString(joinWaitSeconds));
        config.setProperty("hazelcast.max.wait.seconds.before.join", Integer.toString(4 * joinWaitSeconds));
        config.setProperty("hazelcast.socket.bind.any", "false");
        config.setProperty("hazelcast.socket.server.bind.any", "false");
        config.setProperty("hazelcast.socket.client.bind.any", "false");
        config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        // this member holds no partition data worth migrating: never let a graceful shutdown wait the default 600s
        config.setProperty("hazelcast.graceful.shutdown.max.wait", "5");
        config.setProperty("hazelcast.max.no.heartbeat.seconds",
                Integer.toString(HazelcastSettings.wholeSecondsRoundedUp(settings.failureDetectionTimeout())));
        config.getMemberAttributeConfig().setAttribute(MemberIdentity.ATTRIBUTE, identity);
        config.getJetConfig().setEnabled(false);
        // members exchange only byte arrays and Hazelcast's own types; refuse any other class an untrusted member sends
        JavaSerializationFilterConfig filter = new JavaSerializationFilterConfig();
        filter.getWhitelist().addPrefixes("com.hazelcast.", "java.", "javax.");
        config.getSerializationConfig().setJavaSerializationFilterConfig(filter);

        // advanced network with a member endpoint only: Hazelcast clients (which could publish without joining) are refused
        AdvancedNetworkConfig network = config.getAdvancedNetworkConfig().setEnabled(true);
        ServerSocketEndpointConfig endpoint = new ServerSocketEndpointConfig();
        endpoint.setPort(port).setPortAutoIncrement(false);
        endpoint.getInterfaces().setEnabled(true).addInterface(settings.bindAddress().getHostAddress());
        network.setMemberEndpointConfig(endpoint);
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setMembers(new ArrayList<>(settings.members()));
        return config;
    }
}
