package io.memgov.cluster.hazelcast;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects what HazelcastMembership logs (SLF4J reaches java.util.logging through slf4j-jdk14 in the tests). */
final class LogRecords
        extends Handler
        implements AutoCloseable
{
    // held strongly: java.util.logging keeps loggers only weakly
    private final Logger logger = Logger.getLogger(HazelcastMembership.class.getName());
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    LogRecords()
    {
        setLevel(Level.ALL);
        logger.addHandler(this);
    }

    /** The formatted warnings logged so far. */
    List<String> warnings()
    {
        return records.stream()
                .filter(record -> record.getLevel().intValue() >= Level.WARNING.intValue())
                .map(record -> new java.util.logging.SimpleFormatter().formatMessage(record))
                .toList();
    }

    @Override
    public void publish(LogRecord record)
    {
        records.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close()
    {
        logger.removeHandler(this);
    }
}
