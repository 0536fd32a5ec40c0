package io.memgov.lab;

import io.memgov.lab.WorkloadRunner.Progress;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;

import static java.util.Objects.requireNonNull;

/**
 * The progress line: rewritten in place a few times a second on a terminal, one line every few seconds otherwise
 * (a log or CI output would fill with carriage returns).
 */
final class ProgressPrinter
        implements Consumer<Progress>
{
    private static final long TERMINAL_INTERVAL_MILLIS = 250;
    private static final long LOG_INTERVAL_MILLIS = 2000;

    private final PrintStream out;
    private final boolean terminal;
    private final String prefix;
    private long lastPrinted = -1;
    private int lastLength;
    private Progress last;

    ProgressPrinter(PrintStream out, boolean terminal, String prefix)
    {
        this.out = requireNonNull(out, "out is null");
        this.terminal = terminal;
        this.prefix = requireNonNull(prefix, "prefix is null");
    }

    /** Prints to standard output, in place when a console is attached. */
    static ProgressPrinter forStandardOutput(String prefix)
    {
        return new ProgressPrinter(System.out, System.console() != null, prefix);
    }

    @Override
    public void accept(Progress progress)
    {
        last = progress;
        long interval = terminal ? TERMINAL_INTERVAL_MILLIS : LOG_INTERVAL_MILLIS;
        if (lastPrinted >= 0 && progress.millis() - lastPrinted < interval) {
            return;
        }
        lastPrinted = progress.millis();
        print(progress);
    }

    /** Prints the final state and ends the line. */
    void finish()
    {
        if (last != null) {
            print(last);
        }
        if (terminal) {
            out.println();
        }
        out.flush();
    }

    private void print(Progress progress)
    {
        String line = format(progress);
        if (terminal) {
            // pad over the remains of a longer previous line
            out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
            lastLength = line.length();
        }
        else {
            out.println(line);
        }
        out.flush();
    }

    /**
     * One line of at most {@link Reports#COLUMNS} characters: the time, the queries' states (zero counts but done and
     * running left out), then each node's pool use against its maximum in MB; when the nodes do not fit, the fullest
     * node's only.
     */
    String format(Progress progress)
    {
        StringBuilder line = counts(progress, false);
        if (line.length() > Reports.COLUMNS) {
            // thousands of queries: the short words
            line = counts(progress, true);
        }
        StringBuilder nodes = new StringBuilder(" | MB");
        for (int i = 0; i < progress.nodes().size(); i++) {
            nodes.append(' ').append(megabytes(progress.reservedBytes()[i])).append('/').append(megabytes(progress.maxBytes()[i]));
        }
        if (line.length() + nodes.length() <= Reports.COLUMNS) {
            return line.append(nodes).toString();
        }
        int fullest = 0;
        for (int i = 1; i < progress.nodes().size(); i++) {
            if (progress.reservedBytes()[i] * (double) progress.maxBytes()[fullest] > progress.reservedBytes()[fullest] * (double) progress.maxBytes()[i]) {
                fullest = i;
            }
        }
        String one = " | " + progress.nodes().get(fullest) + " " + megabytes(progress.reservedBytes()[fullest]) + "/"
                + megabytes(progress.maxBytes()[fullest]) + "MB";
        return line.length() + one.length() <= Reports.COLUMNS ? line.append(one).toString() : line.toString();
    }

    private StringBuilder counts(Progress progress, boolean brief)
    {
        StringBuilder line = new StringBuilder(prefix)
                .append(String.format(Locale.ROOT, "[%5.1fs] %d done, %d %s", progress.millis() / 1000.0, progress.finished(), progress.running(),
                        brief ? "run" : "running"));
        if (progress.blocked() > 0) {
            line.append(" (").append(progress.blocked()).append(brief ? " blk)" : " blocked)");
        }
        appendCount(line, progress.killed(), brief ? "kill" : "killed");
        appendCount(line, progress.failed(), brief ? "fail" : "failed");
        appendCount(line, progress.waiting(), brief ? "wait" : "waiting");
        return line;
    }

    private static void appendCount(StringBuilder line, int count, String what)
    {
        if (count > 0) {
            line.append(", ").append(count).append(' ').append(what);
        }
    }

    // whole megabytes from 10 up, one decimal below: 52/48, 3.3/48
    private static String megabytes(long bytes)
    {
        double megabytes = bytes / (1024.0 * 1024.0);
        return megabytes >= 10 || megabytes == 0 ? Long.toString(Math.round(megabytes)) : String.format(Locale.ROOT, "%.1f", megabytes);
    }
}
