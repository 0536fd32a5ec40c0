package io.memgov.engine.internal.heap;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs {@link HeapChild} in a JVM of its own, with this test's class path, and returns the figures it printed. The
 * child opens no socket; it is destroyed whatever happens.
 */
final class ChildJvm
{
    private static final long TIMEOUT_SECONDS = 30;

    private ChildJvm() {}

    /**
     * @param options JVM options, e.g. {@code -Xmx64m -XX:+UseSerialGC}
     * @param arguments {@link HeapChild}'s arguments
     * @return the {@code key=value} pairs of its {@value HeapChild#RESULT} line
     */
    static Map<String, String> run(Path directory, List<String> options, String... arguments)
            throws IOException, InterruptedException
    {
        Path output = Files.createTempFile(directory, "child", ".txt");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), HeapChild.class.getName()));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        try {
            assertThat(process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("child %s ended within %ss", command, TIMEOUT_SECONDS).isTrue();
        }
        finally {
            process.destroyForcibly();
        }
        String printed = Files.readString(output);
        // a JDK built without the collector: nothing to test here
        Assumptions.assumeFalse(printed.contains("Unrecognized VM option") || printed.contains("not supported in this VM"), printed);
        assertThat(process.exitValue()).as(printed).isZero();
        String result = printed.lines()
                .filter(line -> line.startsWith(HeapChild.RESULT + " "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + HeapChild.RESULT + " line in:\n" + printed));
        return parse(result.substring(HeapChild.RESULT.length() + 1));
    }

    // key=value pairs separated by spaces; "message=" takes the rest of the line
    private static Map<String, String> parse(String pairs)
    {
        Map<String, String> values = new LinkedHashMap<>();
        String rest = pairs;
        while (!rest.isEmpty()) {
            int equals = rest.indexOf('=');
            String key = rest.substring(0, equals);
            int end = key.equals("message") ? rest.length() : rest.indexOf(' ', equals) < 0 ? rest.length() : rest.indexOf(' ', equals);
            values.put(key, rest.substring(equals + 1, end));
            rest = end == rest.length() ? "" : rest.substring(end + 1);
        }
        return values;
    }
}
