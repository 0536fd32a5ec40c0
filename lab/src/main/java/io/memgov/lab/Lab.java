package io.memgov.lab;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * memgov's main job. {@code plugins} lists what the engine discovers; {@code run} runs a workload of concurrent
 * queries on an embedded cluster and reports what memory governance did.
 */
@Command(name = "memgov-lab",
        mixinStandardHelpOptions = true,
        version = "memgov-lab 0.1.0",
        description = "Runs workloads of concurrent queries on an embedded memgov cluster and shows what memory governance did.",
        subcommands = {PluginsCommand.class, RunCommand.class, CommandLine.HelpCommand.class})
public final class Lab
{
    public static void main(String[] args)
    {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code: 0 ran, 1 a wrong result or leftover memory, 2 bad input. */
    public static int execute(String... args)
    {
        return new CommandLine(new Lab())
                .setExecutionExceptionHandler((exception, commandLine, parseResult) -> {
                    commandLine.getErr().println("memgov-lab: " + exception.getMessage());
                    return 2;
                })
                .execute(args);
    }
}
