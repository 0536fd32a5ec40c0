package io.memgov.spi.spill;

/**
 * Ask one consumer to give back its revocable memory.
 *
 * @param consumerId a {@link RevocableConsumerInfo#consumerId()} from the strategy's input
 * @param expectedBytes what the strategy expects to be freed (the consumer's revocable bytes); positive
 * @since 1.0
 */
public record RevokeRequest(long consumerId, long expectedBytes)
{
    public RevokeRequest
    {
        if (expectedBytes <= 0) {
            throw new IllegalArgumentException("expectedBytes must be positive: " + expectedBytes);
        }
    }
}
