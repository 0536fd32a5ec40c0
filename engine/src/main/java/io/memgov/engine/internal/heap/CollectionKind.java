package io.memgov.engine.internal.heap;

/**
 * What one garbage collection covered, which decides what its after-GC heap figure says about the live heap.
 *
 * @see HeapObserver the collector names behind each kind
 */
public enum CollectionKind
{
    /**
     * Collected the young generation (G1's mixed collections, which also take some old regions, are reported as young
     * too). The heap used after it is an upper bound of the live heap: the old generation may still hold garbage.
     */
    YOUNG,
    /**
     * Collected the whole heap: a stop-the-world full collection (Serial, Parallel, G1), or a complete concurrent cycle
     * (ZGC, Shenandoah). The heap used after it is the live heap at that moment (for a concurrent cycle, plus what was
     * allocated while it ran).
     */
    FULL,
    /**
     * A pause inside a concurrent cycle (ZGC and Shenandoah pauses, G1's remark and cleanup on JDK 20+). It counts as GC
     * time; its heap figures say nothing about the live heap.
     */
    PAUSE,
}
