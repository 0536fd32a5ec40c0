package io.memgov.engine.internal.node;

import io.memgov.engine.OperatorMemoryContext;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.TaskMemoryContext;
import io.memgov.spi.query.QueryKilledException;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static io.memgov.spi.policy.DataSizes.succinct;
import static java.util.Objects.requireNonNull;

/**
 * The release of contexts whose host handles were garbage-collected without {@code close()}, and its reporting: the
 * cleaner's actions for operators, tasks and queries, their WARN lines and what the node's leak detector is told.
 * Each byte is reported once: an operator or task whose own action runs reports itself, unless its query's handle is
 * gone too, in which case the query's action releases it and its one line names it.
 *
 * <p>One instance per query keeps what contexts collected with the query reported before the query's own action ran
 * (the cleaner runs the actions of one collection in no set order). Every action never throws: the cleaner thread
 * would swallow it.
 */
final class ContextReclamation
{
    // the public types' loggers: hosts configure and read the contexts' log lines under those names
    private static final Logger operatorLog = LoggerFactory.getLogger(OperatorMemoryContext.class);
    private static final Logger taskLog = LoggerFactory.getLogger(TaskMemoryContext.class);
    private static final Logger queryLog = LoggerFactory.getLogger(QueryMemoryContext.class);
    // how many tasks the WARN line of a collected query names; the rest are counted
    private static final int LOGGED_TASKS = 5;

    private final QueryContextState query;
    // created on the first report, guarded by this
    private Map<TaskId, Set<String>> collectedTags;
    private long collectedBytes;

    ContextReclamation(QueryContextState query)
    {
        this.query = requireNonNull(query, "query is null");
    }

    /** The action for an operator's handle: if the operator was not closed, releases what it holds and reports it. */
    static void operatorCollected(OperatorState operator)
    {
        try {
            long released = operator.close();
            if (released >= 0) {
                TaskState task = operator.task;
                operatorLog.warn("Operator context {} {} of query {} on node {} was garbage-collected without close(); released {}",
                        task.taskId, operator.tag, task.taskId.queryId(), task.query.node().nodeId, succinct(released));
                task.query.node().contextCollected(task.taskId, operator.tag, released);
            }
        }
        catch (RuntimeException | Error e) {
            operatorLog.error("Releasing garbage-collected operator context {} failed", operator.describe(), e);
        }
    }

    /**
     * The action for a task's handle: if the task was not closed, closes it and reports it with what its still-open
     * operators held. Those operators' handles are gone too (each held the task's handle), so they are reported here,
     * as part of the task, and not again by their own actions; an operator whose own action ran first reported
     * itself. If the query's handle is gone too, the task is left to the query's action, which releases and reports
     * it with the query's other tasks in one line.
     */
    static void taskCollected(TaskState task)
    {
        try {
            if (task.query.hostHandle.isCollected()) {
                // the query's action runs too (its handle is unreachable): it closes this task if it is still open
                return;
            }
            Set<String> tags = new TreeSet<>();
            long released = task.closeCollected(tags);
            if (released < 0) {
                return;
            }
            taskLog.warn("Task context {} of query {} on node {} was garbage-collected without close(); released {}{}",
                    task.taskId, task.taskId.queryId(), task.query.node().nodeId, succinct(released), tags.isEmpty() ? "" : " held by " + tags);
            task.query.node().contextCollected(task.taskId, null, released);
        }
        catch (RuntimeException | Error e) {
            taskLog.error("Releasing garbage-collected task context {} failed", task.taskId, e);
        }
    }

    /**
     * Notes a context of this query that its own action released and reported, if the query's handle was collected
     * too: the query's action then names it in its WARN line, without reporting its bytes again.
     *
     * @param tag the operator's tag, or null for a task
     */
    void contextCollected(TaskId taskId, String tag, long bytes)
    {
        if (!query.hostHandle.isCollected()) {
            // collected alone: the query goes on, and its own release (if ever) is another story
            return;
        }
        synchronized (this) {
            if (collectedTags == null) {
                collectedTags = new TreeMap<>();
            }
            Set<String> tags = collectedTags.computeIfAbsent(taskId, ignored -> new TreeSet<>());
            if (tag != null) {
                tags.add(tag);
            }
            collectedBytes += Math.max(bytes, 0);
        }
    }

    /**
     * The action for the query's handle: if the query was not closed (killed is not closed), closes it and reports
     * what it and its still-open tasks held. Those tasks' and operators' handles are gone too (each held the query's
     * handle, directly or through its task): a task whose own action runs after this one finds itself closed, and one
     * whose action runs first leaves the release to this one; an operator whose own action ran first reported itself.
     */
    void queryCollected()
    {
        try {
            // by task id, so that the line is the same whatever order the tasks are iterated in
            Map<TaskId, Set<String>> tagsByTask = new TreeMap<>();
            long released = query.closeCollected(tagsByTask);
            if (released < 0) {
                return;
            }
            long releasedBefore;
            synchronized (this) {
                releasedBefore = collectedBytes;
                if (collectedTags != null) {
                    collectedTags.forEach((taskId, tags) -> tagsByTask.computeIfAbsent(taskId, ignored -> new TreeSet<>()).addAll(tags));
                }
            }
            QueryKilledException killed = query.failure().orElse(null);
            queryLog.warn("Query context {} on node {} was garbage-collected without close(){}; released {}{}{}",
                    query.queryId(),
                    query.node().nodeId,
                    killed == null ? "" : " after it was killed (" + killed.errorCode() + ")",
                    succinct(released + releasedBefore),
                    describeTasks(tagsByTask),
                    releasedBefore == 0 ? "" : " (" + succinct(releasedBefore) + " of it already reported by its contexts collected with it)");
            // the detector already got what those contexts reported: only the rest, so that each byte is counted once
            query.node().queryContextCollected(query.queryId(), released);
        }
        catch (RuntimeException | Error e) {
            queryLog.error("Releasing garbage-collected query context {} on node {} failed", query.queryId(), query.node().nodeId, e);
        }
    }

    // " held by its tasks q.0 [Exchange, HashAggregation], q.1 []": the first few tasks only, so the line stays bounded
    private static String describeTasks(Map<TaskId, Set<String>> tagsByTask)
    {
        if (tagsByTask.isEmpty()) {
            return "";
        }
        List<String> named = new ArrayList<>(LOGGED_TASKS);
        for (Map.Entry<TaskId, Set<String>> entry : tagsByTask.entrySet()) {
            if (named.size() == LOGGED_TASKS) {
                break;
            }
            named.add(entry.getKey() + " " + entry.getValue());
        }
        int more = tagsByTask.size() - named.size();
        return " held by its tasks " + String.join(", ", named) + (more > 0 ? " and " + more + " more" : "");
    }
}
