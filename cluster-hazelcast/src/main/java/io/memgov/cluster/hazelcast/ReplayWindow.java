package io.memgov.cluster.hazelcast;

/**
 * Refuses a sequence number seen before, the anti-replay window of IPsec (RFC 4303, section 3.4.3): the highest
 * sequence so far and a bitmap of the {@value #WIDTH} below it. A sequence newer than the highest is accepted; an
 * older one only if it is inside the window and unseen, so messages that overtake each other (two threads
 * publishing at once) are still accepted once. Thread-safe.
 */
final class ReplayWindow
{
    static final int WIDTH = 64;

    private long highest;
    private long seen;

    /** Records {@code sequence} and says whether it was new. Sequences start at 1. */
    synchronized boolean accept(long sequence)
    {
        if (sequence <= 0) {
            return false;
        }
        if (sequence > highest) {
            long shift = sequence - highest;
            seen = shift >= WIDTH ? 1 : (seen << shift) | 1;
            highest = sequence;
            return true;
        }
        long age = highest - sequence;
        if (age >= WIDTH) {
            return false;
        }
        long bit = 1L << age;
        if ((seen & bit) != 0) {
            return false;
        }
        seen |= bit;
        return true;
    }
}
