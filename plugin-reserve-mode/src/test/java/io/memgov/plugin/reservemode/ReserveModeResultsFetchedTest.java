package io.memgov.plugin.reservemode;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.testing.TestingClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A host says a client fetched results ({@link QueryMemoryContext#resultsFetched()}), and reserve mode's
 * {@code query-idle-timeout} counts from it, as TDengine's no-fetch timeout does: a query whose results are being read
 * is kept however long its memory stays the same, one whose host reports nothing is judged by its reservation changes.
 */
final class ReserveModeResultsFetchedTest
{
    private static final long MIB = 1L << 20;
    private static final QueryId READ = QueryId.of("read");
    private static final QueryId UNREAD = QueryId.of("unread");

    private final TestingClock clock = new TestingClock();

    private MemoryEngine engine()
    {
        ReserveModePoolFactory factory = new ReserveModePoolFactory(source -> new ControlledMemoryProbe(() -> 1024 * MIB, () -> 1024 * MIB));
        MemoryPlugin plugin = new MemoryPlugin()
        {
            @Override
            public List<MemoryPoolFactory> memoryPoolFactories()
            {
                return List.of(factory);
            }
        };
        return MemoryEngine.builder().withoutClassPathDiscovery().withoutJmx()
                .plugin(plugin)
                .clock(clock)
                .properties(Map.of(
                        "node.heap-size", "300MB",
                        "memory.heap-headroom-per-node", "100MB",
                        "query.max-memory-per-node", "150MB",
                        "memory.cluster.poll-interval", "1h",
                        "memory.pool.policy", "reserve-mode",
                        "memory.pool.reserve-mode.source", "heap",
                        "memory.pool.reserve-mode.min-reserved-memory", "100MB",
                        // the test runs the check itself, on its own clock
                        "memory.pool.reserve-mode.check-interval", "1h",
                        "memory.pool.reserve-mode.query-idle-timeout", "5h"))
                .build();
    }

    @Test
    void aQueryWhoseHostReportsFetchesIsKeptAndOneWithoutChangesIsRetired()
    {
        try (MemoryEngine engine = engine()) {
            NodeMemory node = engine.node(0);
            ReserveModeMemoryPool pool = (ReserveModeMemoryPool) node.pool();
            QueryMemoryContext read = node.createQuery(READ, QuerySession.of("alice"));
            QueryMemoryContext unread = node.createQuery(UNREAD, QuerySession.of("bob"));
            OperatorMemoryContext readOperator = read.addTask("0").addOperator("HashAggregation");
            OperatorMemoryContext unreadOperator = unread.addTask("0").addOperator("HashAggregation");
            readOperator.userMemory().setBytes(10 * MIB);
            unreadOperator.userMemory().setBytes(10 * MIB);

            // neither changes its memory; the host reports fetches of one of them, through its handle and a view
            clock.advance(Duration.ofHours(3));
            read.resultsFetched();
            clock.advance(Duration.ofHours(3));
            node.query(READ).orElseThrow().resultsFetched();
            clock.advance(Duration.ofHours(1));
            pool.runCheck();

            assertThat(pool.retiredWith(UNREAD)).contains(ErrorCode.QUERY_MEMORY_EXHAUSTED);
            assertThat(pool.retiredWith(READ)).isEmpty();
            assertThatThrownBy(() -> unreadOperator.userMemory().setBytes(11 * MIB))
                    .isInstanceOfSatisfying(QueryKilledException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.QUERY_MEMORY_EXHAUSTED))
                    .hasMessageContaining("with no reservation change for 7h");
            assertThat(readOperator.userMemory().setBytes(11 * MIB).isDone()).isTrue();

            // the client of the read query goes away: five hours after its last fetch it is retired too, although its
            // memory changed meanwhile
            clock.advance(Duration.ofHours(4));
            pool.runCheck();
            assertThat(pool.retiredWith(READ)).contains(ErrorCode.QUERY_MEMORY_EXHAUSTED);
            assertThatThrownBy(() -> readOperator.userMemory().setBytes(12 * MIB))
                    .isInstanceOf(QueryKilledException.class)
                    .hasMessageContaining("with no results fetched for 5h");

            read.close();
            unread.close();
            // a fetch reported after the query closed is ignored; the pool keeps no state for it
            read.resultsFetched();
            assertThat(pool.retiredWith(READ)).isEmpty();
            assertThat(pool.reservedBytes()).isZero();
        }
    }
}
