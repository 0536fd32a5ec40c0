package io.memgov.spi.query;

/**
 * Identifies one memory domain: a worker JVM, or one of several nodes simulated in one JVM.
 *
 * @param id non-empty; letters, digits, {@code _} and {@code -} only
 * @since 1.0
 */
public record NodeId(String id)
        implements Comparable<NodeId>
{
    public NodeId
    {
        Identifiers.checkId(id, "nodeId");
    }

    public static NodeId of(String id)
    {
        return new NodeId(id);
    }

    @Override
    public int compareTo(NodeId other)
    {
        return id.compareTo(other.id);
    }

    @Override
    public String toString()
    {
        return id;
    }
}
