package io.memgov.plugin.reservemode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.memgov.plugin.reservemode.ReserveModeFixture.GIB;
import static io.memgov.plugin.reservemode.ReserveModeFixture.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Fixture directories under {@code src/test/resources/fixtures/<case>/} hold a {@code proc/} and a
 * {@code sys/fs/cgroup/} tree; every fixture's meminfo says MemTotal 16GiB and MemAvailable 8GiB.
 */
final class SystemMemoryProbeTest
{
    @Test
    void cgroupV2CapsAvailableMemoryByTheLimitMinusCurrentUsage()
    {
        // leaf: memory.max 2GiB, memory.current 512MiB; the parent says "max"
        SystemMemoryProbe probe = fixture("cgroup-v2");

        assertThat(probe.availableBytes()).isEqualTo(GIB + 512 * MIB);
        assertThat(probe.totalBytes()).isEqualTo(2 * GIB);
        assertThat(probe.description()).contains("user.slice/app.scope");
    }

    @Test
    void cgroupV2WithMaxMeansNoLimitEvenInsideACgroupNamespace()
    {
        // /proc/self/cgroup names a path the namespace does not show, so the mount root is the process's cgroup
        SystemMemoryProbe probe = fixture("cgroup-v2-max");

        assertThat(probe.availableBytes()).isEqualTo(8 * GIB);
        assertThat(probe.totalBytes()).isEqualTo(16 * GIB);
        assertThat(probe.cgroupLevels()).isEmpty();
    }

    @Test
    void cgroupV1CapsAvailableMemoryByTheLimitMinusUsage()
    {
        // a hybrid host: the memory controller is on v1 even though a 0:: line exists
        SystemMemoryProbe probe = fixture("cgroup-v1");

        assertThat(probe.availableBytes()).isEqualTo(2 * GIB);
        assertThat(probe.totalBytes()).isEqualTo(3 * GIB);
    }

    @Test
    void cgroupV1WithTheKernelsHugeLimitMeansNoLimit()
    {
        SystemMemoryProbe probe = fixture("cgroup-v1-unlimited");

        assertThat(probe.availableBytes()).isEqualTo(8 * GIB);
        assertThat(probe.totalBytes()).isEqualTo(16 * GIB);
    }

    @Test
    void withoutACgroupAvailableMemoryIsMemAvailable()
    {
        SystemMemoryProbe probe = fixture("no-cgroup");

        assertThat(probe.availableBytes()).isEqualTo(8 * GIB);
        assertThat(probe.totalBytes()).isEqualTo(16 * GIB);
        assertThat(probe.description()).contains("no cgroup memory limit");
    }

    @Test
    void aParentCgroupsTighterLimitWins(@TempDir Path root)
            throws IOException
    {
        // the leaf allows 4GiB but its parent only 1GiB, of which 768MiB are used by siblings and the leaf
        write(root.resolve("proc/meminfo"), "MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\n");
        write(root.resolve("proc/self/cgroup"), "0::/parent/leaf\n");
        write(root.resolve("cgroup/parent/memory.max"), String.valueOf(GIB));
        write(root.resolve("cgroup/parent/memory.current"), String.valueOf(768 * MIB));
        write(root.resolve("cgroup/parent/leaf/memory.max"), String.valueOf(4 * GIB));
        write(root.resolve("cgroup/parent/leaf/memory.current"), String.valueOf(256 * MIB));
        SystemMemoryProbe probe = new SystemMemoryProbe(root.resolve("proc"), root.resolve("cgroup"));

        assertThat(probe.availableBytes()).isEqualTo(256 * MIB);
        assertThat(probe.totalBytes()).isEqualTo(GIB);
    }

    @Test
    void aMalformedCgroupFileIsAnErrorNamingTheFile()
    {
        SystemMemoryProbe probe = fixture("cgroup-v2-malformed");

        assertThatThrownBy(probe::availableBytes)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("memory.max")
                .hasMessageContaining("found 'lots'");
    }

    @Test
    void aMissingMeminfoIsAnErrorNamingTheFile(@TempDir Path root)
    {
        SystemMemoryProbe probe = new SystemMemoryProbe(root.resolve("proc"), root.resolve("cgroup"));

        assertThatThrownBy(probe::availableBytes)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(root.resolve("proc").resolve("meminfo").toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void meminfoWithoutMemAvailableIsAnErrorNamingTheFieldAndFile(@TempDir Path root)
            throws IOException
    {
        write(root.resolve("proc/meminfo"), "MemTotal: 16777216 kB\nMemFree: 1024 kB\n");
        SystemMemoryProbe probe = new SystemMemoryProbe(root.resolve("proc"), root.resolve("cgroup"));

        assertThatThrownBy(probe::availableBytes).hasMessageContaining("no MemAvailable line in " + root.resolve("proc/meminfo"));
    }

    @Test
    void readsThisMachine()
    {
        assumeTrue(Files.isReadable(Path.of("/proc/meminfo")), "needs Linux");
        SystemMemoryProbe probe = new SystemMemoryProbe();

        assertThat(probe.availableBytes()).isPositive().isLessThanOrEqualTo(probe.totalBytes());
    }

    private static SystemMemoryProbe fixture(String name)
    {
        try {
            Path root = Path.of(SystemMemoryProbeTest.class.getResource("/fixtures/" + name).toURI());
            return new SystemMemoryProbe(root.resolve("proc"), root.resolve("sys/fs/cgroup"));
        }
        catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void write(Path file, String content)
            throws IOException
    {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }
}
