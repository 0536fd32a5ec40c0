package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolListener;
import io.memgov.spi.pool.ResizableMemoryPool;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * TDengine's reserve mode as a decorator over the engine's standard pool. The standard pool keeps the bookkeeping and
 * Trino's semantics against its budget, which is {@link MemoryPoolContext#poolBytes()} (the heap budget the engine
 * computed; reserve mode does not move it). This class adds TDengine's admission rules, checked in TDengine's order
 * ({@code mpChkQuotaOverflow}) before anything reaches the standard pool:
 *
 * <ol>
 * <li>A query that was already retired is refused with the error it was retired for (the first error is kept).</li>
 * <li>{@code single-query-max-memory}: a query whose user plus revocable bytes on this node would exceed the cap is
 *     refused with {@link ErrorCode#QUERY_MEMORY_UPPER_LIMIT} and retired.</li>
 * <li>The reserve: when {@code available - reserve <= bytes}, i.e. the request would leave available memory at or
 *     below the reserve, the request is refused with {@link ErrorCode#QUERY_MEMORY_EXHAUSTED} and the requester is
 *     retired. {@code available} is the figure the checker cached at its last poll, minus the net bytes this pool
 *     granted since that poll (never plus what was freed): without that, every request in one 10ms window would see
 *     the same figure and a burst could overshoot the reserve by many times.</li>
 * </ol>
 *
 * <p>A refusal throws {@link MemoryLimitExceededException} from {@code reserve}, {@code tryReserve} and
 * {@code reserveRevocable} alike (these are query failures, not a full pool), after every counter was reverted; the
 * query is failed on the node through {@link MemoryPoolContext#failQuery}. Retiring is a compare-and-set on the
 * query's error: a query keeps the first error it got and is failed once.
 *
 * <p><b>Checker.</b> Every {@code check-interval} on the context's scheduler: reads the probe, and while available
 * memory is below the reserve retires running queries largest first (user plus revocable bytes in this pool) until the
 * retired bytes cover the shortfall {@code reserve - available}. Bytes retired within the last
 * {@code retire-grace-period} count as covering it, so that queries are not retired again and again while the host
 * releases memory and the probe catches up (0 gives TDengine's behaviour). It also retires idle queries that still
 * hold memory, as TDengine's {@code queryNoFetchTimeoutSec} drops a query whose client stopped fetching:
 * {@code query-idle-timeout} after the query's last results fetch ({@link #queryResultsFetched}, which the engine calls
 * when the host reports a fetch). For a query whose host never reported a fetch here, idleness counts from its last
 * reservation change instead (reserve, tryReserve that succeeded, free, reserveRevocable, freeRevocable), so hosts
 * that do not report fetches still get idle queries retired; once a fetch was reported, reservation changes no longer
 * count, since a query that keeps working while its client went away is what the timeout is for. A probe that fails
 * is logged once and its last figure is kept.
 *
 * <p><b>Threads.</b> Lock-free: per-query atomics in a concurrent map, one atomic for the pool's net bytes.
 */
final class ReserveModeMemoryPool
        implements ResizableMemoryPool
{
    static final String REVOCABLE_TAG = "(revocable)";

    private static final System.Logger LOG = System.getLogger(ReserveModeMemoryPool.class.getName());
    private static final int ENDED_QUERY_STATISTICS_KEPT = 256;
    private static final int TOP_CONSUMERS = 3;
    private static final long NEVER_FETCHED = Long.MIN_VALUE;

    private final ResizableMemoryPool delegate;
    private final MemoryPoolContext context;
    private final ReserveModeConfig config;
    private final AvailableMemoryProbe probe;
    private final long reserveBytes;
    private final Clock clock;

    private final ConcurrentHashMap<QueryId, QueryState> queries = new ConcurrentHashMap<>();
    // user plus revocable bytes granted through this pool; compared with the value at the last poll
    private final AtomicLong netBytes = new AtomicLong();
    private volatile Sample sample;
    private final ConcurrentLinkedDeque<RetiredCredit> credits = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<QueryMemoryStatistics> endedQueries = new ConcurrentLinkedDeque<>();
    private final AtomicInteger endedQueryCount = new AtomicInteger();
    private final AtomicBoolean probeFailing = new AtomicBoolean();
    private volatile PolicyScheduler.Cancellable checker;

    ReserveModeMemoryPool(ResizableMemoryPool delegate, MemoryPoolContext context, ReserveModeConfig config, AvailableMemoryProbe probe, long reserveBytes, long availableBytes)
    {
        this.delegate = requireNonNull(delegate, "delegate is null");
        this.context = requireNonNull(context, "context is null");
        this.config = requireNonNull(config, "config is null");
        this.probe = requireNonNull(probe, "probe is null");
        if (reserveBytes < 0) {
            throw new IllegalArgumentException("reserveBytes is negative: " + reserveBytes);
        }
        this.reserveBytes = reserveBytes;
        this.clock = requireNonNull(context.clock(), "context.clock() is null");
        this.sample = new Sample(availableBytes, 0);
    }

    /** Starts the checker on the context's scheduler. */
    void start()
    {
        checker = context.scheduler().scheduleWithFixedDelay(this::runCheck, config.checkInterval(), config.checkInterval());
    }

    /** Stops the checker; the SPI has no close, so only tests call this. */
    void stop()
    {
        PolicyScheduler.Cancellable running = checker;
        if (running != null) {
            running.cancel();
        }
    }

    @Override
    public String id()
    {
        return delegate.id();
    }

    @Override
    public long maxBytes()
    {
        return delegate.maxBytes();
    }

    @Override
    public void setMaxBytes(long maxBytes)
    {
        delegate.setMaxBytes(maxBytes);
    }

    @Override
    public long reservedBytes()
    {
        return delegate.reservedBytes();
    }

    @Override
    public long reservedRevocableBytes()
    {
        return delegate.reservedRevocableBytes();
    }

    @Override
    public long freeBytes()
    {
        return delegate.freeBytes();
    }

    @Override
    public MemoryFuture reserve(TaskId taskId, String tag, long bytes)
    {
        checkArguments(taskId, tag, bytes);
        if (bytes == 0) {
            return delegate.reserve(taskId, tag, bytes);
        }
        QueryState state = admit(taskId.queryId(), tag, bytes);
        MemoryFuture future;
        try {
            future = delegate.reserve(taskId, tag, bytes);
        }
        catch (RuntimeException e) {
            revert(state, tag, bytes);
            throw e;
        }
        granted(state, tag, bytes);
        return future;
    }

    @Override
    public boolean tryReserve(TaskId taskId, String tag, long bytes)
    {
        checkArguments(taskId, tag, bytes);
        if (bytes == 0) {
            return delegate.tryReserve(taskId, tag, bytes);
        }
        QueryState state = admit(taskId.queryId(), tag, bytes);
        boolean reserved;
        try {
            reserved = delegate.tryReserve(taskId, tag, bytes);
        }
        catch (RuntimeException e) {
            revert(state, tag, bytes);
            throw e;
        }
        if (!reserved) {
            revert(state, tag, bytes);
            return false;
        }
        granted(state, tag, bytes);
        return true;
    }

    @Override
    public void free(TaskId taskId, String tag, long bytes)
    {
        checkArguments(taskId, tag, bytes);
        // the standard pool validates the release first, so a bad free changes nothing here either
        delegate.free(taskId, tag, bytes);
        if (bytes > 0) {
            released(taskId.queryId(), tag, bytes);
        }
    }

    @Override
    public MemoryFuture reserveRevocable(TaskId taskId, long bytes)
    {
        checkArguments(taskId, REVOCABLE_TAG, bytes);
        if (bytes == 0) {
            return delegate.reserveRevocable(taskId, bytes);
        }
        QueryState state = admit(taskId.queryId(), REVOCABLE_TAG, bytes);
        MemoryFuture future;
        try {
            future = delegate.reserveRevocable(taskId, bytes);
        }
        catch (RuntimeException e) {
            revert(state, REVOCABLE_TAG, bytes);
            throw e;
        }
        granted(state, REVOCABLE_TAG, bytes);
        return future;
    }

    @Override
    public boolean tryReserveRevocable(TaskId taskId, long bytes)
    {
        checkArguments(taskId, REVOCABLE_TAG, bytes);
        if (bytes == 0) {
            return delegate.tryReserveRevocable(taskId, bytes);
        }
        QueryState state = admit(taskId.queryId(), REVOCABLE_TAG, bytes);
        boolean reserved;
        try {
            // the standard pool's claim is atomic; the admission above was made first and is undone if it refuses
            reserved = delegate.tryReserveRevocable(taskId, bytes);
        }
        catch (RuntimeException e) {
            revert(state, REVOCABLE_TAG, bytes);
            throw e;
        }
        if (!reserved) {
            revert(state, REVOCABLE_TAG, bytes);
            return false;
        }
        granted(state, REVOCABLE_TAG, bytes);
        return true;
    }

    @Override
    public void freeRevocable(TaskId taskId, long bytes)
    {
        checkArguments(taskId, REVOCABLE_TAG, bytes);
        delegate.freeRevocable(taskId, bytes);
        if (bytes > 0) {
            released(taskId.queryId(), REVOCABLE_TAG, bytes);
        }
    }

    @Override
    public long queryReservedBytes(QueryId queryId)
    {
        return delegate.queryReservedBytes(queryId);
    }

    @Override
    public long queryRevocableBytes(QueryId queryId)
    {
        return delegate.queryRevocableBytes(queryId);
    }

    /**
     * Restarts the query's idle clock and makes fetches, not reservation changes, what counts from now on. A query
     * this pool holds nothing for has nothing to retire: its fetch is ignored.
     */
    @Override
    public void queryResultsFetched(QueryId queryId)
    {
        requireNonNull(queryId, "queryId is null");
        delegate.queryResultsFetched(queryId);
        QueryState state = queries.get(queryId);
        if (state != null) {
            state.lastFetchMillis = clock.millis();
        }
    }

    @Override
    public void forgetQuery(QueryId queryId)
    {
        requireNonNull(queryId, "queryId is null");
        delegate.forgetQuery(queryId);
        QueryState state = queries.get(queryId);
        if (state == null) {
            return;
        }
        if (state.statistics != null) {
            reportEnd(state.statistics.snapshot(queryId));
        }
        // a query forgotten while it still holds memory keeps its state, and with it its first error
        if (state.bytes.get() == 0) {
            queries.remove(queryId, state);
        }
    }

    @Override
    public void addListener(MemoryPoolListener listener)
    {
        requireNonNull(listener, "listener is null");
        // listeners must see this pool, not the one it decorates
        delegate.addListener(changed -> listener.onMemoryReserved(this));
    }

    @Override
    public MemoryPoolInfo info()
    {
        return delegate.info();
    }

    /** The reserve of available memory this pool keeps, in bytes. */
    long reserveBytes()
    {
        return reserveBytes;
    }

    /** Available memory as of the checker's last poll, in bytes. */
    long availableBytes()
    {
        return sample.availableBytes();
    }

    /** User plus revocable bytes granted through this pool and not yet freed; agrees with the standard pool at rest. */
    long trackedBytes()
    {
        return netBytes.get();
    }

    /** User plus revocable bytes this pool counts for the query (what the per-query cap is checked against). */
    long trackedBytes(QueryId queryId)
    {
        QueryState state = queries.get(queryId);
        return state == null ? 0 : state.bytes.get();
    }

    /** The error the query was retired with, if it was. */
    Optional<ErrorCode> retiredWith(QueryId queryId)
    {
        QueryState state = queries.get(queryId);
        return state == null ? Optional.empty() : Optional.ofNullable(state.failure.get()).map(Failure::errorCode);
    }

    /** The query's full statistics so far; empty when {@code full-statistics} is off or the query is unknown. */
    Optional<QueryMemoryStatistics> statistics(QueryId queryId)
    {
        QueryState state = queries.get(queryId);
        return state == null || state.statistics == null ? Optional.empty() : Optional.of(state.statistics.snapshot(queryId));
    }

    /** Statistics taken at the end of the last queries (at most 256, oldest first); empty when full statistics are off. */
    List<QueryMemoryStatistics> endedQueryStatistics()
    {
        return List.copyOf(endedQueries);
    }

    /** One poll of the checker: refresh available memory, retire below the reserve, retire idle queries. */
    void runCheck()
    {
        try {
            if (refreshAvailable()) {
                retireBelowReserve(sample.availableBytes());
            }
            retireIdleQueries();
        }
        catch (RuntimeException e) {
            // the scheduler would silently stop a periodic task that throws
            LOG.log(Level.WARNING, "Reserve-mode check failed on node " + context.nodeId(), e);
        }
    }

    private QueryState admit(QueryId queryId, String tag, long bytes)
    {
        QueryState state = queries.computeIfAbsent(queryId, ignored -> new QueryState(config.fullStatistics(), clock.millis()));
        Failure failure = state.failure.get();
        if (failure != null) {
            state.failed(tag, bytes);
            throw failure.exception();
        }

        long held = state.bytes.addAndGet(bytes);
        long limit = config.singleQueryMaxMemoryBytes();
        if (limit > 0 && held > limit) {
            state.bytes.addAndGet(-bytes);
            state.failed(tag, bytes);
            throw refuse(queryId, state, ErrorCode.QUERY_MEMORY_UPPER_LIMIT, String.format(
                    "Query memory upper limit is reached: query %s exceeded single-query-max-memory of %s on node %s %s",
                    queryId, DataSizes.succinct(limit), context.nodeId(), details(queryId, held - bytes, bytes)));
        }

        long net = netBytes.addAndGet(bytes);
        Sample current = sample;
        // what others were granted since the poll counts against the figure; what was freed does not (not yet visible)
        long available = current.availableBytes() - Math.max(0, net - bytes - current.baselineBytes());
        if (available - bytes <= reserveBytes) {
            netBytes.addAndGet(-bytes);
            state.bytes.addAndGet(-bytes);
            state.failed(tag, bytes);
            throw refuse(queryId, state, ErrorCode.QUERY_MEMORY_EXHAUSTED, String.format(
                    "Query memory exhausted: query %s would leave %s of available memory on node %s, at or below the reserve of %s %s",
                    queryId, DataSizes.succinct(available - bytes), context.nodeId(), DataSizes.succinct(reserveBytes), details(queryId, held - bytes, bytes)));
        }
        return state;
    }

    private void granted(QueryState state, String tag, long bytes)
    {
        state.lastActivityMillis = clock.millis();
        if (state.statistics != null) {
            state.statistics.tag(tag).reserved(bytes);
        }
    }

    private void revert(QueryState state, String tag, long bytes)
    {
        netBytes.addAndGet(-bytes);
        state.bytes.addAndGet(-bytes);
        state.failed(tag, bytes);
    }

    private void released(QueryId queryId, String tag, long bytes)
    {
        netBytes.addAndGet(-bytes);
        QueryState state = queries.get(queryId);
        if (state == null) {
            // reserved before this pool knew the query (cannot happen through this pool); nothing to count down
            return;
        }
        state.bytes.addAndGet(-bytes);
        state.lastActivityMillis = clock.millis();
        if (state.statistics != null) {
            state.statistics.tag(tag).released(bytes);
        }
    }

    private MemoryLimitExceededException refuse(QueryId queryId, QueryState state, ErrorCode errorCode, String message)
    {
        retire(queryId, state, errorCode, message);
        // the requester gets the query's first error, which may be another thread's
        return state.failure.get().exception();
    }

    /** Retires the query unless it already was; true if this call retired it. */
    private boolean retire(QueryId queryId, QueryState state, ErrorCode errorCode, String message)
    {
        if (!state.failure.compareAndSet(null, new Failure(errorCode, message))) {
            return false;
        }
        long held = queryBytes(queryId);
        long gracePeriodMillis = config.retireGracePeriod().toMillis();
        if (held > 0 && gracePeriodMillis > 0) {
            credits.add(new RetiredCredit(held, clock.millis() + gracePeriodMillis));
        }
        context.metrics().increment("retired-queries", 1);
        context.metrics().increment("retired-bytes", held);
        LOG.log(Level.INFO, "Retiring query {0} holding {1} on node {2}: {3}", queryId, DataSizes.succinct(held), context.nodeId(), message);
        context.failQuery(queryId, errorCode, message);
        return true;
    }

    private boolean refreshAvailable()
    {
        // read the baseline before the probe, so bytes granted while it reads are counted twice rather than never
        long baseline = netBytes.get();
        long available;
        try {
            available = probe.availableBytes();
        }
        catch (RuntimeException e) {
            if (probeFailing.compareAndSet(false, true)) {
                LOG.log(Level.WARNING, "Reserve mode on node " + context.nodeId() + " cannot read available memory, keeping the last figure "
                        + DataSizes.succinct(sample.availableBytes()) + ": " + e.getMessage(), e);
            }
            return false;
        }
        if (probeFailing.compareAndSet(true, false)) {
            LOG.log(Level.INFO, "Reserve mode on node {0} reads available memory again: {1}", context.nodeId(), DataSizes.succinct(available));
        }
        sample = new Sample(available, baseline);
        context.metrics().gauge("available-bytes", available);
        return true;
    }

    private void retireBelowReserve(long available)
    {
        long shortfall = reserveBytes - available;
        if (shortfall <= 0) {
            return;
        }
        long covered = pendingRetiredBytes();
        if (covered >= shortfall) {
            return;
        }
        MemoryPoolInfo info = delegate.info();
        Map<QueryId, Long> held = new HashMap<>(info.queryMemoryReservations());
        info.queryMemoryRevocableReservations().forEach((queryId, bytes) -> held.merge(queryId, bytes, Long::sum));
        List<Map.Entry<QueryId, Long>> candidates = held.entrySet().stream()
                .filter(entry -> entry.getValue() > 0)
                .filter(entry -> retiredWith(entry.getKey()).isEmpty())
                .sorted(Map.Entry.<QueryId, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .collect(Collectors.toList());
        for (Map.Entry<QueryId, Long> candidate : candidates) {
            if (covered >= shortfall) {
                break;
            }
            QueryId queryId = candidate.getKey();
            QueryState state = queries.computeIfAbsent(queryId, ignored -> new QueryState(config.fullStatistics(), clock.millis()));
            String message = String.format(
                    "Query memory exhausted: available memory %s on node %s fell below the reserve of %s; retired query %s holding %s, largest first",
                    DataSizes.succinct(available), context.nodeId(), DataSizes.succinct(reserveBytes), queryId, DataSizes.succinct(candidate.getValue()));
            if (retire(queryId, state, ErrorCode.QUERY_MEMORY_EXHAUSTED, message)) {
                covered += candidate.getValue();
            }
        }
    }

    private long pendingRetiredBytes()
    {
        long now = clock.millis();
        long pending = 0;
        for (Iterator<RetiredCredit> iterator = credits.iterator(); iterator.hasNext(); ) {
            RetiredCredit credit = iterator.next();
            if (credit.expiresAtMillis() <= now) {
                iterator.remove();
            }
            else {
                pending += credit.bytes();
            }
        }
        return pending;
    }

    private void retireIdleQueries()
    {
        long timeoutMillis = config.queryIdleTimeout().toMillis();
        if (timeoutMillis <= 0) {
            return;
        }
        long now = clock.millis();
        queries.forEach((queryId, state) -> {
            long lastFetch = state.lastFetchMillis;
            boolean fetched = lastFetch != NEVER_FETCHED;
            long idleMillis = now - (fetched ? lastFetch : state.lastActivityMillis);
            if (state.failure.get() == null && state.bytes.get() > 0 && idleMillis >= timeoutMillis) {
                retire(queryId, state, ErrorCode.QUERY_MEMORY_EXHAUSTED, String.format(
                        "Query memory exhausted: query %s held %s on node %s with %s for %s (query-idle-timeout %s)",
                        queryId, DataSizes.succinct(state.bytes.get()), context.nodeId(), fetched ? "no results fetched" : "no reservation change",
                        ReserveModeConfig.format(java.time.Duration.ofMillis(idleMillis)), ReserveModeConfig.format(config.queryIdleTimeout())));
            }
        });
    }

    private void reportEnd(QueryMemoryStatistics statistics)
    {
        endedQueries.addLast(statistics);
        if (endedQueryCount.incrementAndGet() > ENDED_QUERY_STATISTICS_KEPT) {
            endedQueries.pollFirst();
            endedQueryCount.decrementAndGet();
        }
        if (!statistics.balanced()) {
            context.metrics().increment("unreleased-queries", 1);
            String remainders = statistics.tags().stream()
                    .filter(tag -> tag.remainingBytes() != 0)
                    .map(tag -> String.format("%s=%s (reserved %d times, released %d times)",
                            tag.tag(), DataSizes.succinct(tag.remainingBytes()), tag.reservations(), tag.releases()))
                    .collect(Collectors.joining(", ", "{", "}"));
            LOG.log(Level.WARNING, "Query {0} ended on node {1} with {2} reserved and never released: REMAINING {3}",
                    statistics.queryId(), context.nodeId(), DataSizes.succinct(statistics.remainingBytes()), remainders);
        }
    }

    private long queryBytes(QueryId queryId)
    {
        return delegate.queryReservedBytes(queryId) + delegate.queryRevocableBytes(queryId);
    }

    /** Trino's failure details: {@code [Allocated: 100MB, Delta: 1B, Top Consumers: {HashAggregation=100MB}]}. */
    private String details(QueryId queryId, long allocatedBytes, long deltaBytes)
    {
        List<MemoryAllocation> allocations = delegate.info().queryMemoryAllocations().getOrDefault(queryId, List.of());
        String top = allocations.stream()
                .sorted(Comparator.comparingLong(MemoryAllocation::allocationBytes).reversed())
                .limit(TOP_CONSUMERS)
                .map(allocation -> allocation.tag() + "=" + DataSizes.succinct(allocation.allocationBytes()))
                .collect(Collectors.joining(", ", "{", "}"));
        return String.format("[Allocated: %s, Delta: %s, Top Consumers: %s]", DataSizes.succinct(allocatedBytes), DataSizes.succinct(deltaBytes), top);
    }

    private static void checkArguments(TaskId taskId, String tag, long bytes)
    {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(tag, "tag is null");
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
    }

    /** The probe's figure and the pool's net bytes when it was read. */
    private record Sample(long availableBytes, long baselineBytes) {}

    /** Bytes of a retired query that count as released until the probe has had time to see them go. */
    private record RetiredCredit(long bytes, long expiresAtMillis) {}

    private record Failure(ErrorCode errorCode, String message)
    {
        MemoryLimitExceededException exception()
        {
            return new MemoryLimitExceededException(errorCode, message);
        }
    }

    private static final class QueryState
    {
        // user plus revocable bytes of the query in this pool; the per-query cap is checked against it
        final AtomicLong bytes = new AtomicLong();
        final AtomicReference<Failure> failure = new AtomicReference<>();
        final Statistics statistics;
        // the last reservation change: what idleness counts from until the host reports a fetch
        volatile long lastActivityMillis;
        // the last results fetch the host reported, or NEVER_FETCHED
        volatile long lastFetchMillis = NEVER_FETCHED;

        QueryState(boolean fullStatistics, long nowMillis)
        {
            this.statistics = fullStatistics ? new Statistics() : null;
            this.lastActivityMillis = nowMillis;
        }

        void failed(String tag, long bytes)
        {
            if (statistics != null) {
                statistics.tag(tag).failed(bytes);
            }
        }
    }

    private static final class Statistics
    {
        private final ConcurrentHashMap<String, TagCounters> tags = new ConcurrentHashMap<>();

        TagCounters tag(String tag)
        {
            return tags.computeIfAbsent(tag, ignored -> new TagCounters());
        }

        QueryMemoryStatistics snapshot(QueryId queryId)
        {
            List<TagMemoryStatistics> snapshot = new ArrayList<>();
            tags.forEach((tag, counters) -> snapshot.add(counters.snapshot(tag)));
            snapshot.sort(Comparator.comparing(TagMemoryStatistics::tag));
            return new QueryMemoryStatistics(queryId, snapshot);
        }
    }

    private static final class TagCounters
    {
        private final LongAdder reservations = new LongAdder();
        private final LongAdder reservedBytes = new LongAdder();
        private final LongAdder failedReservations = new LongAdder();
        private final LongAdder failedBytes = new LongAdder();
        private final LongAdder releases = new LongAdder();
        private final LongAdder releasedBytes = new LongAdder();

        void reserved(long bytes)
        {
            reservations.increment();
            reservedBytes.add(bytes);
        }

        void failed(long bytes)
        {
            failedReservations.increment();
            failedBytes.add(bytes);
        }

        void released(long bytes)
        {
            releases.increment();
            releasedBytes.add(bytes);
        }

        TagMemoryStatistics snapshot(String tag)
        {
            return new TagMemoryStatistics(tag, reservations.sum(), reservedBytes.sum(), failedReservations.sum(), failedBytes.sum(),
                    releases.sum(), releasedBytes.sum());
        }
    }
}
