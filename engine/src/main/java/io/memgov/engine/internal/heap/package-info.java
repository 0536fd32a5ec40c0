/**
 * The real heap: what the JVM holds after garbage collection, next to what memgov tracks.
 *
 * <h2>Parts</h2>
 * <ul>
 * <li>{@link io.memgov.engine.internal.heap.HeapObserver}, one per JVM, turns the JVM's GC notifications into
 * {@link io.memgov.engine.internal.heap.HeapCollection}s and keeps a {@link io.memgov.engine.internal.heap.HeapSnapshot}; its
 * {@link io.memgov.engine.internal.heap.HeapListener}s are told after each collection, on the JVM's notification thread.</li>
 * <li>{@link io.memgov.engine.internal.heap.UntrackedMemory} turns each collection's live figure and the nodes' tracked bytes
 * into the untracked memory and each node's effective pool maximum.</li>
 * <li>{@link io.memgov.engine.internal.heap.GcPressureDetector} turns a snapshot into a
 * {@link io.memgov.engine.internal.heap.GcPressure} decision with the figures for its message.</li>
 * </ul>
 * The observer is the only part that touches the JVM; the rest is arithmetic, tested on tables of numbers.
 *
 * <h2>The figures</h2>
 * Bytes are summed over the JVM's heap memory pools (Eden, Survivor and Old of G1, Serial and Parallel; {@code ZHeap};
 * {@code Shenandoah}); Metaspace and code caches are not heap and are left out. Times are milliseconds since the JVM started, on
 * the clock the JVM stamps its collections with; it runs a few tens of milliseconds behind
 * {@code RuntimeMXBean.getUptime()}, and the observer maps one onto the other by the least difference it has seen
 * between a collection's end and its notification. The max heap is {@link java.lang.Runtime#maxMemory()}: {@code -Xmx},
 * less one survivor space under Serial and Parallel, since objects never live in it.
 * <ul>
 * <li><b>Live after the last collection</b>: heap in use when the last young or full collection ended.</li>
 * <li><b>Live after the last full collection</b>: the same, for the last collection of the whole heap.</li>
 * <li><b>Smoothed live</b>: see below.</li>
 * <li><b>GC time fraction</b>: the share of the last window (default 10 s) the application was paused for GC, from
 * each collection's start and duration; counted in 100 buckets per window, so exact to 1% of the window. Stop-the-world
 * collections and the pauses of concurrent collectors count; the concurrent cycles of ZGC and Shenandoah do not, as the
 * application runs through them (for those collectors the live-heap criterion does the work).</li>
 * <li><b>Untracked</b>: live after GC less what every node tracks, never negative.</li>
 * </ul>
 *
 * <h2>Which collections are full</h2>
 * A collection is full when it collects the whole heap, so that what it leaves in use is live: {@code G1 Old
 * Generation} (G1's full GC), {@code MarkSweepCompact} (Serial), {@code PS MarkSweep} (Parallel), and every cycle of
 * ZGC ({@code ZGC Cycles}, or {@code ZGC Major Cycles} when generational) and Shenandoah ({@code Shenandoah Cycles}).
 * Young collections ({@code G1 Young Generation}, which also carries G1's mixed collections; {@code Copy};
 * {@code PS Scavenge}; {@code ZGC Minor Cycles}) leave the old generation's garbage in place, so their figure is an
 * upper bound of the live heap. The pauses of concurrent collectors ({@code ZGC Pauses}, {@code Shenandoah Pauses},
 * {@code G1 Concurrent GC}) carry no live figure. Parallel answers {@code System.gc()} with a young collection and then
 * a full one; the full one's figure is the one that counts.
 *
 * <h2>Smoothing</h2>
 * The smoothed live heap, and the smoothed untracked memory the pools follow, are set to the figure of each full
 * collection and moved a fixed share (default 0.3) of the way toward the figure of each young one. The reasons:
 * <ul>
 * <li>A full collection measures the live heap; there is nothing to smooth, and keeping an older, higher figure would
 * shrink pools for garbage that is gone.</li>
 * <li>A young collection only bounds it from above, by the live heap plus whatever garbage the old generation holds
 * (promoted temporaries, the data of finished queries until the next mixed or full collection). Taking it at once
 * would shrink pools for that garbage, block nodes and have the killers act on memory the next collection would
 * free; averaging it in damps that saw-tooth and single spikes (a large temporary array), while a lasting change
 * still shows: 66% of it after 3 young collections, 97% after 10.</li>
 * <li>Counting in collections rather than seconds ties the response to allocation: a JVM that allocates fast
 * collects often, so the figure follows within a fraction of a second; an idle one changes neither.</li>
 * <li>When the heap does run short, the JVM collects it fully, and the figure snaps to the truth when it matters
 * most. Transient allocations between collections are what the per-node headroom is for.</li>
 * </ul>
 * A maximum over a window was considered and rejected: it holds every garbage peak of a Serial or Parallel old
 * generation for the whole window. A plain average over a time window lags a real rise as much as a fall.
 *
 * <h2>Threads</h2>
 * Nothing here runs a thread. The JVM delivers GC notifications on one thread of its own (HotSpot's {@code
 * Notification Thread}), which updates the observer and calls its listeners; listeners must return quickly.
 */
package io.memgov.engine.internal.heap;
