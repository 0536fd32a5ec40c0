package io.memgov.spi.pool;

import io.memgov.spi.annotation.Experimental;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * The pools of one node. Most policies have one pool; Presto's layout has two ({@code general} and
 * {@code reserved}). The first pool is the <em>general</em> one: every query starts in it, the engine's revoking and
 * per-node checks use it, and {@link io.memgov.spi.cluster.NodeMemoryInfo#generalPool()} is its snapshot. A query
 * lives in exactly one pool of a node at a time; the cluster loop moves it between pools through a versioned
 * assignment (see {@code io.memgov.spi.assignment.MemoryPoolAssigner}).
 *
 * @param pools at least one, ids unique, the general pool first; never null
 * @since 1.0
 */
@Experimental
public record MemoryPoolLayout(List<MemoryPool> pools)
{
    public MemoryPoolLayout
    {
        pools = List.copyOf(requireNonNull(pools, "pools is null"));
        if (pools.isEmpty()) {
            throw new IllegalArgumentException("a memory pool layout needs at least one pool");
        }
        Set<String> ids = new HashSet<>();
        for (MemoryPool pool : pools) {
            if (!ids.add(pool.id())) {
                throw new IllegalArgumentException("memory pool layout lists pool '" + pool.id() + "' twice");
            }
        }
    }

    /** A layout of the given pools, the general one first. */
    public static MemoryPoolLayout of(MemoryPool general, MemoryPool... others)
    {
        requireNonNull(general, "general is null");
        MemoryPool[] all = new MemoryPool[others.length + 1];
        all[0] = general;
        System.arraycopy(others, 0, all, 1, others.length);
        return new MemoryPoolLayout(List.of(all));
    }

    /** The pool every query starts in: the first. */
    public MemoryPool generalPool()
    {
        return pools.get(0);
    }

    /** The pool with this id, if the layout has one. */
    public Optional<MemoryPool> pool(String poolId)
    {
        requireNonNull(poolId, "poolId is null");
        return pools.stream().filter(pool -> pool.id().equals(poolId)).findFirst();
    }
}
