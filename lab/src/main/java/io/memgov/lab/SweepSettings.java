package io.memgov.lab;

import io.memgov.engine.MemoryEngineConfig;
import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The engine properties a sweep gives a workload in a child JVM of a given {@code -Xmx}, governed or not.
 *
 * <p>Governed ({@link Governance#ON}): the workload's own properties (over the lab's configuration) with nothing
 * hand-set about the heap, so that what the sweep measures is memgov's defaults.
 * <ul>
 * <li>{@code node.heap-size}, {@code memory.heap-headroom-per-node}, {@code node.heap-governed} and every
 * {@code memory.heap.*} key are dropped: each node governs an equal share of the child's max heap, keeps the default
 * 30% of it out of its pool, and follows the real heap with the default settings.</li>
 * <li>{@code query.max-memory-per-node} and {@code query.max-total-memory-per-node}, written for the workload's own
 * node size, become a share of the child's node: the same bytes as a percentage of {@code -Xmx / cluster.node-count},
 * at most 70% (the whole pool). A share keeps the child starting whatever {@code Runtime.maxMemory()} turns out to be
 * (it is a little under {@code -Xmx} for some collectors), and a limit over the pool would be refused at start-up.</li>
 * </ul>
 * Everything else (nodes, killers, cluster-wide limits, spilling) is the workload's.
 *
 * <p>Ungoverned ({@link Governance#OFF}): the same workload as an engine without memory governance runs it. memgov
 * still accounts every reservation (the operators are the same code) but grants each at once: every node's pool is
 * {@value #UNGOVERNED_NODE_HEAP} with no headroom and {@code node.heap-governed=false} (so the real heap is observed
 * and nothing follows it), and every query limit is as large; the workload's limits and heap keys are dropped. No
 * node is ever blocked, so nothing is revoked, spilled or killed: only the JVM's heap stops the workload.
 */
final class SweepSettings
{
    /** The engine's default {@code memory.heap-headroom-per-node}, in percent of a node's heap. */
    static final int DEFAULT_HEADROOM_PERCENT = 30;
    static final String HEAP_SETTINGS_PREFIX = "memory.heap.";
    static final List<String> DROPPED = List.of(MemoryEngineConfig.NODE_HEAP_SIZE, MemoryEngineConfig.HEAP_HEADROOM, MemoryEngineConfig.NODE_HEAP_GOVERNED);
    static final List<String> PER_NODE_LIMITS = List.of(MemoryEngineConfig.MAX_MEMORY_PER_NODE, MemoryEngineConfig.MAX_TOTAL_MEMORY_PER_NODE);
    static final List<String> CLUSTER_LIMITS = List.of(MemoryEngineConfig.MAX_MEMORY, MemoryEngineConfig.MAX_TOTAL_MEMORY);
    /** Each node's heap, pool and per-node query limits when the sweep runs a workload without governance. */
    static final String UNGOVERNED_NODE_HEAP = "1TB";

    private static final Pattern XMX = Pattern.compile("(\\d{1,7})([mMgG])");
    private static final long MIN_XMX_BYTES = 32L << 20;
    private static final long MAX_XMX_BYTES = 64L << 30;

    private SweepSettings() {}

    /** Whether memgov governs a child's memory. */
    enum Governance
    {
        /** memgov's heap defaults ({@link SweepSettings#governed}). */
        ON,
        /** every reservation granted at once: only the JVM's heap stops the workload ({@link SweepSettings#ungoverned}). */
        OFF;

        /** {@code on}, {@code off}: as {@code --governance} takes it and the table shows it. */
        String label()
        {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * @throws BadInputException naming {@code --governance}, the value and what is accepted
         */
        static Governance parse(String value)
        {
            for (Governance governance : values()) {
                if (governance.label().equals(value.trim().toLowerCase(Locale.ROOT))) {
                    return governance;
                }
            }
            throw new BadInputException("invalid value '" + value + "' for '--governance': expected on (memgov's defaults), off (every reservation "
                    + "granted, only the JVM's heap stops the workload) or both, separated by a comma");
        }

        Derived derive(Map<String, String> properties, long xmxBytes)
        {
            return this == ON ? governed(properties, xmxBytes) : ungoverned(properties);
        }
    }

    /**
     * @param properties the child's engine properties
     * @param changes what was dropped or converted, one line each, e.g. {@code node.heap-size=64MB dropped}
     */
    record Derived(Map<String, String> properties, List<String> changes)
    {
        Derived
        {
            properties = Map.copyOf(properties);
            changes = List.copyOf(changes);
        }
    }

    /**
     * @param properties the workload's properties over the lab's configuration
     * @param xmxBytes the child's {@code -Xmx}
     * @throws BadInputException naming the key and value when a per-node limit or the node count cannot be read
     */
    static Derived governed(Map<String, String> properties, long xmxBytes)
    {
        requireNonNull(properties, "properties is null");
        Map<String, String> child = new LinkedHashMap<>(properties);
        List<String> changes = new ArrayList<>();
        drop(child, changes, key -> DROPPED.contains(key) || key.startsWith(HEAP_SETTINGS_PREFIX));
        long nodes = nodeCount(properties);
        long nodeHeapBytes = xmxBytes / nodes;
        BigDecimal pool = BigDecimal.valueOf(100 - DEFAULT_HEADROOM_PERCENT);
        for (String key : PER_NODE_LIMITS) {
            String value = properties.get(key);
            if (value == null) {
                continue;
            }
            BigDecimal percent;
            String trimmed = value.trim();
            try {
                if (trimmed.endsWith("%")) {
                    percent = new BigDecimal(trimmed.substring(0, trimmed.length() - 1).trim());
                }
                else {
                    long bytes = PolicyConfig.parseSize(key, trimmed);
                    percent = BigDecimal.valueOf(bytes).multiply(BigDecimal.valueOf(100)).divide(BigDecimal.valueOf(nodeHeapBytes), 2, RoundingMode.DOWN);
                }
            }
            catch (PolicyConfigException | NumberFormatException e) {
                throw new BadInputException("invalid value '" + value + "' for '" + key + "' in the workload or configuration: "
                        + "expected a size such as 40MB or a share such as 30%");
            }
            String share = percent.min(pool).stripTrailingZeros().toPlainString() + "%";
            child.put(key, share);
            if (!share.equals(trimmed)) {
                changes.add(String.format(Locale.ROOT, "%s=%s became %s of the node's %s%s", key, value, share, DataSizes.succinct(nodeHeapBytes),
                        percent.compareTo(pool) > 0 ? " (capped at the pool)" : ""));
            }
        }
        return new Derived(child, changes);
    }

    /**
     * The workload without governance: its heap keys and memory limits dropped, every node's pool and every query
     * limit {@value #UNGOVERNED_NODE_HEAP} a node, {@code node.heap-governed=false}.
     *
     * @param properties the workload's properties over the lab's configuration
     * @throws BadInputException naming the key and value when the node count cannot be read
     */
    static Derived ungoverned(Map<String, String> properties)
    {
        requireNonNull(properties, "properties is null");
        Map<String, String> child = new LinkedHashMap<>(properties);
        List<String> changes = new ArrayList<>();
        drop(child, changes, key -> DROPPED.contains(key) || key.startsWith(HEAP_SETTINGS_PREFIX) || PER_NODE_LIMITS.contains(key) || CLUSTER_LIMITS.contains(key));
        long nodes = nodeCount(properties);
        long nodeBytes = PolicyConfig.parseSize(MemoryEngineConfig.NODE_HEAP_SIZE, UNGOVERNED_NODE_HEAP);
        String cluster = DataSizes.succinct(Math.multiplyExact(nodeBytes, nodes));
        child.put(MemoryEngineConfig.NODE_HEAP_GOVERNED, "false");
        child.put(MemoryEngineConfig.NODE_HEAP_SIZE, UNGOVERNED_NODE_HEAP);
        child.put(MemoryEngineConfig.HEAP_HEADROOM, "0B");
        child.put(MemoryEngineConfig.MAX_MEMORY_PER_NODE, UNGOVERNED_NODE_HEAP);
        child.put(MemoryEngineConfig.MAX_MEMORY, cluster);
        changes.add(String.format(Locale.ROOT, "pools of %s a node, not governing the heap (%s=false), query limits as large", UNGOVERNED_NODE_HEAP,
                MemoryEngineConfig.NODE_HEAP_GOVERNED));
        return new Derived(child, changes);
    }

    private static void drop(Map<String, String> properties, List<String> changes, Predicate<String> dropped)
    {
        for (String key : List.copyOf(properties.keySet())) {
            if (dropped.test(key)) {
                changes.add(key + "=" + properties.remove(key) + " dropped");
            }
        }
    }

    private static long nodeCount(Map<String, String> properties)
    {
        try {
            return PolicyConfig.parseLong(MemoryEngineConfig.NODE_COUNT, properties.getOrDefault(MemoryEngineConfig.NODE_COUNT, "1"), 1, 100_000);
        }
        catch (PolicyConfigException e) {
            throw new BadInputException(e.getMessage());
        }
    }

    /**
     * Reads a JVM heap size as {@code -Xmx} takes it, in megabytes or gigabytes: {@code 96m}, {@code 1g}.
     *
     * @throws BadInputException naming {@code --xmx}, the value and what is accepted
     */
    static long parseXmx(String value)
    {
        Matcher matcher = XMX.matcher(value.trim());
        if (matcher.matches()) {
            long bytes = Long.parseLong(matcher.group(1)) << (matcher.group(2).equalsIgnoreCase("g") ? 30 : 20);
            if (bytes >= MIN_XMX_BYTES && bytes <= MAX_XMX_BYTES) {
                return bytes;
            }
        }
        throw new BadInputException("invalid value '" + value + "' for '--xmx': expected heap sizes as -Xmx takes them, from 32m to 64g, "
                + "separated by commas, e.g. 96m,128m,1g");
    }
}
