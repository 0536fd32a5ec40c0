package io.memgov.spi.query;

/**
 * Identifies one query across the cluster.
 *
 * @param id non-empty; letters, digits, {@code _} and {@code -} only (so that {@link TaskId} can use {@code .})
 * @since 1.0
 */
public record QueryId(String id)
        implements Comparable<QueryId>
{
    public QueryId
    {
        Identifiers.checkId(id, "queryId");
    }

    /** Same as the constructor; reads better at call sites. */
    public static QueryId of(String id)
    {
        return new QueryId(id);
    }

    @Override
    public int compareTo(QueryId other)
    {
        return id.compareTo(other.id);
    }

    @Override
    public String toString()
    {
        return id;
    }
}
