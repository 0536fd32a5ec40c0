package io.memgov.engine.internal.heap;

/**
 * Smooths a per-collection figure (the live heap, or untracked memory): a full collection measures it, so the
 * smoothed value is set to its figure; a young collection only bounds it from above (the old generation may hold
 * garbage), so the smoothed value moves {@code weight} of the way toward its figure. The first figure seeds it.
 * Not thread-safe.
 */
final class CollectionSmoother
{
    private final double weight;
    private boolean seeded;
    private double value;

    CollectionSmoother(double weight)
    {
        if (!(weight > 0 && weight <= 1)) {
            throw new IllegalArgumentException("smoothing weight must be in (0, 1]: " + weight);
        }
        this.weight = weight;
    }

    long update(CollectionKind kind, long sample)
    {
        if (kind == CollectionKind.PAUSE) {
            throw new IllegalArgumentException("a pause has no figure to smooth");
        }
        if (kind == CollectionKind.FULL || !seeded) {
            value = sample;
        }
        else {
            value += weight * (sample - value);
        }
        seeded = true;
        return value();
    }

    long value()
    {
        return Math.round(value);
    }
}
