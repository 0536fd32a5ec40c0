package io.memgov.spi.tracker;

/**
 * The levels of a tracker tree, leaf first: thread, query, user, node (ClickHouse's "global").
 *
 * @since 1.0
 */
public enum TrackerLevel
{
    THREAD("for thread"),
    QUERY("for query"),
    USER("for user"),
    NODE("total");

    private final String description;

    TrackerLevel(String description)
    {
        this.description = description;
    }

    /** How messages name the level, as ClickHouse does: {@code Memory limit (for query) exceeded}. */
    public String description()
    {
        return description;
    }
}
