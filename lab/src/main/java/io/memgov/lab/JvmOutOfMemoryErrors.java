package io.memgov.lab;

import javax.management.JMException;
import javax.management.ObjectName;

import java.lang.management.ManagementFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JVM's own count of the {@code OutOfMemoryError}s it threw since it started, on any thread, caught or not: the
 * lab sees the ones that end a query, but an engine thread or a library may meet one too and carry on.
 *
 * <p>HotSpot counts every {@code OutOfMemoryError} it throws for the Java heap, the metaspace and the class space and
 * prints the counts in its {@code VM.info} report ({@code OutOfMemoryError java_heap_errors=2}, a line per kind, none
 * while the count is 0). This reads that report through the {@code DiagnosticCommand} MBean, in this process, and
 * keeps only those lines. An {@code OutOfMemoryError} thrown by Java code ({@code new OutOfMemoryError(...)}, e.g.
 * for direct buffers) is not in the JVM's count.
 */
final class JvmOutOfMemoryErrors
{
    /** What {@link #thrown()} returns when the JVM has no such report (not HotSpot, or no management). */
    static final long UNKNOWN = -1;

    private static final Pattern COUNT = Pattern.compile("^OutOfMemoryError \\w+=(\\d+)$", Pattern.MULTILINE);

    private JvmOutOfMemoryErrors() {}

    /** {@code OutOfMemoryError}s the JVM threw since it started, or {@link #UNKNOWN}. Takes a few milliseconds. */
    static long thrown()
    {
        String report;
        try {
            report = (String) ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "vmInfo", new Object[] {null}, new String[] {String[].class.getName()});
        }
        catch (JMException | RuntimeException e) {
            return UNKNOWN;
        }
        return count(report);
    }

    /** Adds up the {@code OutOfMemoryError <kind>=<count>} lines of a {@code VM.info} report. */
    static long count(String report)
    {
        if (report == null) {
            return UNKNOWN;
        }
        long count = 0;
        Matcher matcher = COUNT.matcher(report);
        while (matcher.find()) {
            count += Long.parseLong(matcher.group(1));
        }
        return count;
    }
}
