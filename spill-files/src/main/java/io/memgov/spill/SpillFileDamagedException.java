package io.memgov.spill;

import java.io.IOException;

/** A spill file's bytes are not what its writer wrote; the message says where and how, without the file's name. */
final class SpillFileDamagedException
        extends IOException
{
    SpillFileDamagedException(String message)
    {
        super(message);
    }

    SpillFileDamagedException(String message, Throwable cause)
    {
        super(message, cause);
    }
}
