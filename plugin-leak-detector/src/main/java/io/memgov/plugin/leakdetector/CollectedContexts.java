package io.memgov.plugin.leakdetector;

import io.memgov.spi.query.QueryId;

import java.time.Instant;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

import static java.util.Objects.requireNonNull;

/**
 * What the engine reported, through {@code contextCollected}, about one query's memory contexts that were
 * garbage-collected without being closed: a sign that the host forgets to close its contexts.
 *
 * @param queryId never null
 * @param contexts how many contexts were collected; positive
 * @param bytes what they still held together when collected; non-negative
 * @param tags the operator tags of the collected operator contexts, sorted; never null
 * @param lastCollected when the latest one was reported; never null
 */
record CollectedContexts(QueryId queryId, int contexts, long bytes, Set<String> tags, Instant lastCollected)
{
    CollectedContexts
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(lastCollected, "lastCollected is null");
        tags = Collections.unmodifiableSortedSet(new TreeSet<>(requireNonNull(tags, "tags is null")));
        if (contexts <= 0) {
            throw new IllegalArgumentException("contexts is not positive: " + contexts);
        }
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is negative: " + bytes);
        }
    }

    /** The first collected context of a query; {@code tag} may be null. */
    static CollectedContexts first(QueryId queryId, String tag, long bytes, Instant collected)
    {
        return new CollectedContexts(queryId, 1, bytes, tag == null ? Set.of() : Set.of(tag), collected);
    }

    /** Both reports together; saturates rather than overflows. */
    CollectedContexts plus(CollectedContexts other)
    {
        Set<String> allTags = new TreeSet<>(tags);
        allTags.addAll(other.tags);
        long totalBytes = bytes + other.bytes;
        return new CollectedContexts(
                queryId,
                (int) Math.min(Integer.MAX_VALUE, (long) contexts + other.contexts),
                totalBytes < 0 ? Long.MAX_VALUE : totalBytes,
                allTags,
                lastCollected.isAfter(other.lastCollected) ? lastCollected : other.lastCollected);
    }
}
