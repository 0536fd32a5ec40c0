package io.memgov.arrow;

import org.apache.arrow.memory.OutOfMemoryException;

/**
 * An allocation that waited for a full pool ended early because memgov asked its operator to give memory back
 * ({@link io.memgov.engine.OperatorMemoryContext#isMemoryRevokingRequested()}): the operator cannot spill from inside
 * an allocation, and the pool would stay full until it does. Nothing was allocated or reserved. The operator spills
 * (closing the vectors it can write out) and tries again.
 *
 * <p>An {@link OutOfMemoryException}, so that Arrow's vectors clean up after it as after their own.
 */
public final class RevocationRequestedException
        extends OutOfMemoryException
{
    public RevocationRequestedException(String message)
    {
        super(message);
    }
}
