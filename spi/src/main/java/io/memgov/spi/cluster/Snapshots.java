package io.memgov.spi.cluster;

final class Snapshots
{
    private Snapshots() {}

    static void checkBytes(String name, long bytes)
    {
        if (bytes < 0) {
            throw new IllegalArgumentException(name + " is negative: " + bytes);
        }
    }
}
