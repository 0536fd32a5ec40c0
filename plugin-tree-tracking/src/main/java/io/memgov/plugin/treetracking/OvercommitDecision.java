package io.memgov.plugin.treetracking;

/**
 * What the overcommit killer decided for a request that hit a hard limit (ClickHouse's {@code OvercommitResult}).
 */
enum OvercommitDecision
{
    /** No killer, a wait of 0 or a denominator of 0: the request fails with the plain message. */
    DISABLED(""),
    /** The requester's own query has the largest ratio: it fails at once. */
    SELECTED("Query was selected to stop by OvercommitTracker"),
    /** Enough memory was freed while waiting; the request is checked again (it fails with this decision if it still does not fit). */
    MEMORY_FREED("Memory was freed, but the allocation still did not fit when checked again"),
    /** The wait ended before enough memory was freed. */
    TIMEOUTED("Waiting timeout for memory to be freed is reached"),
    /** The victim stopped, or released everything it held, and not enough memory was freed. */
    NOT_ENOUGH_FREED("Memory overcommit has not freed enough memory");

    private final String description;

    OvercommitDecision(String description)
    {
        this.description = description;
    }

    /** The suffix of a limit message, or "" for a plain message. */
    String messageSuffix()
    {
        return this == DISABLED ? "" : " OvercommitTracker decision: " + description + " (" + name() + ").";
    }
}
