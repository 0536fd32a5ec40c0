package io.memgov.plugin.reservemode;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Captures what a class logs through {@link System.Logger}, which the JDK backs with java.util.logging by default.
 */
final class CapturedLog
        implements AutoCloseable
{
    private final Logger logger;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler handler = new Handler()
    {
        @Override
        public void publish(LogRecord logRecord)
        {
            records.add(logRecord);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    CapturedLog(Class<?> type)
    {
        logger = Logger.getLogger(type.getName());
        logger.addHandler(handler);
    }

    /** Formatted messages at WARNING or above. */
    List<String> warnings()
    {
        return records.stream()
                .filter(logRecord -> logRecord.getLevel().intValue() >= Level.WARNING.intValue())
                .map(logRecord -> new java.util.logging.SimpleFormatter().formatMessage(logRecord))
                .toList();
    }

    @Override
    public void close()
    {
        logger.removeHandler(handler);
    }
}
