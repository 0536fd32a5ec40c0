package io.memgov.plugin.reservemode;

import io.memgov.spi.query.QueryId;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * Full statistics of one query on one node: per tag, counts and bytes of reservations, refusals and releases.
 * Taken while the query runs, or at its end ({@code forgetQuery}) to check that what was reserved was released.
 *
 * @param queryId never null
 * @param tags per tag, sorted by tag name
 */
record QueryMemoryStatistics(QueryId queryId, List<TagMemoryStatistics> tags)
{
    QueryMemoryStatistics
    {
        requireNonNull(queryId, "queryId is null");
        tags = List.copyOf(requireNonNull(tags, "tags is null"));
    }

    /** Bytes still held per tag, only tags with a non-zero remainder, in tag order. */
    Map<String, Long> remainingBytesByTag()
    {
        Map<String, Long> remaining = new LinkedHashMap<>();
        for (TagMemoryStatistics tag : tags) {
            if (tag.remainingBytes() != 0) {
                remaining.put(tag.tag(), tag.remainingBytes());
            }
        }
        return remaining;
    }

    long remainingBytes()
    {
        return tags.stream().mapToLong(TagMemoryStatistics::remainingBytes).sum();
    }

    /** True when every tag released what it reserved. */
    boolean balanced()
    {
        return tags.stream().allMatch(tag -> tag.remainingBytes() == 0);
    }
}
