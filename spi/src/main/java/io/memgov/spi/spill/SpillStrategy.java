package io.memgov.spi.spill;

import io.memgov.spi.pool.MemoryPoolInfo;

import java.util.List;

/**
 * Picks which revocable consumers to revoke, and in what order, when a pool fills.
 *
 * <p><b>Who calls.</b> The node's revoking scheduler, one call at a time per node, when revocable memory is
 * positive and free memory fell to {@code max * (1 - memory-revoking-threshold)}. Must not block.
 *
 * @since 1.0
 */
@FunctionalInterface
public interface SpillStrategy
{
    /** Revokes nothing: the built-in {@code none} policy. */
    SpillStrategy NONE = new SpillStrategy()
    {
        @Override
        public List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke)
        {
            return List.of();
        }

        @Override
        public String toString()
        {
            return "none";
        }
    };

    /**
     * @param pool the pool's snapshot; never null
     * @param consumers the consumers that hold revocable memory and are not being revoked; never null
     * @param bytesToRevoke how much the scheduler wants freed (bytes already being revoked are subtracted);
     *        positive, but strategies with their own rule (a per-task threshold) may go beyond or ignore it
     * @return the consumers to ask, in order, each at most once; never null, may be empty
     */
    List<RevokeRequest> chooseConsumersToRevoke(MemoryPoolInfo pool, List<RevocableConsumerInfo> consumers, long bytesToRevoke);
}
