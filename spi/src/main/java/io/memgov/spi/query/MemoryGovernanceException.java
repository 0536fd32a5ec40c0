package io.memgov.spi.query;

import static java.util.Objects.requireNonNull;

/**
 * A failure decided by memory governance, carrying its {@link ErrorCode}. Hosts should fail the query (or task)
 * with this code and message.
 *
 * @since 1.0
 */
public class MemoryGovernanceException
        extends RuntimeException
{
    private final ErrorCode errorCode;

    public MemoryGovernanceException(ErrorCode errorCode, String message)
    {
        super(message);
        this.errorCode = requireNonNull(errorCode, "errorCode is null");
    }

    public MemoryGovernanceException(ErrorCode errorCode, String message, Throwable cause)
    {
        super(message, cause);
        this.errorCode = requireNonNull(errorCode, "errorCode is null");
    }

    /** Never null. */
    public ErrorCode errorCode()
    {
        return errorCode;
    }
}
