package io.memgov.cluster.hazelcast;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A JVM this test JVM started on its own class path, with a small heap and the flags Hazelcast asks for, and every
 * line it printed (standard output and error, merged). It ends with this JVM: {@link #destroy} in a finally block,
 * a shutdown hook for a test JVM that is stopped, and the child's own end of input when this JVM dies outright (the
 * mains started here exit when their standard input ends).
 */
final class ChildJvm
        implements AutoCloseable
{
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "destroy child JVMs"));
    }

    final Process process;
    private final String name;
    private final BlockingQueue<String> newLines = new LinkedBlockingQueue<>();
    private final List<String> output = new CopyOnWriteArrayList<>();
    // lines before this index are skipped by lines() and awaitLine()
    private volatile int firstUnskipped;

    private ChildJvm(String name, Process process)
    {
        this.name = name;
        this.process = process;
        LIVE.add(process);
        Thread reader = new Thread(this::readOutput, "output of " + name + " (" + process.pid() + ")");
        reader.setDaemon(true);
        reader.start();
    }

    /** Flags for JVMs that share two cores: the quick JIT only, and a GC without threads of its own. */
    static final List<String> LEAN = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    /**
     * Starts {@code mainClass} with {@code arguments} in a JVM of {@code maxHeap} (e.g. {@code 96m}) on this JVM's
     * class path, with this JVM's logging configuration and {@code flags}.
     */
    static ChildJvm start(String name, String maxHeap, List<String> flags, Class<?> mainClass, List<String> arguments)
            throws IOException
    {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + maxHeap,
                "-XX:+ExitOnOutOfMemoryError"));
        command.addAll(flags);
        command.addAll(List.of(
                "--add-modules", "java.se",
                "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-opens", "java.management/sun.management=ALL-UNNAMED",
                "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path")));
        for (String property : List.of("java.util.logging.config.file", "slf4j.provider")) {
            String value = System.getProperty(property);
            if (value != null) {
                command.add("-D" + property + "=" + value);
            }
        }
        command.add(mainClass.getName());
        command.addAll(arguments);
        return new ChildJvm(name, new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    boolean isAlive()
    {
        return process.isAlive();
    }

    private void readOutput()
    {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                output.add(line);
                newLines.add(line);
            }
        }
        catch (IOException e) {
            // the process was killed while its output was read; what was read is kept
            output.add("(output ended: " + e + ")");
        }
    }

    long pid()
    {
        return process.pid();
    }

    /** Sends one line to the child's standard input. */
    void send(String line)
    {
        try {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }
        catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + name + " (" + process.pid() + ")", e);
        }
    }

    /**
     * From now on, {@link #lines} and {@link #awaitLine} see only lines printed after this call: a test that shares
     * the process with earlier tests starts with its own output.
     */
    void skipPrintedLines()
    {
        firstUnskipped = output.size();
    }

    /** Every line printed so far, and not skipped, that starts with {@code prefix}. */
    List<String> lines(String prefix)
    {
        return unskipped().stream().filter(line -> line.startsWith(prefix)).toList();
    }

    /** The last line starting with {@code prefix} the process ever printed, skipped or not. */
    Optional<String> lastLine(String prefix)
    {
        List<String> printed = List.copyOf(output);
        for (int i = printed.size() - 1; i >= 0; i--) {
            if (printed.get(i).startsWith(prefix)) {
                return Optional.of(printed.get(i));
            }
        }
        return Optional.empty();
    }

    private List<String> unskipped()
    {
        // a snapshot: a view of the list would fail once the reader thread adds a line
        return output.stream().skip(firstUnskipped).toList();
    }

    /** Waits until the process has printed a line starting with {@code prefix}, and returns the first such line. */
    String awaitLine(String prefix, Duration timeout)
            throws InterruptedException
    {
        return awaitLine(line -> line.startsWith(prefix), "a line starting with '" + prefix + "'", timeout);
    }

    /** Waits until the process has printed a line {@code matching} (not skipped), and returns the first such line. */
    String awaitLine(Predicate<String> matching, String description, Duration timeout)
            throws InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (String line : unskipped()) {
                if (matching.test(line)) {
                    return line;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("No " + description + " within " + timeout + " from " + name + " (" + process.pid() + "). Its output:\n"
                        + String.join("\n", output));
            }
            // wakes up with the next line
            newLines.poll(left, TimeUnit.NANOSECONDS);
        }
    }

    /** Stops the process as a debugger or an overloaded machine would: it keeps its connections but answers nothing. */
    void suspend()
            throws IOException, InterruptedException
    {
        signal("STOP");
    }

    void resume()
            throws IOException, InterruptedException
    {
        signal("CONT");
    }

    private void signal(String signal)
            throws IOException, InterruptedException
    {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed");
        }
    }

    /** Kills the process (SIGKILL: no goodbye to the cluster) and waits until it is gone. */
    void destroy()
            throws InterruptedException
    {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new UncheckedIOException(new IOException(name + " (" + process.pid() + ") did not end within 10s"));
        }
        LIVE.remove(process);
    }

    String output()
    {
        return String.join("\n", output);
    }

    @Override
    public void close()
            throws InterruptedException
    {
        if (process.isAlive()) {
            // a stopped process cannot act on SIGKILL until the kernel delivers it, which it does at once
            destroy();
        }
        LIVE.remove(process);
    }

    @Override
    public String toString()
    {
        return name + " (" + process.pid() + ")";
    }
}
