package io.memgov.engine.internal.node;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.pool.MemoryFuture;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A random sequence of operations on one thread against a simple model of the contract: which calls throw, which
 * try calls are refused, which futures are done, and what every counter holds afterwards.
 */
final class MemoryContextModelTest
{
    private static final long KB = 1024;
    private static final long POOL = 2048 * KB;
    private static final long LIMIT = 1536 * KB;
    private static final int SLOTS = 4;
    private static final AtomicInteger QUERIES = new AtomicInteger();
    private static MemoryEngine engine;

    enum Kind { USER, SYSTEM, REVOCABLE }

    enum Type { SET, TRY, ADD, CLOSE }

    record Action(int slot, Kind kind, Type type, long value) {}

    @BeforeContainer
    static void startEngine()
    {
        engine = NodeMemoryScenariosTest.engine(Map.of(
                "node.heap-size", "64MB",
                "memory.pool.fixed.max-size", POOL + "B",
                "query.max-memory-per-node", LIMIT + "B"));
    }

    @AfterContainer
    static void stopEngine()
    {
        engine.close();
    }

    @Provide
    Arbitrary<List<Action>> actions()
    {
        return Combinators.combine(
                        Arbitraries.integers().between(0, SLOTS - 1),
                        Arbitraries.of(Kind.class),
                        Arbitraries.frequencyOf(
                                net.jqwik.api.Tuple.of(4, Arbitraries.just(Type.SET)),
                                net.jqwik.api.Tuple.of(3, Arbitraries.just(Type.TRY)),
                                net.jqwik.api.Tuple.of(3, Arbitraries.just(Type.ADD)),
                                net.jqwik.api.Tuple.of(1, Arbitraries.just(Type.CLOSE))),
                        Arbitraries.longs().between(-700 * KB, 700 * KB))
                .as(Action::new)
                .list().ofMaxSize(60);
    }

    @Property(tries = 300)
    void contextsBehaveLikeTheModel(@ForAll("actions") List<Action> actions)
    {
        MemoryPool pool = engine.node(0).pool();
        // every try starts from an empty pool: the previous try closed everything it opened
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), POOL));
        QueryMemoryContext query = engine.node(0).createQuery(QueryId.of("q" + QUERIES.incrementAndGet()), QuerySession.of("alice"));
        List<TaskMemoryContext> tasks = List.of(query.addTask("0"), query.addTask("1"));
        OperatorMemoryContext[] operators = new OperatorMemoryContext[SLOTS];
        long[][] model = new long[SLOTS][Kind.values().length];
        for (int slot = 0; slot < SLOTS; slot++) {
            operators[slot] = tasks.get(slot % 2).addOperator("op" + slot % 3);
        }

        for (Action action : actions) {
            OperatorMemoryContext operator = operators[action.slot()];
            int kind = action.kind().ordinal();
            LocalMemoryContext memory = switch (action.kind()) {
                case USER -> operator.userMemory();
                case SYSTEM -> operator.systemMemory();
                case REVOCABLE -> operator.revocableMemory();
            };
            long current = model[action.slot()][kind];
            switch (action.type()) {
                case CLOSE -> {
                    operator.close();
                    model[action.slot()] = new long[Kind.values().length];
                    operators[action.slot()] = tasks.get(action.slot() % 2).addOperator("op" + action.slot() % 3);
                }
                case TRY -> {
                    long target = Math.abs(action.value());
                    boolean expected = target <= current || fits(model, action.kind(), target - current);
                    assertThat(memory.trySetBytes(target)).as(action.toString()).isEqualTo(expected);
                    if (expected) {
                        model[action.slot()][kind] = target;
                    }
                }
                case SET, ADD -> {
                    long target = action.type() == Type.SET ? Math.abs(action.value()) : Math.max(0, current + action.value());
                    long delta = target - current;
                    if (action.kind() == Kind.USER && delta > 0 && sum(model, Kind.USER, -1) + delta > LIMIT) {
                        assertThatThrownBy(() -> memory.setBytes(target)).as(action.toString()).isInstanceOf(MemoryLimitExceededException.class);
                    }
                    else {
                        MemoryFuture future = action.type() == Type.SET ? memory.setBytes(target) : memory.addBytes(target - current);
                        model[action.slot()][kind] = target;
                        boolean guaranteed = action.kind() == Kind.USER && sum(model, Kind.USER, action.slot() % 2) <= TaskMemoryContext.GUARANTEED_BYTES;
                        boolean expectDone = delta <= 0 || guaranteed || free(model) > 0;
                        assertThat(future.isDone()).as(action + " future done").isEqualTo(expectDone);
                    }
                }
            }
            assertMatches(query, tasks, operators, model, pool);
        }

        query.close();
        assertThat(pool.info()).isEqualTo(MemoryPoolInfo.empty(pool.id(), POOL));
        assertThat(query.tracker().usedBytes()).isZero();
        assertThat(engine.node(0).rootTracker().usedBytes()).isZero();
    }

    private static boolean fits(long[][] model, Kind kind, long delta)
    {
        if (kind == Kind.USER && sum(model, Kind.USER, -1) + delta > LIMIT) {
            return false;
        }
        return free(model) - delta >= 0;
    }

    private static long free(long[][] model)
    {
        return POOL - sum(model, Kind.USER, -1) - sum(model, Kind.SYSTEM, -1) - sum(model, Kind.REVOCABLE, -1);
    }

    /** Bytes of one kind, in one task (0 or 1) or in the whole query (-1). */
    private static long sum(long[][] model, Kind kind, int task)
    {
        long total = 0;
        for (int slot = 0; slot < SLOTS; slot++) {
            if (task < 0 || slot % 2 == task) {
                total += model[slot][kind.ordinal()];
            }
        }
        return total;
    }

    private static void assertMatches(QueryMemoryContext query, List<TaskMemoryContext> tasks, OperatorMemoryContext[] operators, long[][] model, MemoryPool pool)
    {
        for (int slot = 0; slot < SLOTS; slot++) {
            assertThat(operators[slot].userMemory().bytes()).isEqualTo(model[slot][Kind.USER.ordinal()]);
            assertThat(operators[slot].systemMemory().bytes()).isEqualTo(model[slot][Kind.SYSTEM.ordinal()]);
            assertThat(operators[slot].revocableMemory().bytes()).isEqualTo(model[slot][Kind.REVOCABLE.ordinal()]);
        }
        for (int task = 0; task < 2; task++) {
            assertThat(tasks.get(task).userBytes()).isEqualTo(sum(model, Kind.USER, task));
            assertThat(tasks.get(task).systemBytes()).isEqualTo(sum(model, Kind.SYSTEM, task));
            assertThat(tasks.get(task).revocableBytes()).isEqualTo(sum(model, Kind.REVOCABLE, task));
        }
        long user = sum(model, Kind.USER, -1);
        long system = sum(model, Kind.SYSTEM, -1);
        long revocable = sum(model, Kind.REVOCABLE, -1);
        assertThat(query.userBytes()).isEqualTo(user);
        assertThat(query.systemBytes()).isEqualTo(system);
        assertThat(query.revocableBytes()).isEqualTo(revocable);
        assertThat(query.tracker().usedBytes()).isEqualTo(user + system);
        assertThat(pool.reservedBytes()).isEqualTo(user + system);
        assertThat(pool.reservedRevocableBytes()).isEqualTo(revocable);
        assertThat(pool.queryReservedBytes(query.queryId())).isEqualTo(user + system);
        assertThat(pool.queryRevocableBytes(query.queryId())).isEqualTo(revocable);
        assertThat(pool.freeBytes()).isEqualTo(free(model));
    }
}
