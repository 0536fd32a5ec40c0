package io.memgov.engine.internal.heap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Child JVMs under {@code -Xmx64m} that retain most of their heap and churn: their GC-pressure detector must say so,
 * within seconds; one with a quarter of a 256MB heap retained, churning the same way, must not. The window is 2 s, for time; the
 * thresholds are the defaults unless a test says otherwise.
 */
final class GcPressureChildJvmTest
{
    private static final Pattern LIVE_MESSAGE = Pattern.compile(
            "GC took \\d+% of the last 2s; live heap after the last 3 full collections (\\d+)%, (\\d+)%, (\\d+)% of [\\d.]+MB");
    private static final Pattern GC_TIME_MESSAGE = Pattern.compile("GC took (\\d+)% of the last 2s; .*");

    @TempDir
    Path directory;

    @ParameterizedTest(name = "{0}")
    @Timeout(60)
    @ValueSource(strings = {"G1", "Serial", "Parallel"})
    void aHeapNearlyFullOfLiveDataIsPressure(String collector)
            throws Exception
    {
        // 88% of the heap retained: each full collection leaves 90-96% of it live (85% leaves 90% under Serial, on the edge)
        Map<String, String> figures = ChildJvm.run(directory, List.of("-Xmx64m", "-XX:+Use" + collector + "GC"), "pressure", "0.88", "2000", "8");
        System.out.println(collector + ": " + figures);

        assertThat(figures.get("pressure")).isEqualTo("true");
        assertThat(figures.get("liveHeapExceeded")).isEqualTo("true");
        Matcher message = LIVE_MESSAGE.matcher(figures.get("message"));
        assertThat(message.matches()).as(figures.get("message")).isTrue();
        for (int group = 1; group <= 3; group++) {
            assertThat(Integer.parseInt(message.group(group))).isGreaterThanOrEqualTo(90);
        }
    }

    @ParameterizedTest(name = "{0}")
    @Timeout(60)
    @ValueSource(strings = {"G1", "Serial", "Parallel"})
    void gcTakingMostOfTheTimeIsPressure(String collector)
            throws Exception
    {
        // a live threshold of 100% turns the live-heap criterion off: only GC time can decide
        Map<String, String> figures = ChildJvm.run(directory, List.of("-Xmx64m", "-XX:+Use" + collector + "GC"),
                "pressure", "0.88", "2000", "8", "0.5", "1.0", "3");
        System.out.println(collector + ": " + figures);

        assertThat(figures.get("pressure")).isEqualTo("true");
        assertThat(figures.get("gcTimeExceeded")).isEqualTo("true");
        assertThat(figures.get("liveHeapExceeded")).isEqualTo("false");
        Matcher message = GC_TIME_MESSAGE.matcher(figures.get("message"));
        assertThat(message.matches()).as(figures.get("message")).isTrue();
        assertThat(Integer.parseInt(message.group(1))).isGreaterThanOrEqualTo(50);
    }

    @Test
    @Timeout(60)
    void aHeapWithRoomToSpareIsNotPressure()
            throws Exception
    {
        // the same churn over a quarter of a 256MB heap: a loop that does nothing but allocate still spends 20-25% of its
        // time in GC (30-43% under 64MB, too close to the threshold for a test on a busy machine), and the live heap
        // stays near a third
        Map<String, String> figures = ChildJvm.run(directory, List.of("-Xmx256m", "-XX:+UseG1GC"), "pressure", "0.25", "2000", "3");
        System.out.println("G1, 25% of 256MB: " + figures);

        assertThat(figures.get("pressure")).isEqualTo("false");
        assertThat(Double.parseDouble(figures.get("highestGcTime"))).isLessThanOrEqualTo(0.5);
        assertThat(Long.parseLong(figures.get("elapsedMillis"))).isGreaterThanOrEqualTo(3_000);
    }
}
