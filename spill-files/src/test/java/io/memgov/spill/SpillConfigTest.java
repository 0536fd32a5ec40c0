package io.memgov.spill;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class SpillConfigTest
{
    private static final long GB = 1024L * 1024 * 1024;

    @Test
    void defaultsAreTrinos()
    {
        SpillConfig config = SpillConfig.fromProperties(Map.of());

        assertThat(config).isEqualTo(SpillConfig.defaults());
        assertThat(config.spillPaths()).containsExactly(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().normalize());
        assertThat(config.maxSpillPerNodeBytes()).isEqualTo(100 * GB);
        assertThat(config.queryMaxSpillPerNodeBytes()).isEqualTo(100 * GB);
        assertThat(config.maxUsedSpaceThreshold()).isEqualTo(0.9);
        assertThat(config.compression()).isEqualTo(SpillCompression.NONE);
        assertThat(config.encryptionEnabled()).isFalse();
    }

    @Test
    void mapsEveryKey()
    {
        SpillConfig config = SpillConfig.fromProperties(Map.of(
                "spiller-spill-path", "/data/spill1, /data/spill2",
                "max-spill-per-node", "512MB",
                "query-max-spill-per-node", "1048576",
                "spiller-max-used-space-threshold", "0.75",
                "spill-compression-codec", "lz4",
                "spill-encryption-enabled", "TRUE"));

        assertThat(config).isEqualTo(SpillConfig.builder()
                .spillPaths(Path.of("/data/spill1"), Path.of("/data/spill2"))
                .maxSpillPerNodeBytes(512L * 1024 * 1024)
                .queryMaxSpillPerNodeBytes(1024 * 1024)
                .maxUsedSpaceThreshold(0.75)
                .compression(SpillCompression.LZ4)
                .encryptionEnabled(true)
                .build());
    }

    @Test
    void readsSizesInEveryUnitAndAsPlainBytes()
    {
        assertThat(maxSpill("100GB")).isEqualTo(100 * GB);
        assertThat(maxSpill("1.5GB")).isEqualTo(GB + GB / 2);
        assertThat(maxSpill("64kB")).isEqualTo(64 * 1024);
        assertThat(maxSpill("2TB")).isEqualTo(2048 * GB);
        assertThat(maxSpill("17B")).isEqualTo(17);
        assertThat(maxSpill("0")).isZero();
    }

    @Test
    void rejectsAnUnknownKeyNamingItsValueAndTheAcceptedKeys()
    {
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("spill-path", "/tmp")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Unknown configuration key 'spill-path' (value '/tmp'). Did you mean 'spiller-spill-path'? Accepted: [max-spill-per-node, "
                        + "query-max-spill-per-node, spill-compression-codec, spill-encryption-enabled, spiller-max-used-space-threshold, spiller-spill-path]");
    }

    @Test
    void rejectsBadSizesNamingTheKeyTheValueAndWhatIsAccepted()
    {
        for (String bad : List.of("lots", "-1GB", "10XB", "", "9999999999PB")) {
            assertThatThrownBy(() -> maxSpill(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Invalid value '" + bad + "' for 'max-spill-per-node': expected a size");
        }
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("query-max-spill-per-node", "1 gallon")))
                .hasMessageStartingWith("Invalid value '1 gallon' for 'query-max-spill-per-node': expected a size such as 512MB");
    }

    @Test
    void rejectsBadValuesOfTheOtherKeysNamingWhatIsAccepted()
    {
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("spiller-max-used-space-threshold", "1.5")))
                .hasMessage("Invalid value '1.5' for 'spiller-max-used-space-threshold': expected a ratio between 0 and 1 such as 0.9, or a percentage such as 90%");
        assertThat(SpillConfig.fromProperties(Map.of("spiller-max-used-space-threshold", "90%")).maxUsedSpaceThreshold()).isEqualTo(0.9);
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("spill-compression-codec", "ZSTD")))
                .hasMessage("Invalid value 'ZSTD' for 'spill-compression-codec': expected one of [none, lz4]");
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("spill-encryption-enabled", "yes")))
                .hasMessage("Invalid value 'yes' for 'spill-encryption-enabled': expected true or false");
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("spiller-spill-path", "/a,,/b")))
                .hasMessage("Invalid value '/a,,/b' for 'spiller-spill-path': expected comma-separated values without empty items");
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("spiller-spill-path", "/a,/a/")))
                .hasMessage("Invalid value '/a,/a/' for 'spiller-spill-path': '/a/' is listed twice");
    }

    @Test
    void rejectsAnEmptyOrBlankPathFromTheBuilderNamingTheArgument()
    {
        // issue #17, defect 9: Path.of("") resolved to the working directory, so spill files went wherever the host ran
        assertThatThrownBy(() -> SpillConfig.builder().spillPaths(Path.of("/data/spill1"), Path.of("")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("spillPaths contains an empty path: [/data/spill1, ]; expected directories such as /var/spill");
        assertThatThrownBy(() -> SpillConfig.builder().spillPaths(Path.of(" ")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("spillPaths contains a blank path ' ': [ ]; expected directories such as /var/spill");
        assertThatThrownBy(() -> SpillConfig.fromProperties(Map.of("spiller-spill-path", " ")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'spiller-spill-path'");
    }

    private static long maxSpill(String value)
    {
        return SpillConfig.fromProperties(Map.of("max-spill-per-node", value)).maxSpillPerNodeBytes();
    }
}
