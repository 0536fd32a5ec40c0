package io.memgov.arrow;

import io.memgov.engine.LocalMemoryContext;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.apache.arrow.memory.AllocationManager;
import org.apache.arrow.memory.AllocationReservation;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.BufferLedger;
import org.apache.arrow.memory.OutOfMemoryException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The adapter's exactness claim as a property: at every quiescent point (after each step, with the reconcile calls
 * ArrowOperatorMemory's javadoc asks of a host, and no others), each memgov context of two operators holds exactly
 * what Arrow's counters say the allocators reserving there hold, and the node's pool and Arrow's root agree.
 *
 * <p>Two operators in two queries: A with a user allocator, a revocable allocator and a child of its user allocator
 * (inheriting its listener), B with a user allocator. Random steps allocate (sizes Arrow rounds, sizes above its chunk
 * size that it does not, and sizes a limit or the full pool refuse), release, transfer between any two allocators
 * (through the adapter, or with Arrow's own {@code transferOwnership} followed by the host's reconcile), retain in
 * another allocator (so that releasing the owner moves ownership without a callback), use or drop an
 * {@code AllocationReservation}, and close an allocator (its buffers first) and open another in its place. At the
 * end every buffer is released and both operators closed: no leak, and the pool and the root are back to zero.
 */
final class ArrowAccountingPropertyTest
{
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;
    // a user request past the query limit, a revocable one past the pool: both refused before Arrow counts them
    private static final long REFUSED = 2L << 30;

    @Property(tries = 500)
    void memgovEqualsArrowAtEveryQuiescentPoint(@ForAll("steps") List<Step> steps, @ForAll("quanta") String quantum, @ForAll("directPools") String directPool)
    {
        try (MemoryEngine engine = TestEngines.engine("1536MB", "1GB", Map.of("memory.reservation-quantum", quantum, "node.direct-memory-size", directPool));
                ArrowNodeMemory arrow = ArrowNodeMemory.builder(engine.node(0)).maxWait(Duration.ZERO).build()) {
            World world = new World(engine.node(0), arrow);
            for (Step step : steps) {
                world.apply(step);
                world.checkExact(step);
            }
            world.finish();

            // the paths that call no listener must really be taken, or the property proves little
            Statistics.label("ownership moved by a release").collect(world.sharedReleases > 0);
            Statistics.label("Arrow's own transfer").collect(world.rawTransfers > 0);
            Statistics.label("transfer through the adapter").collect(world.adapterTransfers > 0);
            Statistics.label("reservation").collect(world.reservations > 0);
            Statistics.label("refused").collect(world.refusals > 0);
            Statistics.label("allocator closed").collect(world.allocatorsClosed > 0);
        }
        for (String label : List.of("ownership moved by a release", "Arrow's own transfer", "transfer through the adapter", "reservation", "refused",
                "allocator closed")) {
            Statistics.label(label).coverage(coverage -> coverage.check(true).percentage(percent -> percent >= 10));
        }
    }

    @Provide
    Arbitrary<String> quanta()
    {
        return Arbitraries.of("0B", "1MB");
    }

    /** No direct pool (direct memory is user memory in the heap pool), or a 1GB one, which the direct slots reserve in. */
    @Provide
    Arbitrary<String> directPools()
    {
        return Arbitraries.of("0B", "1GB");
    }

    @Provide
    Arbitrary<List<Step>> steps()
    {
        Arbitrary<Integer> index = Arbitraries.integers().between(0, 1000);
        Arbitrary<Long> size = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.longs().between(0, 4 * KB)),
                net.jqwik.api.Tuple.of(4, Arbitraries.longs().between(4 * KB + 1, MB)),
                net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(MB + 1, 4 * MB)),
                // above Arrow's 16 MiB chunk size: counted exactly, not rounded
                net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(16 * MB + 1, 17 * MB)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(REFUSED)));
        Arbitrary<Step> step = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, Combinators.combine(index, size).as(Allocate::new)),
                net.jqwik.api.Tuple.of(5, index.map(Release::new)),
                net.jqwik.api.Tuple.of(4, Combinators.combine(index, index, Arbitraries.of(true, false)).as(Transfer::new)),
                net.jqwik.api.Tuple.of(3, Combinators.combine(index, index).as(Retain::new)),
                net.jqwik.api.Tuple.of(2, Combinators.combine(index, Arbitraries.longs().between(1, MB), Arbitraries.of(true, false)).as(Reserve::new)),
                net.jqwik.api.Tuple.of(1, index.map(CloseAllocator::new)));
        return step.list().ofMaxSize(40);
    }

    sealed interface Step
            permits Allocate, Release, Transfer, Retain, Reserve, CloseAllocator {}

    record Allocate(int allocator, long size)
            implements Step {}

    record Release(int buffer)
            implements Step {}

    /** Through {@link ArrowNodeMemory#transfer}, or Arrow's own transferOwnership and then the host's reconcile. */
    record Transfer(int buffer, int target, boolean throughAdapter)
            implements Step {}

    record Retain(int buffer, int target)
            implements Step {}

    record Reserve(int allocator, long size, boolean use)
            implements Step {}

    record CloseAllocator(int allocator)
            implements Step {}

    /** One allocator position: which operator, which memgov context, and the allocator there now. */
    private static final class Slot
    {
        final ArrowOperatorMemory operator;
        final Function<OperatorMemoryContext, LocalMemoryContext> kind;
        // the child position: made of another slot's allocator, counted by it
        final Slot parent;
        final String name;
        BufferAllocator allocator;
        int generation;

        Slot(ArrowOperatorMemory operator, Function<OperatorMemoryContext, LocalMemoryContext> kind, Slot parent, String name)
        {
            this.operator = operator;
            this.kind = kind;
            this.parent = parent;
            this.name = name;
            open();
        }

        void open()
        {
            String generationName = name + "-" + generation++;
            allocator = parent == null
                    ? operator.newAllocator(generationName, kind)
                    : parent.allocator.newChildAllocator(generationName, 0, Long.MAX_VALUE);
        }
    }

    private static final class World
    {
        final NodeMemory node;
        final ArrowNodeMemory arrow;
        final QueryMemoryContext queryA;
        final QueryMemoryContext queryB;
        final OperatorMemoryContext operatorA;
        final OperatorMemoryContext operatorB;
        final ArrowOperatorMemory arrowA;
        final ArrowOperatorMemory arrowB;
        final List<Slot> slots = new ArrayList<>();
        final List<ArrowBuf> buffers = new ArrayList<>();
        int sharedReleases;
        int rawTransfers;
        int adapterTransfers;
        int reservations;
        int refusals;
        int allocatorsClosed;

        World(NodeMemory node, ArrowNodeMemory arrow)
        {
            this.node = node;
            this.arrow = arrow;
            queryA = node.createQuery(QueryId.of("a"), QuerySession.of("alice"));
            queryB = node.createQuery(QueryId.of("b"), QuerySession.of("bob"));
            operatorA = queryA.addTask("0").addOperator("HashAggregation");
            operatorB = queryB.addTask("0").addOperator("Exchange");
            arrowA = arrow.operator(operatorA);
            arrowB = arrow.operator(operatorB);
            Slot userA = new Slot(arrowA, OperatorMemoryContext::userMemory, null, "a-user");
            slots.add(userA);
            slots.add(new Slot(arrowA, OperatorMemoryContext::revocableMemory, null, "a-revocable"));
            slots.add(new Slot(arrowA, OperatorMemoryContext::userMemory, userA, "a-child"));
            slots.add(new Slot(arrowB, OperatorMemoryContext::userMemory, null, "b-user"));
            // chosen explicitly: direct memory, user memory without a direct pool
            Slot directB = new Slot(arrowB, OperatorMemoryContext::directMemory, null, "b-direct");
            slots.add(directB);
            slots.add(new Slot(arrowB, OperatorMemoryContext::directMemory, directB, "b-direct-child"));
        }

        void apply(Step step)
        {
            if (step instanceof Allocate allocate) {
                allocate(slot(allocate.allocator()), allocate.size());
            }
            else if (step instanceof Release release) {
                if (!buffers.isEmpty()) {
                    release(buffers.get(release.buffer() % buffers.size()));
                }
            }
            else if (step instanceof Transfer transfer) {
                if (!buffers.isEmpty()) {
                    transfer(buffers.get(transfer.buffer() % buffers.size()), slot(transfer.target()), transfer.throughAdapter());
                }
            }
            else if (step instanceof Retain retain) {
                if (!buffers.isEmpty()) {
                    ArrowBuf buffer = buffers.get(retain.buffer() % buffers.size());
                    // a second reference in another allocator: Arrow moves no accounting
                    buffers.add(buffer.getReferenceManager().retain(buffer, slot(retain.target()).allocator));
                }
            }
            else if (step instanceof Reserve reserve) {
                reserve(slot(reserve.allocator()), reserve.size(), reserve.use());
            }
            else if (step instanceof CloseAllocator close) {
                Slot slot = slot(close.allocator());
                closeTree(slot);
                openTree(slot);
            }
            else {
                throw new AssertionError("unknown step " + step);
            }
        }

        void allocate(Slot slot, long size)
        {
            boolean refusable = size == REFUSED;
            if (!refusable) {
                ArrowBuf buffer = slot.allocator.buffer(size);
                if (size == 0) {
                    // Arrow's shared empty buffer: no memory, no listener call, nothing to release
                    assertThat(buffer.capacity()).isZero();
                    return;
                }
                buffers.add(buffer);
                return;
            }
            refusals++;
            // user memory passes the query's 1GB limit, revocable memory the 1.5GB pool (with no wait allowed), direct
            // memory the 1GB direct limit (or, without a direct pool, the user limit)
            assertThatThrownBy(() -> slot.allocator.buffer(size))
                    .isInstanceOfAny(MemoryLimitExceededException.class, OutOfMemoryException.class);
        }

        void release(ArrowBuf buffer)
        {
            Set<ArrowOperatorMemory> sharing = sharing(buffer);
            boolean shared = sharers(buffer) > 1;
            buffers.remove(buffer);
            buffer.close();
            if (shared) {
                sharedReleases++;
                // the memory is retained elsewhere: if this was the owner, ownership moved without a callback, and the
                // host, which shared the buffer, reconciles the operators involved
                sharing.forEach(ArrowOperatorMemory::reconcile);
            }
        }

        void transfer(ArrowBuf buffer, Slot target, boolean throughAdapter)
        {
            Set<ArrowOperatorMemory> involved = sharing(buffer);
            involved.add(target.operator);
            ArrowBuf moved;
            if (throughAdapter) {
                adapterTransfers++;
                moved = arrow.transfer(buffer, target.allocator).getTransferredBuffer();
            }
            else {
                rawTransfers++;
                moved = buffer.getReferenceManager().transferOwnership(buffer, target.allocator).getTransferredBuffer();
            }
            buffers.add(moved);
            // as a vector's TransferPair does: the source reference goes; it no longer owns the memory, so releasing it
            // moves nothing
            buffers.remove(buffer);
            buffer.close();
            if (!throughAdapter) {
                // Arrow's own transfer told no listener: the host reconciles the operators involved
                involved.forEach(ArrowOperatorMemory::reconcile);
            }
        }

        void reserve(Slot slot, long size, boolean use)
        {
            reservations++;
            AllocationReservation reservation = slot.allocator.newReservation();
            assertThat(reservation.add(size)).isTrue();
            if (use) {
                // allocateBuffer() calls onAllocation, which re-reads the counters
                buffers.add(reservation.allocateBuffer());
                reservation.close();
                return;
            }
            // add() counted the bytes without a callback: a host that must be exact now reconciles
            slot.operator.reconcile();
            checkExact(new Reserve(0, size, false));
            reservation.close();
            slot.operator.reconcile();
        }

        /** Children before their parent, and every buffer of an allocator before the allocator, as a host closes them. */
        void closeTree(Slot slot)
        {
            for (Slot child : slots) {
                if (child.parent == slot) {
                    closeTree(child);
                }
            }
            for (ArrowBuf buffer : new ArrayList<>(buffers)) {
                if (buffers.contains(buffer) && buffer.getReferenceManager().getAllocator() == slot.allocator) {
                    release(buffer);
                }
            }
            assertThat(slot.allocator.getAllocatedMemory()).isZero();
            slot.allocator.close();
            allocatorsClosed++;
        }

        void openTree(Slot slot)
        {
            slot.open();
            for (Slot child : slots) {
                if (child.parent == slot) {
                    openTree(child);
                }
            }
        }

        int sharers(ArrowBuf buffer)
        {
            AllocationManager memory = ((BufferLedger) buffer.getReferenceManager()).getAllocationManager();
            int sharers = 0;
            for (ArrowBuf other : buffers) {
                if (((BufferLedger) other.getReferenceManager()).getAllocationManager() == memory) {
                    sharers++;
                }
            }
            return sharers;
        }

        /** The operators whose allocators hold a reference to the buffer's memory. */
        Set<ArrowOperatorMemory> sharing(ArrowBuf buffer)
        {
            AllocationManager memory = ((BufferLedger) buffer.getReferenceManager()).getAllocationManager();
            Set<ArrowOperatorMemory> operators = new LinkedHashSet<>();
            for (ArrowBuf other : buffers) {
                if (((BufferLedger) other.getReferenceManager()).getAllocationManager() == memory) {
                    operators.add(owner(other.getReferenceManager().getAllocator()));
                }
            }
            return operators;
        }

        ArrowOperatorMemory owner(BufferAllocator allocator)
        {
            for (Slot slot : slots) {
                if (slot.allocator == allocator) {
                    return slot.operator;
                }
            }
            throw new AssertionError("not an allocator of the test: " + allocator.getName());
        }

        Slot slot(int index)
        {
            return slots.get(index % slots.size());
        }

        void checkExact(Step after)
        {
            // computed from Arrow's counters, independently of the adapter: children count in their parents
            Map<LocalMemoryContext, Long> expected = new IdentityHashMap<>();
            long total = 0;
            for (Slot slot : slots) {
                if (slot.parent == null) {
                    long allocated = slot.allocator.getAllocatedMemory();
                    // on a node with a direct pool the user and revocable slots reserve in the direct kinds
                    expected.merge(slot.operator.memoryFor(slot.kind), allocated, Long::sum);
                    total += allocated;
                }
            }
            for (OperatorMemoryContext operator : List.of(operatorA, operatorB)) {
                for (LocalMemoryContext context : List.of(operator.userMemory(), operator.revocableMemory(), operator.directMemory(), operator.directRevocableMemory())) {
                    assertThat(context.bytes())
                            .as("memgov bytes of %s after %s", operator.tag(), after)
                            .isEqualTo(expected.getOrDefault(context, 0L));
                    if (node.reservationQuantum() == 0) {
                        assertThat(context.reservedBytes()).isEqualTo(context.bytes());
                    }
                    else {
                        assertThat(context.reservedBytes()).isGreaterThanOrEqualTo(context.bytes());
                    }
                }
            }
            assertThat(arrow.allocatedBytes()).as("Arrow's root after %s", after).isEqualTo(total);
            if (node.reservationQuantum() == 0) {
                // each kind in its own pool: the direct slots' bytes in the direct pool, where the node has one
                long direct = 0;
                for (OperatorMemoryContext operator : List.of(operatorA, operatorB)) {
                    direct += expected.getOrDefault(operator.directMemory(), 0L) + expected.getOrDefault(operator.directRevocableMemory(), 0L);
                }
                long directPool = node.directPool().map(pool -> pool.reservedBytes() + pool.reservedRevocableBytes()).orElse(0L);
                if (node.directPool().isPresent()) {
                    // nothing of Arrow's is in the heap pool: every slot's role maps to a direct kind
                    assertThat(node.pool().reservedBytes() + node.pool().reservedRevocableBytes()).as("the heap pool after %s", after).isZero();
                }
                assertThat(directPool).as("the direct pool after %s", after).isEqualTo(node.directPool().isPresent() ? direct : 0);
                assertThat(node.pool().reservedBytes() + node.pool().reservedRevocableBytes() + directPool).as("the pools after %s", after).isEqualTo(total);
            }
        }

        void finish()
        {
            while (!buffers.isEmpty()) {
                release(buffers.get(buffers.size() - 1));
                checkExact(new Release(buffers.size()));
            }
            arrowA.close();
            arrowB.close();
            queryA.close();
            queryB.close();
            assertThat(arrow.leakCount()).isZero();
            assertThat(arrow.allocatedBytes()).isZero();
            assertThat(node.pool().reservedBytes()).isZero();
            assertThat(node.directPool().map(pool -> pool.reservedBytes() + pool.reservedRevocableBytes()).orElse(0L)).isZero();
        }
    }
}
