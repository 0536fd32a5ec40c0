package io.memgov.lab;

import io.memgov.engine.node.LocalMemoryContext;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A real hash aggregation: {@code SELECT key, sum(value) GROUP BY key} over generated rows, holding a real hash
 * table on the heap and accounting its estimated retained size through memgov every batch of rows. When memgov says
 * the pool is full it stops and waits, as an operator whose driver is blocked would.
 */
final class HashAggregation
{
    static final String TAG = "HashAggregation";
    // HashMap.Node (32) + boxed Long key (16, most are not cached) + long[1] (24) + a table slot (~8 at 0.75 load)
    static final long BYTES_PER_GROUP = 80;
    private static final int BATCH_ROWS = 4096;

    private HashAggregation() {}

    /** Runs the aggregation and returns its checksum. */
    static long run(long seed, int rows, int distinctKeys, LocalMemoryContext memory, OperatorDriver driver)
            throws InterruptedException
    {
        SplittableRandom random = new SplittableRandom(seed);
        Map<Long, long[]> groups = new HashMap<>();
        for (int row = 0; row < rows; row++) {
            long key = random.nextInt(distinctKeys);
            long value = random.nextInt(1000);
            groups.computeIfAbsent(key, ignored -> new long[1])[0] += value;
            if (row % BATCH_ROWS == BATCH_ROWS - 1) {
                driver.setBytes(memory, groups.size() * BYTES_PER_GROUP, () -> {});
            }
        }
        driver.setBytes(memory, groups.size() * BYTES_PER_GROUP, () -> {});
        long checksum = 0;
        for (Map.Entry<Long, long[]> group : groups.entrySet()) {
            checksum += mix(group.getKey(), group.getValue()[0]);
        }
        return checksum;
    }

    /** The same answer computed independently: no hash table, no memgov, an array indexed by key. */
    static long expected(long seed, int rows, int distinctKeys)
    {
        SplittableRandom random = new SplittableRandom(seed);
        long[] sums = new long[distinctKeys];
        boolean[] seen = new boolean[distinctKeys];
        for (int row = 0; row < rows; row++) {
            int key = random.nextInt(distinctKeys);
            sums[key] += random.nextInt(1000);
            seen[key] = true;
        }
        long checksum = 0;
        for (int key = 0; key < distinctKeys; key++) {
            if (seen[key]) {
                checksum += mix(key, sums[key]);
            }
        }
        return checksum;
    }

    private static long mix(long key, long sum)
    {
        return key * 0x9E3779B97F4A7C15L + sum * 31;
    }
}
