package io.memgov.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports on 127.0.0.1 for tests that start cluster members or worker processes. Ranges are picked at random below
 * Linux's ephemeral range (32768 and up, where the kernel picks the local ports of outgoing connections), so that
 * builds running at the same time rarely pick the same one. A port is free only when this checks it: a member that
 * takes the first free port of its range, or a cluster name of its own, covers a port taken since.
 *
 * @since 1.0
 */
public final class LoopbackPorts
{
    private static final int LOWEST = 20_000;
    private static final int HIGHEST = 32_000;
    private static final int ATTEMPTS = 200;

    private LoopbackPorts() {}

    /**
     * The first of {@code count} consecutive ports free on 127.0.0.1 now.
     *
     * @param count positive
     * @throws IllegalStateException if no such range was found in 200 random tries
     */
    public static int freeRange(int count)
    {
        if (count <= 0 || count > HIGHEST - LOWEST) {
            throw new IllegalArgumentException("count must be between 1 and " + (HIGHEST - LOWEST) + ": " + count);
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int first = ThreadLocalRandom.current().nextInt(LOWEST, HIGHEST - count);
            boolean free = true;
            for (int port = first; free && port < first + count; port++) {
                free = isFree(port);
            }
            if (free) {
                return first;
            }
        }
        throw new IllegalStateException("No " + count + " consecutive free ports on 127.0.0.1 between " + LOWEST + " and " + HIGHEST + " in " + ATTEMPTS + " attempts");
    }

    /** Whether a server socket can bind the port on 127.0.0.1 now. */
    public static boolean isFree(int port)
    {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        }
        catch (IOException e) {
            return false;
        }
    }
}
