package io.memgov.lab;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading HotSpot's count of the {@code OutOfMemoryError}s it threw, from its {@code VM.info} report. */
final class JvmOutOfMemoryErrorsTest
{
    @Test
    void addsUpTheCountLinesOfEveryKind()
    {
        // as JDK 17's VM.info prints them, among other lines that mention the error
        String report = """
                OutOfMemoryError java_heap_errors=2
                OutOfMemoryError metaspace_errors=1
                Event: 0.609 Thread 0x00007f0efc018090 Exception <a 'java/lang/OutOfMemoryError'{0x00000000fe031cf8}> (0x00000000fe031cf8)
                -XX:+HeapDumpOnOutOfMemoryError
                """;

        assertThat(JvmOutOfMemoryErrors.count(report)).isEqualTo(3);
        assertThat(JvmOutOfMemoryErrors.count("no such line\n")).isZero();
        assertThat(JvmOutOfMemoryErrors.count(null)).isEqualTo(JvmOutOfMemoryErrors.UNKNOWN);
    }

    @Test
    void countsAnOutOfMemoryErrorThisJvmThrewAndCaught()
    {
        long before = JvmOutOfMemoryErrors.thrown();
        // 16GB, more than this JVM's max heap: refused at once, without filling the heap
        OutOfMemoryError thrown = null;
        try {
            long[] tooLarge = new long[Integer.MAX_VALUE - 16];
            assertThat(tooLarge).as("a max heap over 16GB").isEmpty();
        }
        catch (OutOfMemoryError e) {
            thrown = e;
        }

        assertThat(thrown).hasMessage("Java heap space");
        assertThat(before).as("HotSpot reports its count").isNotEqualTo(JvmOutOfMemoryErrors.UNKNOWN);
        assertThat(JvmOutOfMemoryErrors.thrown()).isEqualTo(before + 1);
    }
}
