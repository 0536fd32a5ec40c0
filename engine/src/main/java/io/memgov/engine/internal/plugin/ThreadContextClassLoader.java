package io.memgov.engine.internal.plugin;

/**
 * Sets the thread context class loader for the duration of a call into plugin code, so that libraries a plugin
 * brings (ServiceLoader users, Jackson, ...) resolve against the plugin's own classes.
 */
public final class ThreadContextClassLoader
        implements AutoCloseable
{
    private final Thread thread = Thread.currentThread();
    private final ClassLoader original;

    public ThreadContextClassLoader(ClassLoader loader)
    {
        original = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
    }

    @Override
    public void close()
    {
        thread.setContextClassLoader(original);
    }
}
