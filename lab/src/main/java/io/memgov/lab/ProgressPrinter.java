package io.memgov.lab;

import io.memgov.lab.WorkloadRunner.Progress;
import io.memgov.spi.policy.DataSizes;

import java.io.PrintStream;
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

    String format(Progress progress)
    {
        StringBuilder line = new StringBuilder(prefix)
                .append(String.format(java.util.Locale.ROOT, "[%5.1fs] done %d, running %d (blocked %d), killed %d, failed %d",
                        progress.millis() / 1000.0, progress.finished(), progress.running(), progress.blocked(), progress.killed(), progress.failed()));
        if (progress.waiting() > 0) {
            line.append(", waiting ").append(progress.waiting());
        }
        line.append(" |");
        for (int i = 0; i < progress.nodes().size(); i++) {
            line.append(' ').append(progress.nodes().get(i)).append(' ')
                    .append(DataSizes.succinct(progress.reservedBytes()[i])).append('/').append(DataSizes.succinct(progress.maxBytes()[i]));
        }
        return line.toString();
    }
}
