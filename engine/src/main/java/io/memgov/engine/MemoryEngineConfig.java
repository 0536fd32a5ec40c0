package io.memgov.engine;

import io.memgov.engine.ConfigurationException;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;
import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;
import static io.memgov.spi.policy.DataSizes.succinct;
import static io.memgov.spi.policy.PolicyConfig.parseDuration;
import static io.memgov.spi.policy.PolicyConfig.parseBoolean;
import static io.memgov.spi.policy.PolicyConfig.parseLong;
import static io.memgov.spi.policy.PolicyConfig.parseRatio;
import static io.memgov.spi.policy.PolicyConfig.parseSize;
import static io.memgov.spi.policy.PolicyConfig.parseSizeOrShare;
import static java.util.Objects.requireNonNull;
import io.memgov.spi.query.NodeId;



/**
 * The engine's configuration, parsed strictly from one properties file. Keys follow Trino's names where Trino has
 * the setting. Construction fails with a {@link ConfigurationException} naming the key, the bad value and what is
 * accepted.
 */
public final class MemoryEngineConfig
{
    public static final String HEAP_HEADROOM = "memory.heap-headroom-per-node";
    public static final String MAX_MEMORY_PER_NODE = "query.max-memory-per-node";
    public static final String MAX_TOTAL_MEMORY_PER_NODE = "query.max-total-memory-per-node";
    public static final String MAX_REVOCABLE_MEMORY_PER_NODE = "query.max-revocable-memory-per-node";
    public static final String MAX_BROADCAST_MEMORY = "query.max-broadcast-memory";
    public static final String MAX_MEMORY = "query.max-memory";
    public static final String MAX_TOTAL_MEMORY = "query.max-total-memory";
    public static final String KILLER_DELAY = "query.low-memory-killer.delay";
    public static final String REVOKING_THRESHOLD = "memory-revoking-threshold";
    public static final String REVOKING_TARGET = "memory-revoking-target";
    public static final String POLL_INTERVAL = "memory.cluster.poll-interval";
    public static final String PLUGIN_DIR = "plugin.dir";
    public static final String NODE_HEAP_SIZE = "node.heap-size";
    public static final String NODE_COUNT = "cluster.node-count";
    public static final String RESERVATION_QUANTUM = "memory.reservation-quantum";
    public static final String NODE_HEAP_GOVERNED = "node.heap-governed";
    public static final String NODE_ID = "node.id";
    public static final String POLICY_CALL_TIMEOUT = "policy.call-timeout";
    public static final String NODE_DIRECT_MEMORY_SIZE = "node.direct-memory-size";
    public static final String MAX_DIRECT_MEMORY_PER_NODE = "query.max-direct-memory-per-node";
    /** The id of a node's direct pool in snapshots, JMX and JSON. */
    public static final String DIRECT_POOL_ID = "direct";
    // larger quanta would hide whole queries from the pool
    private static final long MAX_RESERVATION_QUANTUM = 1L << 30;
    // a faster loop only burns CPU on snapshots; a slower one leaves a blocked cluster waiting too long
    private static final Duration MIN_POLL_INTERVAL = Duration.ofMillis(10);
    private static final Duration MAX_POLL_INTERVAL = Duration.ofHours(1);
    private static final long MAX_NODE_COUNT = 100_000;
    // under 10 ms a healthy policy on a loaded machine would be abandoned; over an hour nothing is bounded in practice
    private static final Duration MIN_CALL_TIMEOUT = Duration.ofMillis(10);
    private static final Duration MAX_CALL_TIMEOUT = Duration.ofHours(1);

    private static final Set<String> SCALAR_KEYS = Set.of(
            HEAP_HEADROOM, MAX_MEMORY_PER_NODE, MAX_TOTAL_MEMORY_PER_NODE, MAX_REVOCABLE_MEMORY_PER_NODE, MAX_BROADCAST_MEMORY, MAX_MEMORY, MAX_TOTAL_MEMORY,
            KILLER_DELAY, REVOKING_THRESHOLD, REVOKING_TARGET, POLL_INTERVAL, PLUGIN_DIR, NODE_HEAP_SIZE, NODE_COUNT, RESERVATION_QUANTUM, NODE_HEAP_GOVERNED,
            POLICY_CALL_TIMEOUT, NODE_ID, NODE_DIRECT_MEMORY_SIZE, MAX_DIRECT_MEMORY_PER_NODE);

    private final long heapBytes;
    private final boolean heapGoverned;
    private final Optional<NodeId> nodeId;
    private final long jvmMaxHeapBytes;
    private final Duration policyCallTimeout;
    private final HeapSettings heapSettings;
    private final long headroomBytes;
    private final long maxQueryMemoryPerNode;
    private final Optional<Long> maxQueryTotalMemoryPerNode;
    private final Optional<Long> maxQueryRevocableMemoryPerNode;
    private final Optional<Long> maxQueryBroadcastMemory;
    private final long directMemoryBytes;
    private final long maxQueryDirectMemoryPerNode;
    private final long maxQueryMemory;
    private final long maxQueryTotalMemory;
    private final Duration killerDelay;
    private final double revokingThreshold;
    private final double revokingTarget;
    private final Duration pollInterval;
    private final Path pluginDir;
    private final boolean pluginDirExplicit;
    private final int nodeCount;
    private final ReservationQuantum reservationQuantum;
    private final List<PolicyFamily<?, ?, ?>> families;
    private final Map<PolicyFamily<?, ?, ?>, String> explicitPolicies;
    private final Map<PolicyFamily<?, ?, ?>, Map<String, String>> familyKeys;

    private MemoryEngineConfig(Map<String, String> properties, List<PolicyFamily<?, ?, ?>> families, long jvmMaxHeapBytes)
    {
        this(properties, families, jvmMaxHeapBytes, MemoryEngineConfig::jvmMaxDirectMemoryBytes);
    }

    private MemoryEngineConfig(Map<String, String> properties, List<PolicyFamily<?, ?, ?>> families, long jvmMaxHeapBytes, LongSupplier jvmMaxDirectMemory)
    {
        Map<String, String> remaining = new TreeMap<>(properties);

        this.jvmMaxHeapBytes = jvmMaxHeapBytes;
        nodeCount = (int) parseLong(NODE_COUNT, remaining.getOrDefault(NODE_COUNT, "1"), 1, MAX_NODE_COUNT);
        heapGoverned = parseBoolean(NODE_HEAP_GOVERNED, remaining.getOrDefault(NODE_HEAP_GOVERNED, "true"));
        nodeId = Optional.ofNullable(remaining.get(NODE_ID)).map(value -> parseNodeId(value, nodeCount));
        heapBytes = Optional.ofNullable(remaining.get(NODE_HEAP_SIZE))
                .map(value -> parseSize(NODE_HEAP_SIZE, value))
                // alone in its JVM a node governs the whole heap; simulated nodes sharing one get an equal share
                .orElse(jvmMaxHeapBytes / nodeCount);
        if (heapBytes <= 0) {
            throw new ConfigurationException(String.format("Invalid value '%s' for '%s': expected a positive size", properties.get(NODE_HEAP_SIZE), NODE_HEAP_SIZE));
        }
        if (heapGoverned && exceedsHeap(heapBytes, nodeCount, jvmMaxHeapBytes)) {
            String nodes = nodeCount == 1
                    ? "the node's heap of " + succinct(heapBytes) + " is larger than this JVM's max heap, " + succinct(jvmMaxHeapBytes)
                    : nodeCount + " nodes of " + succinct(heapBytes) + " share this JVM, whose max heap is " + succinct(jvmMaxHeapBytes);
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': %s; expected at most %s per node (the max heap divided by '%s'), a larger -Xmx, or '%s=false' "
                            + "if the nodes' memory is not this JVM's heap",
                    properties.get(NODE_HEAP_SIZE), NODE_HEAP_SIZE, nodes, succinct(jvmMaxHeapBytes / nodeCount), NODE_COUNT, NODE_HEAP_GOVERNED));
        }
        headroomBytes = parseSizeOrShare(HEAP_HEADROOM, remaining.getOrDefault(HEAP_HEADROOM, "30%"), heapBytes);
        maxQueryMemoryPerNode = parseSizeOrShare(MAX_MEMORY_PER_NODE, remaining.getOrDefault(MAX_MEMORY_PER_NODE, "30%"), heapBytes);
        maxQueryTotalMemoryPerNode = Optional.ofNullable(remaining.get(MAX_TOTAL_MEMORY_PER_NODE))
                .map(value -> parseSizeOrShare(MAX_TOTAL_MEMORY_PER_NODE, value, heapBytes));
        maxQueryRevocableMemoryPerNode = Optional.ofNullable(remaining.get(MAX_REVOCABLE_MEMORY_PER_NODE))
                .map(value -> parseSizeOrShare(MAX_REVOCABLE_MEMORY_PER_NODE, value, heapBytes));
        maxQueryBroadcastMemory = Optional.ofNullable(remaining.get(MAX_BROADCAST_MEMORY))
                .map(value -> parseSizeOrShare(MAX_BROADCAST_MEMORY, value, heapBytes));
        directMemoryBytes = parseDirectMemorySize(remaining.getOrDefault(NODE_DIRECT_MEMORY_SIZE, "0B"), nodeCount, jvmMaxDirectMemory);
        maxQueryDirectMemoryPerNode = parseMaxDirectMemoryPerNode(remaining.get(MAX_DIRECT_MEMORY_PER_NODE), directMemoryBytes);
        maxQueryMemory = parseSize(MAX_MEMORY, remaining.getOrDefault(MAX_MEMORY, "20GB"));
        maxQueryTotalMemory = remaining.containsKey(MAX_TOTAL_MEMORY)
                ? parseSize(MAX_TOTAL_MEMORY, remaining.get(MAX_TOTAL_MEMORY))
                : multiplyExactOrMax(maxQueryMemory, 2);
        killerDelay = parseDuration(KILLER_DELAY, remaining.getOrDefault(KILLER_DELAY, "0s"));
        revokingThreshold = parseRatio(REVOKING_THRESHOLD, remaining.getOrDefault(REVOKING_THRESHOLD, "0.9"));
        revokingTarget = parseRatio(REVOKING_TARGET, remaining.getOrDefault(REVOKING_TARGET, "0.5"));
        pollInterval = parseDuration(POLL_INTERVAL, remaining.getOrDefault(POLL_INTERVAL, "1s"));
        pluginDirExplicit = remaining.containsKey(PLUGIN_DIR);
        pluginDir = Path.of(remaining.getOrDefault(PLUGIN_DIR, "plugins"));
        reservationQuantum = parseReservationQuantum(remaining.getOrDefault(RESERVATION_QUANTUM, ReservationQuantum.adaptive().toString()));
        policyCallTimeout = parseDuration(POLICY_CALL_TIMEOUT, remaining.getOrDefault(POLICY_CALL_TIMEOUT, "5s"));
        if (!policyCallTimeout.isZero() && (policyCallTimeout.compareTo(MIN_CALL_TIMEOUT) < 0 || policyCallTimeout.compareTo(MAX_CALL_TIMEOUT) > 0)) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': expected 0 (policies are called on the engine's own threads, unbounded) or a duration between %s and %s such as 5s",
                    properties.get(POLICY_CALL_TIMEOUT), POLICY_CALL_TIMEOUT, PolicyConfig.format(MIN_CALL_TIMEOUT), PolicyConfig.format(MAX_CALL_TIMEOUT)));
        }
        heapSettings = HeapSettings.parse(remaining);
        SCALAR_KEYS.forEach(remaining::remove);
        HeapSettings.KEYS.forEach(remaining::remove);

        if (revokingTarget > revokingThreshold) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': it must not be larger than '%s' (%s)",
                    revokingTarget, REVOKING_TARGET, REVOKING_THRESHOLD, revokingThreshold));
        }
        if (pollInterval.compareTo(MIN_POLL_INTERVAL) < 0 || pollInterval.compareTo(MAX_POLL_INTERVAL) > 0) {
            throw new ConfigurationException(String.format("Invalid value '%s' for '%s': expected a duration between %s and %s such as 1s",
                    properties.get(POLL_INTERVAL), POLL_INTERVAL, PolicyConfig.format(MIN_POLL_INTERVAL), PolicyConfig.format(MAX_POLL_INTERVAL)));
        }
        maxQueryTotalMemoryPerNode.ifPresent(total -> {
            if (total < maxQueryMemoryPerNode) {
                throw new ConfigurationException(String.format(
                        "Invalid value '%s' for '%s': it must be at least '%s' (%s)",
                        properties.get(MAX_TOTAL_MEMORY_PER_NODE), MAX_TOTAL_MEMORY_PER_NODE, MAX_MEMORY_PER_NODE, succinct(maxQueryMemoryPerNode)));
            }
        });
        // Presto's start-up check compares the per-node total limit with the heap where one is set (it bounds user and
        // system memory together), Trino's the per-node limit; the message names the key at fault
        long perNode = maxQueryTotalMemoryPerNode.orElse(maxQueryMemoryPerNode);
        if (perNode + headroomBytes > heapBytes) {
            boolean total = maxQueryTotalMemoryPerNode.isPresent();
            throw new ConfigurationException(String.format(
                    "Invalid memory configuration. The sum of max %squery memory per node (%s, '%s') and heap headroom (%s, '%s') cannot be larger than the available heap memory (%s)",
                    total ? "total " : "", succinct(perNode), total ? MAX_TOTAL_MEMORY_PER_NODE : MAX_MEMORY_PER_NODE, succinct(headroomBytes), HEAP_HEADROOM,
                    succinct(heapBytes)));
        }
        if (maxQueryTotalMemory < maxQueryMemory) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': it must be at least '%s' (%s)",
                    properties.get(MAX_TOTAL_MEMORY), MAX_TOTAL_MEMORY, MAX_MEMORY, succinct(maxQueryMemory)));
        }

        this.families = List.copyOf(families);
        explicitPolicies = new HashMap<>();
        familyKeys = new HashMap<>();
        for (PolicyFamily<?, ?, ?> family : this.families) {
            familyKeys.put(family, new TreeMap<>());
            String selected = remaining.remove(family.policyKey());
            if (selected != null) {
                selected = selected.trim();
                if (selected.isEmpty()) {
                    throw new ConfigurationException(String.format("Invalid value '' for '%s': expected a policy name", family.policyKey()));
                }
                explicitPolicies.put(family, selected);
            }
        }
        for (Map.Entry<String, String> entry : remaining.entrySet()) {
            String key = entry.getKey();
            PolicyFamily<?, ?, ?> family = familyOf(key);
            if (family == null) {
                Set<String> accepted = new TreeSet<>(SCALAR_KEYS);
                this.families.forEach(each -> accepted.add(each.policyKey()));
                throw new ConfigurationException(PolicyConfig.unknownKey("", key, entry.getValue(), accepted).getMessage()
                        + ", and '<family>.<policy>.*' keys for the selected policies");
            }
            familyKeys.get(family).put(key.substring(family.prefix().length() + 1), entry.getValue());
        }
    }

    /** The engine's configuration, with memgov's own policy families. */
    public static MemoryEngineConfig fromProperties(Properties properties)
    {
        requireNonNull(properties, "properties is null");
        Map<String, String> map = new HashMap<>();
        for (String name : properties.stringPropertyNames()) {
            map.put(name, properties.getProperty(name));
        }
        return fromMap(map);
    }

    /** The engine's configuration, with memgov's own policy families. */
    public static MemoryEngineConfig fromMap(Map<String, String> properties)
    {
        return fromMap(properties, PolicyFamily.values());
    }

    /**
     * The engine's configuration, with these policy families (memgov's own and a host's).
     *
     * @throws ConfigurationException naming the key, the bad value and what is accepted
     */
    public static MemoryEngineConfig fromMap(Map<String, String> properties, List<PolicyFamily<?, ?, ?>> families)
    {
        requireNonNull(properties, "properties is null");
        requireNonNull(families, "families is null");
        try {
            return new MemoryEngineConfig(Map.copyOf(properties), families, Runtime.getRuntime().maxMemory());
        }
        catch (PolicyConfigException e) {
            throw new ConfigurationException(e.getMessage(), e);
        }
    }

    /** As {@link #fromMap(Map, List)}, for a JVM of this max heap and direct memory limit (tests). */
    static MemoryEngineConfig fromMap(Map<String, String> properties, List<PolicyFamily<?, ?, ?>> families, long jvmMaxHeapBytes, long jvmMaxDirectMemoryBytes)
    {
        try {
            return new MemoryEngineConfig(Map.copyOf(properties), families, jvmMaxHeapBytes, () -> jvmMaxDirectMemoryBytes);
        }
        catch (PolicyConfigException e) {
            throw new ConfigurationException(e.getMessage(), e);
        }
    }

    /** As {@link #fromMap(Map, List)}, for a JVM whose max heap is {@code jvmMaxHeapBytes} (tests). */
    static MemoryEngineConfig fromMap(Map<String, String> properties, List<PolicyFamily<?, ?, ?>> families, long jvmMaxHeapBytes)
    {
        requireNonNull(properties, "properties is null");
        requireNonNull(families, "families is null");
        try {
            return new MemoryEngineConfig(Map.copyOf(properties), families, jvmMaxHeapBytes);
        }
        catch (PolicyConfigException e) {
            throw new ConfigurationException(e.getMessage(), e);
        }
    }

    // 0 for no direct pool; 'auto' is the JVM's direct memory limit shared equally by the nodes of this JVM, '75%' a
    // share of it (room for direct buffers nobody reserves, such as spill-files' own)
    private static long parseDirectMemorySize(String value, int nodeCount, LongSupplier jvmMaxDirectMemory)
    {
        String trimmed = value.trim();
        boolean auto = trimmed.equalsIgnoreCase("auto");
        if (auto || trimmed.endsWith("%")) {
            long jvm = jvmMaxDirectMemory.getAsLong();
            long share;
            try {
                share = auto ? jvm : parseSizeOrShare(NODE_DIRECT_MEMORY_SIZE, trimmed, jvm);
            }
            catch (PolicyConfigException e) {
                throw new ConfigurationException(directMemorySizeExpected(value), e);
            }
            if (share / nodeCount <= 0) {
                throw new ConfigurationException(String.format(
                        "Invalid value '%s' for '%s': this JVM allows %s of direct memory (-XX:MaxDirectMemorySize) for %s node(s); "
                                + "expected a larger -XX:MaxDirectMemorySize, a size such as 256MB, or 0B for no direct pool",
                        value, NODE_DIRECT_MEMORY_SIZE, succinct(jvm), nodeCount));
            }
            return share / nodeCount;
        }
        try {
            return parseSize(NODE_DIRECT_MEMORY_SIZE, value);
        }
        catch (PolicyConfigException e) {
            throw new ConfigurationException(directMemorySizeExpected(value), e);
        }
    }

    private static String directMemorySizeExpected(String value)
    {
        return String.format(
                "Invalid value '%s' for '%s': expected 0B (no direct pool: direct memory counts in the heap pools), a size such as 256MB, "
                        + "auto (-XX:MaxDirectMemorySize, or the max heap where the flag is not set, divided by '%s') or a share of that such as 75%%",
                value, NODE_DIRECT_MEMORY_SIZE, NODE_COUNT);
    }

    private static long parseMaxDirectMemoryPerNode(String value, long directMemoryBytes)
    {
        if (value == null) {
            return directMemoryBytes == 0 ? Long.MAX_VALUE : directMemoryBytes;
        }
        if (directMemoryBytes == 0) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': the nodes have no direct pool ('%s' is 0B), so there is no direct memory to limit; set '%s' too, or remove '%s'",
                    value, MAX_DIRECT_MEMORY_PER_NODE, NODE_DIRECT_MEMORY_SIZE, NODE_DIRECT_MEMORY_SIZE, MAX_DIRECT_MEMORY_PER_NODE));
        }
        long bytes = parseSizeOrShare(MAX_DIRECT_MEMORY_PER_NODE, value, directMemoryBytes);
        if (bytes <= 0 || bytes > directMemoryBytes) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': expected a positive size up to the direct pool's %s ('%s'), or a share of it such as 50%%",
                    value, MAX_DIRECT_MEMORY_PER_NODE, succinct(directMemoryBytes), NODE_DIRECT_MEMORY_SIZE));
        }
        return bytes;
    }

    /**
     * The JVM's direct memory limit as JDK 17 sets it: {@code -XX:MaxDirectMemorySize} where the flag was given (0
     * included, which allows none), else the max heap ({@link Runtime#maxMemory()}); the max heap too on a JVM without
     * HotSpot's diagnostic bean.
     */
    static long jvmMaxDirectMemoryBytes()
    {
        HotSpotDiagnosticMXBean hotSpot;
        try {
            hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        }
        catch (IllegalArgumentException e) {
            hotSpot = null;
        }
        if (hotSpot != null) {
            VMOption option = hotSpot.getVMOption("MaxDirectMemorySize");
            if (option.getOrigin() != VMOption.Origin.DEFAULT) {
                return Long.parseLong(option.getValue());
            }
        }
        return Runtime.getRuntime().maxMemory();
    }

    private static ReservationQuantum parseReservationQuantum(String value)
    {
        if (value.trim().equals(ReservationQuantum.adaptive().toString())) {
            return ReservationQuantum.adaptive();
        }
        long bytes;
        try {
            bytes = parseSize(RESERVATION_QUANTUM, value);
        }
        catch (PolicyConfigException e) {
            bytes = -1;
        }
        if (bytes < 0 || bytes > MAX_RESERVATION_QUANTUM) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': expected adaptive (the default: quanta that grow with what an operator holds), 0B (every change reaches the pool) "
                            + "or a size up to 1GB such as 1MB",
                    value, RESERVATION_QUANTUM));
        }
        return ReservationQuantum.fixed(bytes);
    }

    private static boolean exceedsHeap(long heapBytes, int nodeCount, long jvmMaxHeapBytes)
    {
        try {
            return Math.multiplyExact(heapBytes, nodeCount) > jvmMaxHeapBytes;
        }
        catch (ArithmeticException e) {
            return true;
        }
    }

    private static NodeId parseNodeId(String value, int nodeCount)
    {
        if (nodeCount != 1) {
            throw new ConfigurationException(String.format(
                    "Invalid value '%s' for '%s': it names the one node of a process, but '%s' is %s; expected no '%s' (the nodes are node-0, node-1, ...) or '%s=1'",
                    value, NODE_ID, NODE_COUNT, nodeCount, NODE_ID, NODE_COUNT));
        }
        try {
            return NodeId.of(value);
        }
        catch (IllegalArgumentException e) {
            throw new ConfigurationException(String.format("Invalid value '%s' for '%s': %s", value, NODE_ID, e.getMessage()), e);
        }
    }

    private PolicyFamily<?, ?, ?> familyOf(String key)
    {
        // the longest prefix wins, so 'task.low-memory-killer.x' is never taken for the query killer
        PolicyFamily<?, ?, ?> best = null;
        for (PolicyFamily<?, ?, ?> family : families) {
            if (key.startsWith(family.prefix() + ".") && (best == null || family.prefix().length() > best.prefix().length())) {
                best = family;
            }
        }
        return best;
    }

    private static long multiplyExactOrMax(long value, int factor)
    {
        try {
            return Math.multiplyExact(value, factor);
        }
        catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * The heap each node governs: {@code node.heap-size}, or by default the JVM's max heap divided by
     * {@code cluster.node-count}. While {@link #heapGoverned()} the nodes' heaps never add up to more than the max heap.
     */
    public long heapBytes()
    {
        return heapBytes;
    }

    /**
     * {@code node.heap-governed} (default true): the nodes' memory is this JVM's heap, so their heaps are checked against
     * the max heap at start-up. False for nodes that only account figures a host reports (simulated clusters larger
     * than the JVM, pools that are not heap).
     */
    public boolean heapGoverned()
    {
        return heapGoverned;
    }

    /**
     * The id of node {@code index}: {@code node.id} for the one node of a process that runs a node of a larger cluster
     * (each process its own node), otherwise {@code node-<index>}.
     */
    public NodeId nodeId(int index)
    {
        if (index < 0 || index >= nodeCount) {
            throw new IllegalArgumentException("node index " + index + " is not in [0, " + nodeCount + ")");
        }
        return nodeId.orElseGet(() -> NodeId.of("node-" + index));
    }

    /** How the nodes follow the real heap: the heap observer's window, the GC-pressure thresholds, the floor. */
    public HeapSettings heapSettings()
    {
        return heapSettings;
    }

    /** The JVM's max heap ({@link Runtime#maxMemory()}) as this configuration read it. */
    public long jvmMaxHeapBytes()
    {
        return jvmMaxHeapBytes;
    }

    /**
     * {@code policy.call-timeout} (default 5s): how long the engine waits for a policy it calls periodically (killers,
     * leak detector, spill strategy, pool assigner) before abandoning the call; zero calls them on the engine's own
     * threads, without a bound.
     */
    public Duration policyCallTimeout()
    {
        return policyCallTimeout;
    }

    public long headroomBytes()
    {
        return headroomBytes;
    }

    /** Each node's pool budget: heap minus headroom. */
    public long poolBytes()
    {
        return heapBytes - headroomBytes;
    }

    public long maxQueryMemoryPerNode()
    {
        return maxQueryMemoryPerNode;
    }

    public Optional<Long> maxQueryTotalMemoryPerNode()
    {
        return maxQueryTotalMemoryPerNode;
    }

    /**
     * Presto's {@code experimental.max-revocable-memory-per-node}: the most revocable memory one query may hold on one
     * node ({@code query.max-revocable-memory-per-node}); empty for no limit (Trino has none).
     */
    public Optional<Long> maxQueryRevocableMemoryPerNode()
    {
        return maxQueryRevocableMemoryPerNode;
    }

    /**
     * Presto's {@code query.max-broadcast-memory}: the most memory one query may hold on one node in operators added as
     * broadcasts ({@code TaskMemoryContext.addBroadcastOperator}, a join's replicated build side), counted apart from
     * and on top of its user limit; empty for no such limit (Trino has none).
     */
    public Optional<Long> maxQueryBroadcastMemory()
    {
        return maxQueryBroadcastMemory;
    }

    /**
     * The size of each node's direct pool ({@code node.direct-memory-size}): 0 (the default) for none, when direct
     * memory counts as user memory in the heap pools; {@code auto} takes {@code -XX:MaxDirectMemorySize} (the max heap
     * where the flag is not set, as the JDK does) divided by {@code cluster.node-count}, and a share such as {@code 75%}
     * that part of it.
     */
    public long directMemoryBytes()
    {
        return directMemoryBytes;
    }

    /**
     * {@code query.max-direct-memory-per-node}: the most direct memory one query may hold on one node; by default the
     * whole direct pool; {@link Long#MAX_VALUE} without a direct pool.
     */
    public long maxQueryDirectMemoryPerNode()
    {
        return maxQueryDirectMemoryPerNode;
    }

    public long maxQueryMemory()
    {
        return maxQueryMemory;
    }

    public long maxQueryTotalMemory()
    {
        return maxQueryTotalMemory;
    }

    public Duration killerDelay()
    {
        return killerDelay;
    }

    public double revokingThreshold()
    {
        return revokingThreshold;
    }

    public double revokingTarget()
    {
        return revokingTarget;
    }

    public Duration pollInterval()
    {
        return pollInterval;
    }

    public Path pluginDir()
    {
        return pluginDir;
    }

    /** True when {@code plugin.dir} was set, so a missing directory is an error rather than "no plugins". */
    public boolean pluginDirExplicit()
    {
        return pluginDirExplicit;
    }

    public int nodeCount()
    {
        return nodeCount;
    }

    /**
     * {@code memory.reservation-quantum}: {@code adaptive} (the default) makes each local memory context reserve in
     * quanta that grow with what it holds, as Velox does, capped by a share of the pool; a size makes it reserve in
     * multiples of that size; {@code 0B} carries every change to the pool as it is made, as Trino does. See
     * {@link ReservationQuantum}.
     */
    public ReservationQuantum reservationQuantum()
    {
        return reservationQuantum;
    }

    /** The policy families this configuration knows, in order. */
    public List<PolicyFamily<?, ?, ?>> families()
    {
        return families;
    }

    /** The policy the family's key selects, if it was set. */
    public Optional<String> explicitPolicy(PolicyFamily<?, ?, ?> family)
    {
        return Optional.ofNullable(explicitPolicies.get(requireNonNull(family, "family is null")));
    }

    /**
     * Every key under the family's prefix except its policy key, with {@code <prefix>.} stripped (so
     * {@code reserve-mode.reserve-size}); the selection checks that they all configure the selected policy.
     */
    public Map<String, String> familyKeys(PolicyFamily<?, ?, ?> family)
    {
        return Map.copyOf(familyKeys.getOrDefault(requireNonNull(family, "family is null"), Map.of()));
    }

    /** The keys of policy {@code name} of the family, prefix stripped, for its factory. */
    public PolicyConfig policyConfig(PolicyFamily<?, ?, ?> family, String name)
    {
        String namePrefix = name + ".";
        Map<String, String> keys = new TreeMap<>();
        familyKeys(family).forEach((key, value) -> {
            if (key.startsWith(namePrefix)) {
                keys.put(key.substring(namePrefix.length()), value);
            }
        });
        return PolicyConfig.of(family.configPrefix(name), keys);
    }
}
