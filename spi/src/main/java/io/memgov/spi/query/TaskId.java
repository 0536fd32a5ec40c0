package io.memgov.spi.query;

import static java.util.Objects.requireNonNull;

/**
 * Identifies the part of a query that runs on one node. Written {@code <queryId>.<localId>}, e.g. {@code q1.0.3}.
 *
 * @param queryId the query this task belongs to; never null
 * @param localId the task's id within its query; non-empty, letters, digits, {@code _}, {@code -} and {@code .}
 * @since 1.0
 */
public record TaskId(QueryId queryId, String localId)
        implements Comparable<TaskId>
{
    public TaskId
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(localId, "localId is null");
        if (localId.isEmpty() || !localId.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.')) {
            throw new IllegalArgumentException("localId must be non-empty and contain only letters, digits, '_', '-' and '.': '" + localId + "'");
        }
    }

    public static TaskId of(QueryId queryId, String localId)
    {
        return new TaskId(queryId, localId);
    }

    /**
     * Parses {@code <queryId>.<localId>}, splitting at the first dot.
     *
     * @throws IllegalArgumentException if there is no dot or either part is invalid
     */
    public static TaskId valueOf(String text)
    {
        requireNonNull(text, "text is null");
        int dot = text.indexOf('.');
        if (dot <= 0 || dot == text.length() - 1) {
            throw new IllegalArgumentException("task id must look like '<queryId>.<localId>': '" + text + "'");
        }
        return new TaskId(new QueryId(text.substring(0, dot)), text.substring(dot + 1));
    }

    @Override
    public int compareTo(TaskId other)
    {
        int byQuery = queryId.compareTo(other.queryId);
        return byQuery != 0 ? byQuery : localId.compareTo(other.localId);
    }

    @Override
    public String toString()
    {
        return queryId + "." + localId;
    }
}
