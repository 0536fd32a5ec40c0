package io.memgov.spi.query;

/**
 * Thrown by a reservation that would take a query, user or node past a limit. The reservation that threw has
 * changed nothing: every counter it touched was rolled back before the throw.
 *
 * <p>Messages follow the anchor of the error code, for example Trino's
 * {@code Query exceeded per-node memory limit of 4GB [Allocated: 3.90GB, Delta: 200MB, Top Consumers: {...}]} or
 * ClickHouse's {@code Memory limit (for query) exceeded: would use 10.50 MiB (attempt to allocate chunk of 2.00 MiB),
 * maximum: 10.00 MiB.}
 *
 * @since 1.0
 */
public class MemoryLimitExceededException
        extends MemoryGovernanceException
{
    public MemoryLimitExceededException(ErrorCode errorCode, String message)
    {
        super(errorCode, message);
    }
}
