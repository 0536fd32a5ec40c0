package io.memgov.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * The lab's handle of one {@link LabWorker} JVM: starts it with the given {@code -Xmx} and the serial collector, writes
 * its commands, hands every line it prints to a {@link Listener}, and passes its log lines on to the lab's standard
 * error, prefixed with the node. A worker never outlives the lab: {@link #close} ends its input (it exits) and kills it if it does not
 * exit in time; a shutdown hook kills every worker still running when the lab's JVM exits (Ctrl-C included); and when
 * the lab's JVM dies outright, the worker's input ends and it exits on its own.
 */
final class WorkerProcess
        implements AutoCloseable
{
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "memgov-lab: stop worker JVMs"));
    }

    /** What a worker printed. Called on the worker's reader thread, one line at a time, in order. */
    interface Listener
    {
        void line(WorkerProcess worker, String line);

        /** The process ended (every line it printed was handed over before). */
        void exited(WorkerProcess worker, int exitCode);
    }

    private final int index;
    private final String nodeId;
    private final long maxHeapBytes;
    private final Process process;
    private final Listener listener;
    private final OutputStream input;
    private final CountDownLatch ready = new CountDownLatch(1);
    private final List<String> startProblems = new ArrayList<>();
    private volatile boolean alive = true;

    private WorkerProcess(int index, String nodeId, long maxHeapBytes, Process process, Listener listener)
    {
        this.index = index;
        this.nodeId = nodeId;
        this.maxHeapBytes = maxHeapBytes;
        this.process = process;
        this.listener = listener;
        this.input = process.getOutputStream();
        LIVE.add(process);
        daemon("memgov-lab: events of " + nodeId, this::readEvents).start();
        daemon("memgov-lab: log of " + nodeId, () -> passOn(process.getErrorStream(), System.err)).start();
    }

    /**
     * Starts {@link LabWorker} for node {@code index} on this JVM's class path.
     *
     * @param properties the worker's engine properties file
     * @param maxHeapBytes its {@code -Xmx}: the node's heap
     * @param logLevel slf4j-simple's level in the worker, as the lab's
     */
    static WorkerProcess start(int index, String nodeId, Path properties, long maxHeapBytes, Path spillDirectory, String logLevel, Listener listener)
            throws IOException
    {
        requireNonNull(listener, "listener is null");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + maxHeapBytes,
                // a heap of a hundred megabytes: the serial collector compacts it, where G1 could not find room for a
                // table's large array in contiguous regions (see ProcessWorkloadRunner.WORKER_OVERHEAD_BYTES)
                "-XX:+UseSerialGC",
                // the flags Hazelcast asks for on Java 9+ (it warns without them)
                "--add-modules", "java.se",
                "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-opens", "java.management/sun.management=ALL-UNNAMED",
                "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
                "-D" + Lab.LOG_LEVEL + "=" + logLevel,
                "-Djava.awt.headless=true",
                "-cp", System.getProperty("java.class.path"),
                LabWorker.class.getName(),
                properties.toString(),
                Integer.toString(index),
                spillDirectory.toString()));
        Process process = new ProcessBuilder(command).start();
        return new WorkerProcess(index, nodeId, maxHeapBytes, process, listener);
    }

    private static Thread daemon(String name, Runnable task)
    {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        return thread;
    }

    private void readEvents()
    {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.startsWith("READY ")) {
                    ready.countDown();
                }
                else if (line.startsWith("START_FAILED ")) {
                    synchronized (startProblems) {
                        startProblems.add(line.substring("START_FAILED ".length()));
                    }
                }
                listener.line(this, line);
            }
        }
        catch (IOException e) {
            // the process was killed while its output was read: it ended
        }
        int exitCode;
        try {
            exitCode = process.waitFor();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exitCode = -1;
        }
        alive = false;
        LIVE.remove(process);
        ready.countDown();
        listener.exited(this, exitCode);
    }

    private void passOn(InputStream log, PrintStream to)
    {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(log, StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                to.println("[" + nodeId + "] " + line);
            }
        }
        catch (IOException e) {
            // the process ended
        }
    }

    /**
     * Waits until the worker's engine runs.
     *
     * @throws BadInputException when the worker could not start its engine (a bad property, or no Hazelcast transport)
     * @throws IllegalStateException when it died or did not start in time
     */
    void awaitReady(Duration timeout)
            throws InterruptedException
    {
        if (!ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("the worker of " + nodeId + " (pid " + process.pid() + ") did not start within " + timeout.toSeconds() + "s");
        }
        if (!alive) {
            synchronized (startProblems) {
                if (!startProblems.isEmpty()) {
                    throw new BadInputException("the worker JVM of " + nodeId + " could not start its engine: " + String.join("; ", startProblems));
                }
            }
            throw new IllegalStateException("the worker of " + nodeId + " (pid " + process.pid() + ") ended before it was ready, exit code "
                    + process.exitValue() + "; its log is above");
        }
    }

    /** Writes one command; a worker that has ended ignores it (its end is reported to the listener). */
    synchronized void send(String line)
    {
        if (!alive) {
            return;
        }
        try {
            input.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            input.flush();
        }
        catch (IOException e) {
            // it is ending: the reader reports the exit
        }
    }

    /** SIGKILL: the worker leaves the cluster without a goodbye, as a crashed machine would. */
    void kill()
    {
        process.destroyForcibly();
    }

    boolean isAlive()
    {
        return alive;
    }

    int index()
    {
        return index;
    }

    String nodeId()
    {
        return nodeId;
    }

    long pid()
    {
        return process.pid();
    }

    long maxHeapBytes()
    {
        return maxHeapBytes;
    }

    /** Ends the worker's input, so that it closes its engine and exits; kills it if it has not within 10s. */
    @Override
    public void close()
            throws InterruptedException
    {
        synchronized (this) {
            try {
                input.close();
            }
            catch (IOException e) {
                // already gone
            }
        }
        if (!process.waitFor(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
        LIVE.remove(process);
    }

    @Override
    public String toString()
    {
        return nodeId + " (pid " + process.pid() + ")";
    }
}
