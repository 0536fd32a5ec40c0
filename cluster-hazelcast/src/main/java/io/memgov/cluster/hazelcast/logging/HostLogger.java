package io.memgov.cluster.hazelcast.logging;

import org.slf4j.ILoggerFactory;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * One logger of the plugin's SLF4J, writing to the logger of the same name in the host's SLF4J. The message is
 * formatted here and handed over as text with its throwable, so the host's binding sees a plain record (it cannot
 * show the plugin's caller location, which SLF4J's simple and JUL bindings do not show anyway). Thread-safe.
 */
final class HostLogger
        extends LegacyAbstractLogger
{
    private static final long serialVersionUID = 1;
    private static final MethodType IS_ENABLED = MethodType.methodType(boolean.class);
    private static final MethodType LOG = MethodType.methodType(void.class, String.class, Throwable.class);

    // bound to the host's logger: () -> boolean and (String, Throwable) -> void, in Level order ERROR, WARN, INFO, DEBUG, TRACE
    private final transient MethodHandle[] isEnabled;
    private final transient MethodHandle[] log;

    private HostLogger(String name, MethodHandle[] isEnabled, MethodHandle[] log)
    {
        this.name = requireNonNull(name, "name is null");
        this.isEnabled = isEnabled;
        this.log = log;
    }

    /** The plugin's logger factory over the host's {@code org.slf4j.LoggerFactory}. */
    static ILoggerFactory factory(Class<?> hostLoggerFactory)
    {
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        MethodHandle getLogger;
        Class<?> hostLogger;
        try {
            hostLogger = Class.forName("org.slf4j.Logger", false, hostLoggerFactory.getClassLoader());
            getLogger = lookup.findStatic(hostLoggerFactory, "getLogger", MethodType.methodType(hostLogger, String.class));
        }
        catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the host's SLF4J has no LoggerFactory.getLogger(String)", e);
        }
        Map<String, HostLogger> loggers = new ConcurrentHashMap<>();
        return name -> loggers.computeIfAbsent(name, ignored -> create(lookup, getLogger, hostLogger, name));
    }

    private static HostLogger create(MethodHandles.Lookup lookup, MethodHandle getLogger, Class<?> hostLoggerType, String name)
    {
        try {
            Object hostLogger = getLogger.invoke(name);
            String[] levels = {"error", "warn", "info", "debug", "trace"};
            MethodHandle[] isEnabled = new MethodHandle[levels.length];
            MethodHandle[] log = new MethodHandle[levels.length];
            for (int i = 0; i < levels.length; i++) {
                String level = levels[i];
                String capitalized = Character.toUpperCase(level.charAt(0)) + level.substring(1);
                isEnabled[i] = lookup.findVirtual(hostLoggerType, "is" + capitalized + "Enabled", IS_ENABLED).bindTo(hostLogger);
                log[i] = lookup.findVirtual(hostLoggerType, level, LOG).bindTo(hostLogger);
            }
            return new HostLogger(name, isEnabled, log);
        }
        catch (Throwable e) {
            throw new IllegalStateException("cannot bind logger '" + name + "' to the host's SLF4J", e);
        }
    }

    private boolean enabled(int level)
    {
        try {
            return (boolean) isEnabled[level].invokeExact();
        }
        catch (Throwable e) {
            // a logging backend that fails must not fail the plugin's threads (Hazelcast's included)
            return false;
        }
    }

    @Override
    public boolean isErrorEnabled()
    {
        return enabled(0);
    }

    @Override
    public boolean isWarnEnabled()
    {
        return enabled(1);
    }

    @Override
    public boolean isInfoEnabled()
    {
        return enabled(2);
    }

    @Override
    public boolean isDebugEnabled()
    {
        return enabled(3);
    }

    @Override
    public boolean isTraceEnabled()
    {
        return enabled(4);
    }

    @Override
    protected String getFullyQualifiedCallerName()
    {
        return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String messagePattern, Object[] arguments, Throwable throwable)
    {
        int index = switch (level) {
            case ERROR -> 0;
            case WARN -> 1;
            case INFO -> 2;
            case DEBUG -> 3;
            case TRACE -> 4;
        };
        try {
            log[index].invokeExact(MessageFormatter.basicArrayFormat(messagePattern, arguments), throwable);
        }
        catch (Throwable e) {
            // as in enabled(): the record is lost, the caller goes on
        }
    }
}
