package io.memgov.micrometer;

import io.memgov.engine.EngineMetrics;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.MemoryRevoker;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

import static java.util.Objects.requireNonNull;

/**
 * Publishes a {@link MemoryEngine}'s figures as Micrometer meters, beside its JMX MBeans:
 *
 * <pre>{@code
 * new MemoryEngineMetrics(engine).bindTo(registry);
 * new MemoryEngineMetrics(engine, Tags.of("engine", "coordinator")).bindTo(registry);   // several engines in one registry
 * }</pre>
 *
 * <table>
 * <caption>Meters (sizes in bytes; every meter also carries the tags given to the constructor)</caption>
 * <tr><th>meter</th><th>type</th><th>tags</th><th>what</th></tr>
 * <tr><td>{@code memgov.pool.max}, {@code memgov.pool.reserved}, {@code memgov.pool.reserved.revocable},
 *     {@code memgov.pool.free}</td><td>gauge</td><td>{@code node}, {@code pool}</td><td>each pool of each node:
 *     {@code maxBytes}, user bytes, revocable bytes, {@code max - reserved - revocable} (negative when over-committed,
 *     as pools take every reservation, Trino's semantics)</td></tr>
 * <tr><td>{@code memgov.pool.blocked}</td><td>gauge</td><td>{@code node}, {@code pool}</td><td>1 while the pool's user
 *     reservations reach its maximum, as {@code /v1/memory}'s {@code blocked}, else 0</td></tr>
 * <tr><td>{@code memgov.node.queries}, {@code memgov.node.tasks}</td><td>gauge</td><td>{@code node}</td><td>queries
 *     and tasks running on the node</td></tr>
 * <tr><td>{@code memgov.revoke.requests}, {@code memgov.revoke.checks}</td><td>function counter</td><td>{@code node}</td>
 *     <td>revoke requests the node's revoking scheduler made, and the checks it ran (absent on a node without a spill
 *     strategy)</td></tr>
 * <tr><td>{@code memgov.cluster.queries.killed}, {@code memgov.cluster.tasks.killed}</td><td>function counter</td>
 *     <td></td><td>queries and tasks the cluster loop killed because the cluster was out of memory</td></tr>
 * <tr><td>{@code memgov.cluster.reserved.user}, {@code memgov.cluster.reserved.total}</td><td>gauge</td><td></td>
 *     <td>user, and user plus revocable, bytes over every pool of every node, as the loop's last round read them</td></tr>
 * <tr><td>{@code memgov.cluster.blocked.nodes}, {@code memgov.cluster.leaked.queries},
 *     {@code memgov.cluster.pool.assignment.version}</td><td>gauge</td><td></td><td>the loop's last round: nodes whose
 *     general pool was blocked, queries the leak detector flagged, the pool assignment in force</td></tr>
 * <tr><td>{@code memgov.query.failures}</td><td>counter</td><td>{@code code}, {@code target}</td><td>queries
 *     ({@code target=query}) and task sets ({@code target=tasks}) memory governance failed since binding, by
 *     {@link ErrorCode} name (kills are {@code CLUSTER_OUT_OF_MEMORY})</td></tr>
 * <tr><td>{@code memgov.policy.<name>}</td><td>gauge or function counter</td><td>{@code node}, {@code source},
 *     {@code policy}</td><td>everything policies and the cluster loop publish through their
 *     {@link io.memgov.spi.policy.MetricsSink} ({@link MemoryEngine#metrics()}), the kebab-case name turned into dotted
 *     words: {@code tracked-minus-actual-bytes}, the correction worker's drift, becomes
 *     {@code memgov.policy.tracked.minus.actual.bytes}. A gauge for {@code gauge(...)}, a function counter for
 *     {@code increment(...)}. Registered when the figure is first published, so a figure that appears after binding
 *     (the first kill, the first correction) gets its meter then.</td></tr>
 * </table>
 *
 * <p>The tags of {@code memgov.policy.*} say who published the figure: {@code source=node} with
 * {@code node=<node id>} for a node's pool, tracker and spill strategy (which share the node's sink, so {@code policy}
 * names the three, {@code <pool>/<tracker>/<spill strategy>}); {@code source=cluster-loop} for the cluster loop's own
 * figures; {@code source=heap} with {@code node=jvm} for the heap governor's (live, tracked and untracked heap, GC
 * pressure); otherwise {@code source} is the family's prefix ({@code memory.leak-detector}, {@code query.low-memory-killer},
 * ...) and {@code policy} the selected policy's name, with {@code node=cluster}. Every such meter has these three tags,
 * so registries that require one tag set per name (Prometheus) accept them all.
 *
 * <p>Gauges and function counters read the engine when the registry is scraped; the pool figures are read from the
 * pools themselves, the loop's from its counters. The binder holds the engine strongly, as the engine outlives the
 * registry in a host; bind it once per registry. Thread-safe.
 */
public final class MemoryEngineMetrics
        implements MeterBinder
{
    private final MemoryEngine engine;
    private final Tags tags;
    // Micrometer holds a function counter's state weakly: the published figures' readers are kept here, and this binder
    // is kept by the engine's metrics listener, so they live as long as the engine
    private final List<LongSupplier> publishedReaders = new CopyOnWriteArrayList<>();

    /** A binder for the engine's meters, with no tags beyond each meter's own. */
    public MemoryEngineMetrics(MemoryEngine engine)
    {
        this(engine, Tags.empty());
    }

    /**
     * A binder for the engine's meters.
     *
     * @param tags added to every meter, e.g. {@code engine=coordinator} when several engines share a registry; never null
     */
    public MemoryEngineMetrics(MemoryEngine engine, Iterable<Tag> tags)
    {
        this.engine = requireNonNull(engine, "engine is null");
        this.tags = Tags.of(requireNonNull(tags, "tags is null"));
    }

    @Override
    public void bindTo(MeterRegistry registry)
    {
        requireNonNull(registry, "registry is null");
        for (NodeMemory node : engine.nodes()) {
            bindNode(registry, node);
        }
        bindCluster(registry);
        bindFailures(registry);
        Map<String, String> nodeScopes = new LinkedHashMap<>();
        engine.nodes().forEach(node -> nodeScopes.put(node.nodeId().toString(), node.nodeId().toString()));
        engine.metrics().addListener((name, kind, value) -> bindPublished(registry, nodeScopes, name, kind, value));
    }

    private void bindNode(MeterRegistry registry, NodeMemory node)
    {
        Tags nodeTags = tags.and("node", node.nodeId().toString());
        for (MemoryPool pool : node.pools()) {
            Tags poolTags = nodeTags.and("pool", pool.id());
            bytesGauge(registry, "memgov.pool.max", "The pool's maximum", poolTags, pool, MemoryPool::maxBytes);
            bytesGauge(registry, "memgov.pool.reserved", "User bytes reserved in the pool; may exceed its maximum", poolTags, pool, MemoryPool::reservedBytes);
            bytesGauge(registry, "memgov.pool.reserved.revocable", "Revocable bytes reserved in the pool", poolTags, pool, MemoryPool::reservedRevocableBytes);
            bytesGauge(registry, "memgov.pool.free", "max - reserved - revocable; negative when over-committed", poolTags, pool, MemoryPool::freeBytes);
            Gauge.builder("memgov.pool.blocked", pool, blocked -> blocked.maxBytes() - blocked.reservedBytes() <= 0 ? 1 : 0)
                    .description("1 while the pool's user reservations reach its maximum, else 0")
                    .tags(poolTags)
                    .register(registry);
        }
        Gauge.builder("memgov.node.queries", node, counted -> counted.queries().size())
                .description("Queries running on the node")
                .tags(nodeTags)
                .register(registry);
        Gauge.builder("memgov.node.tasks", node, MemoryEngineMetrics::tasks)
                .description("Tasks running on the node")
                .tags(nodeTags)
                .register(registry);
        Optional<MemoryRevoker> revoker = engine.revokingScheduler(node.nodeId());
        revoker.ifPresent(scheduler -> {
            FunctionCounter.builder("memgov.revoke.requests", scheduler, MemoryRevoker::revokesRequested)
                    .description("Revoke requests the node's revoking scheduler made to operators holding revocable memory")
                    .tags(nodeTags)
                    .register(registry);
            FunctionCounter.builder("memgov.revoke.checks", scheduler, MemoryRevoker::checks)
                    .description("Checks the node's revoking scheduler ran")
                    .tags(nodeTags)
                    .register(registry);
        });
    }

    private void bindCluster(MeterRegistry registry)
    {
        FunctionCounter.builder("memgov.cluster.queries.killed", engine, counted -> counted.cluster().queriesKilledDueToOutOfMemory())
                .description("Queries the cluster loop killed because the cluster was out of memory")
                .tags(tags)
                .register(registry);
        FunctionCounter.builder("memgov.cluster.tasks.killed", engine, counted -> counted.cluster().tasksKilledDueToOutOfMemory())
                .description("Tasks the cluster loop killed because the cluster was out of memory")
                .tags(tags)
                .register(registry);
        bytesGauge(registry, "memgov.cluster.reserved.user", "User bytes over every pool of every node, as the cluster loop last read them", tags, engine,
                read -> read.cluster().clusterUserMemoryReservation());
        bytesGauge(registry, "memgov.cluster.reserved.total", "User plus revocable bytes over every pool of every node, as the cluster loop last read them", tags,
                engine, read -> read.cluster().clusterTotalMemoryReservation());
        Gauge.builder("memgov.cluster.blocked.nodes", engine, read -> read.cluster().blockedNodes())
                .description("Nodes whose general pool was blocked in the cluster loop's last round")
                .tags(tags)
                .register(registry);
        Gauge.builder("memgov.cluster.leaked.queries", engine, read -> read.cluster().numberOfLeakedQueries())
                .description("Queries the leak detector flagged in the cluster loop's last round")
                .tags(tags)
                .register(registry);
        Gauge.builder("memgov.cluster.pool.assignment.version", engine, read -> read.cluster().assignment().version())
                .description("Version of the pool assignment in force")
                .tags(tags)
                .register(registry);
    }

    private void bindFailures(MeterRegistry registry)
    {
        // registered up front for every code, so that a dashboard shows zero rather than no data before the first failure
        Map<String, Counter> counters = new LinkedHashMap<>();
        for (ErrorCode code : ErrorCode.values()) {
            for (String target : List.of("query", "tasks")) {
                counters.put(code.name() + "/" + target, Counter.builder("memgov.query.failures")
                        .description("Queries (target=query) and task sets (target=tasks) memory governance failed, by error code")
                        .tags(tags.and("code", code.name(), "target", target))
                        .register(registry));
            }
        }
        engine.addQueryFailureListener((queryId, tasks, errorCode, message) ->
                counters.get(errorCode.name() + "/" + (tasks.isEmpty() ? "query" : "tasks")).increment());
    }

    private void bindPublished(MeterRegistry registry, Map<String, String> nodeScopes, String name, EngineMetrics.Kind kind, LongSupplier value)
    {
        // names are <scope>.<kebab-case name>; the name itself has no dot (MetricsSink's contract)
        int dot = name.lastIndexOf('.');
        String scope = dot < 0 ? "" : name.substring(0, dot);
        String metric = name.substring(dot + 1);
        Tags published = tags.and(publisherTags(nodeScopes, scope));
        String meterName = "memgov.policy." + metric.replace('-', '.');
        String description = "Published by " + (scope.isEmpty() ? "the engine" : scope) + " as '" + metric + "' through its MetricsSink";
        publishedReaders.add(value);
        if (kind == EngineMetrics.Kind.COUNTER) {
            FunctionCounter.builder(meterName, value, LongSupplier::getAsLong).description(description).tags(published).register(registry);
        }
        else {
            Gauge.builder(meterName, value, LongSupplier::getAsLong).description(description).tags(published).strongReference(true).register(registry);
        }
    }

    private Tags publisherTags(Map<String, String> nodeScopes, String scope)
    {
        if (nodeScopes.containsKey(scope)) {
            String policies = engine.policyName(PolicyFamily.POOL) + "/" + engine.policyName(PolicyFamily.TRACKER) + "/" + engine.policyName(PolicyFamily.SPILL_STRATEGY);
            return Tags.of("node", scope, "source", "node", "policy", policies);
        }
        if (scope.equals("cluster")) {
            return Tags.of("node", "cluster", "source", "cluster-loop", "policy", "cluster-loop");
        }
        if (scope.equals("heap")) {
            // the engine's heap governor: JVM-wide figures (live, tracked, untracked heap, GC pressure)
            return Tags.of("node", "jvm", "source", "heap", "policy", "heap-governor");
        }
        for (PolicyFamily<?, ?, ?> family : engine.plugins().families()) {
            if (family.policyKey().equals(scope)) {
                return Tags.of("node", "cluster", "source", family.prefix(), "policy", engine.policyName(family));
            }
        }
        if (scope.equals("memory-pool-assigner")) {
            return Tags.of("node", "cluster", "source", PolicyFamily.POOL_ASSIGNER.prefix(), "policy", engine.policyName(PolicyFamily.POOL_ASSIGNER));
        }
        return Tags.of("node", "cluster", "source", scope.isEmpty() ? "engine" : scope, "policy", "unknown");
    }

    private static int tasks(NodeMemory node)
    {
        int tasks = 0;
        for (QueryMemoryContext query : node.queries()) {
            tasks += query.tasks().size();
        }
        return tasks;
    }

    private static <T> void bytesGauge(MeterRegistry registry, String name, String description, Tags tags, T source, ToDoubleFunction<T> bytes)
    {
        Gauge.builder(name, source, bytes).description(description).baseUnit(BaseUnits.BYTES).tags(tags).register(registry);
    }
}
