package io.memgov.lab;

import io.memgov.engine.ConfigurationException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine;

/**
 * memgov's main job. {@code plugins} lists what the engine discovers; {@code run} runs a workload of concurrent
 * queries on an embedded cluster (or, with {@code --processes}, on one worker JVM per node) and reports what memory
 * governance did; {@code compare} runs one workload under several values of a property; {@code sweep} runs workloads in
 * child JVMs of several heap sizes and counts their {@code OutOfMemoryError}s.
 */
@Command(name = "memgov-lab",
        mixinStandardHelpOptions = true,
        version = "memgov-lab 0.1.0",
        description = "Runs workloads of concurrent queries on a memgov cluster, embedded or one JVM per node, and shows what memory governance did.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:the run completed",
                "1:a wrong result, a JVM OutOfMemoryError, memory or spill files left after the run, or an internal error",
                "2:bad arguments, configuration or workload file"},
        subcommands = {PluginsCommand.class, RunCommand.class, CompareCommand.class, SweepCommand.class, CommandLine.HelpCommand.class})
public final class Lab
{
    static final int BAD_INPUT = 2;
    static final int FAILED = 1;
    static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    public static void main(String[] args)
    {
        // one log for engine and plugins: the engine logs through SLF4J, plugins through System.Logger, which
        // slf4j-jdk-platform-logging hands to SLF4J; slf4j-simple prints both in one format on stderr. The engine logs every
        // registration and decision at INFO; the lab shows its own progress instead, so only warnings unless --verbose
        if (System.getProperty(LOG_LEVEL) == null) {
            System.setProperty(LOG_LEVEL, "warn");
        }
        System.setProperty("java.awt.headless", "true");
        if (Boolean.getBoolean(SweepChild.EXIT_WITH_PARENT)) {
            SweepChild.exitWithParent();
        }
        System.exit(execute(args));
    }

    /**
     * {@code --verbose}, on every command: the engine's and the plugins' INFO lines, which carry every kill decision
     * ({@code Query Kill Decision: ...}), every revoke ({@code Revoking memory on node-0: ...}) and every plugin
     * registration. Picocli sets it while parsing, before any command builds an engine, so before SLF4J reads its level.
     */
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Log the engine's and the plugins' decisions (kills, revokes, registrations) at INFO on stderr; without it only warnings.")
    void verbose(boolean verbose)
    {
        if (verbose) {
            System.setProperty(LOG_LEVEL, "info");
        }
    }

    /** Runs the command line and returns its exit code: 0 ran, 1 a wrong result or leftovers, 2 bad input. */
    public static int execute(String... args)
    {
        CommandLine commandLine = new CommandLine(new Lab())
                .setExecutionExceptionHandler((exception, command, parseResult) -> {
                    if (exception instanceof BadInputException || exception instanceof ConfigurationException) {
                        command.getErr().println("memgov-lab: " + exception.getMessage());
                        return BAD_INPUT;
                    }
                    OutOfMemoryError outOfMemory = outOfMemoryIn(exception);
                    if (outOfMemory != null) {
                        return outOfMemory(command, outOfMemory);
                    }
                    command.getErr().println("memgov-lab: internal error: " + exception);
                    exception.printStackTrace(command.getErr());
                    return FAILED;
                });
        try {
            return commandLine.execute(args);
        }
        catch (OutOfMemoryError e) {
            // picocli hands errors on; a query's own OutOfMemoryError never gets here (the run reports it)
            return outOfMemory(commandLine, e);
        }
    }

    private static int outOfMemory(CommandLine commandLine, OutOfMemoryError error)
    {
        commandLine.getErr().println("memgov-lab: the JVM ran out of heap outside the queries (" + error + "), the run was abandoned. "
                + "Give the JVM more heap (-Xmx) or the nodes less (node.heap-size)");
        return FAILED;
    }

    // also under the IllegalArgumentException try-with-resources throws when the JVM's preallocated error is thrown twice
    private static OutOfMemoryError outOfMemoryIn(Throwable exception)
    {
        for (Throwable cause = exception; cause != null; cause = cause.getCause()) {
            if (cause instanceof OutOfMemoryError outOfMemory) {
                return outOfMemory;
            }
            if (cause.getCause() == cause) {
                break;
            }
        }
        return null;
    }
}
