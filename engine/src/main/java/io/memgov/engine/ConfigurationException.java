package io.memgov.engine;

/**
 * Start-up failed because of the configuration or the plugins. The message names the key (or plugin), the bad value
 * and what is accepted.
 */
public final class ConfigurationException
        extends RuntimeException
{
    public ConfigurationException(String message)
    {
        super(message);
    }

    public ConfigurationException(String message, Throwable cause)
    {
        super(message, cause);
    }
}
