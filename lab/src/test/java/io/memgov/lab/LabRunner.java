package io.memgov.lab;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Runs the lab's command line in this JVM and captures what it printed. */
final class LabRunner
{
    record Result(int exitCode, String out, String err) {}

    private LabRunner() {}

    /** The repository's example workloads, {@code etc/workloads/}; tests run in {@code lab/}. */
    static Path exampleWorkloads()
    {
        return Path.of("..", "etc", "workloads");
    }

    static Path exampleWorkload(String file)
    {
        return exampleWorkloads().resolve(file);
    }

    static Path testWorkload(String file)
    {
        return Path.of("src", "test", "resources", "workloads", file);
    }

    static synchronized Result execute(String... args)
    {
        System.setProperty("java.awt.headless", "true");
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exitCode = Lab.execute(args);
            return new Result(exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
        finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
    }
}
