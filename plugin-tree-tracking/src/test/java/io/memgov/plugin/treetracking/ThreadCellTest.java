package io.memgov.plugin.treetracking;

import io.memgov.plugin.treetracking.ThreadBatchedMemoryTracker.ThreadCell;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The owner writes its cell without atomics while other threads take from it: no byte is lost or taken twice. */
class ThreadCellTest
{
    private static final int ADDS = 5_000_000;

    @Test
    void takesRacingWithTheOwnersAddsNeitherLoseNorDuplicateBytes()
            throws Exception
    {
        CountDownLatch start = new CountDownLatch(1);
        AtomicBoolean ownerDone = new AtomicBoolean();
        AtomicLong ownerSum = new AtomicLong();
        AtomicLong ownerCarried = new AtomicLong();
        ThreadCell[] cell = new ThreadCell[1];
        Thread owner = new Thread(() -> {
            cell[0] = new ThreadCell(Thread.currentThread());
            start.countDown();
            SplittableRandom random = new SplittableRandom(42);
            long sum = 0;
            long carried = 0;
            for (int i = 0; i < ADDS; i++) {
                long delta = random.nextLong(-1000, 1001);
                sum += delta;
                long balance = cell[0].add(delta);
                // the owner carries now and then, as the tracker does when it passes max-untracked-memory
                if (Math.abs(balance) > 50_000) {
                    carried += cell[0].take();
                }
            }
            ownerSum.set(sum);
            ownerCarried.set(carried);
            ownerDone.set(true);
        }, "cell-owner");
        owner.start();
        start.await();

        // two takers, as a closer and a limit check taking back frees would
        AtomicLong takenByOthers = new AtomicLong();
        Runnable taker = () -> {
            long taken = 0;
            int takes = 0;
            while (!ownerDone.get()) {
                taken += (takes++ & 1) == 0 ? cell[0].take() : cell[0].takeIfNegative();
            }
            takenByOthers.addAndGet(taken);
        };
        Thread first = new Thread(taker, "cell-taker-1");
        Thread second = new Thread(taker, "cell-taker-2");
        first.start();
        second.start();
        owner.join();
        first.join();
        second.join();

        long left = cell[0].take();
        assertThat(ownerCarried.get() + takenByOthers.get() + left).isEqualTo(ownerSum.get());
        assertThat(cell[0].held()).isZero();
        // the takers did take while the owner ran, so the race was exercised
        assertThat(takenByOthers.get()).isNotZero();
    }
}
