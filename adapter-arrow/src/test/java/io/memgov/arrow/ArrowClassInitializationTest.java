package io.memgov.arrow;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A host that names an allocation manager's factory in {@code ArrowNodeMemory.builder(node).allocationManagerFactory(
 * UnsafeAllocationManager.FACTORY)} before anything else of Arrow runs must not hit Arrow's class-initialization
 * cycle. Class initialization happens once per JVM, so the program runs in a fresh one.
 */
final class ArrowClassInitializationTest
{
    @Test
    @Timeout(60)
    void namingTheAllocationManagerFirstWorks()
            throws IOException, InterruptedException
    {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(List.of(java.toString(), "-Xmx128m", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-Djava.util.logging.config.file=" + System.getProperty("java.util.logging.config.file", ""),
                "-cp", System.getProperty("java.class.path"), ArrowClassInitialization.class.getName()))
                .redirectErrorStream(true)
                .start();
        try {
            assertThat(process.waitFor(50, TimeUnit.SECONDS)).as("the program ended").isTrue();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(output).contains("allocated 1024, reserved 1024");
            assertThat(process.exitValue()).as(output).isZero();
        }
        finally {
            process.destroyForcibly();
        }
    }
}
