package io.memgov.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.CoordinatorState;
import io.memgov.spi.cluster.MemoryPoolAssignment;
import io.memgov.spi.cluster.NodeSnapshot;
import io.memgov.spi.cluster.QuerySnapshot;
import io.memgov.spi.cluster.TaskSnapshot;
import io.memgov.spi.pool.MemoryAllocation;
import io.memgov.spi.pool.MemoryPoolInfo;
import io.memgov.spi.pool.MemoryPoolKind;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.NodeId;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.QueryState;
import io.memgov.spi.query.RetryPolicy;
import io.memgov.spi.query.TaskId;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * The wire form of what a cluster transport carries: {@link NodeSnapshot}s, {@link ClusterCommand}s and the
 * {@link CoordinatorState}, as JSON. Every document is an object with {@code "version": 1} and a {@code "type"}
 * ({@code node-snapshot}, {@code kill-query}, {@code kill-tasks}, {@code assign-pools}, {@code coordinator-state}).
 * Pools use the field names Trino's {@code /v1/memory} uses, plus {@code "kind"} ({@code HEAP} or {@code DIRECT}; a
 * pool without it, as written before pools had kinds, is read as {@code HEAP}); ids are strings ({@code q1}, {@code q1.0},
 * {@code node-0}); instants are ISO-8601 UTC; durations are nanoseconds; an unset session limit is {@code null}.
 * The format, with an example node snapshot, is in the README ("The cluster JSON").
 *
 * <p>Reading is strict: a missing or mistyped field, an unknown type or version, or a value the records refuse
 * throws {@link IllegalArgumentException} naming the field. Fields this version does not know are ignored, so a newer
 * writer may add fields. Stateless and thread-safe.
 *
 * @since 1.0
 */
public final class ClusterJson
{
    /** The version this class writes and reads. */
    public static final int VERSION = 1;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private ClusterJson() {}

    // ---- writing

    public static String write(NodeSnapshot snapshot)
    {
        requireNonNull(snapshot, "snapshot is null");
        ObjectNode json = document("node-snapshot");
        json.put("node", snapshot.nodeId().toString());
        json.put("sequence", snapshot.sequence());
        json.put("takenAt", snapshot.takenAt().toString());
        json.put("assignmentVersion", snapshot.assignmentVersion());
        if (snapshot.arbitrating()) {
            // written only when true, so a snapshot without arbitration reads the same to an older reader
            json.put("arbitrating", true);
        }
        ArrayNode pools = json.putArray("pools");
        snapshot.pools().forEach(pool -> pools.add(pool(pool)));
        ArrayNode queries = json.putArray("queries");
        snapshot.queries().forEach(query -> queries.add(query(query)));
        return text(json);
    }

    public static String write(ClusterCommand command)
    {
        requireNonNull(command, "command is null");
        ObjectNode json;
        if (command instanceof ClusterCommand.KillQuery kill) {
            json = document("kill-query");
            json.put("query", kill.queryId().toString());
            json.put("errorCode", kill.errorCode().name());
            json.put("message", kill.message());
        }
        else if (command instanceof ClusterCommand.KillTasks kill) {
            json = document("kill-tasks");
            ArrayNode tasks = json.putArray("tasks");
            new TreeSet<>(kill.taskIds().stream().map(TaskId::toString).toList()).forEach(tasks::add);
            json.put("errorCode", kill.errorCode().name());
            json.put("message", kill.message());
        }
        else {
            json = document("assign-pools");
            json.set("assignment", assignment(((ClusterCommand.AssignPools) command).assignment()));
        }
        return text(json);
    }

    public static String write(CoordinatorState state)
    {
        requireNonNull(state, "state is null");
        ObjectNode json = document("coordinator-state");
        ArrayNode queries = json.putArray("killedQueries");
        new TreeSet<>(state.killedQueries()).forEach(query -> queries.add(query.toString()));
        ArrayNode tasks = json.putArray("killedTasks");
        new TreeSet<>(state.killedTasks().stream().map(TaskId::toString).toList()).forEach(tasks::add);
        putInstant(json, "killedAt", state.killedAt());
        putInstant(json, "outOfMemorySince", state.outOfMemorySince());
        json.set("assignment", assignment(state.assignment()));
        return text(json);
    }

    private static ObjectNode document(String type)
    {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("version", VERSION);
        json.put("type", type);
        return json;
    }

    private static ObjectNode pool(MemoryPoolInfo pool)
    {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("id", pool.poolId());
        json.put("kind", pool.kind().name());
        json.put("maxBytes", pool.maxBytes());
        json.put("reservedBytes", pool.reservedBytes());
        json.put("reservedRevocableBytes", pool.reservedRevocableBytes());
        json.set("queryMemoryReservations", bytesById(pool.queryMemoryReservations()));
        ObjectNode allocations = json.putObject("queryMemoryAllocations");
        new TreeMap<>(byString(pool.queryMemoryAllocations())).forEach((query, list) -> {
            ArrayNode tags = allocations.putArray(query);
            list.forEach(allocation -> tags.addObject().put("tag", allocation.tag()).put("allocation", allocation.allocationBytes()));
        });
        json.set("queryMemoryRevocableReservations", bytesById(pool.queryMemoryRevocableReservations()));
        json.set("taskMemoryReservations", bytesById(pool.taskMemoryReservations()));
        json.set("taskMemoryRevocableReservations", bytesById(pool.taskRevocableMemoryReservations()));
        return json;
    }

    private static ObjectNode query(QuerySnapshot query)
    {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("id", query.queryId().toString());
        json.put("user", query.user());
        json.put("retryPolicy", query.retryPolicy().name());
        json.put("priority", query.priority());
        json.put("resourceOvercommit", query.resourceOvercommit());
        putLimit(json, "maxMemoryBytes", query.maxMemoryBytes());
        putLimit(json, "maxTotalMemoryBytes", query.maxTotalMemoryBytes());
        json.put("startTime", query.startTime().toString());
        json.put("state", query.state().name());
        putInstant(json, "endTime", query.endTime());
        if (query.failure() == null) {
            json.putNull("failure");
        }
        else {
            json.putObject("failure").put("errorCode", query.failure().name()).put("message", query.failureMessage());
        }
        json.put("userBytes", query.userBytes());
        json.put("systemBytes", query.systemBytes());
        json.put("revocableBytes", query.revocableBytes());
        json.put("cumulativeUserMemoryByteSeconds", query.cumulativeUserMemoryByteSeconds());
        json.put("cumulativeTotalMemoryByteSeconds", query.cumulativeTotalMemoryByteSeconds());
        ArrayNode tasks = json.putArray("tasks");
        for (TaskSnapshot task : query.tasks()) {
            ObjectNode taskJson = tasks.addObject();
            taskJson.put("id", task.taskId().toString());
            taskJson.put("speculative", task.speculative());
            taskJson.put("executionNanos", task.executionTime().toNanos());
            taskJson.put("userBytes", task.userBytes());
            taskJson.put("systemBytes", task.systemBytes());
            taskJson.put("revocableBytes", task.revocableBytes());
            if (task.failure() == null) {
                taskJson.putNull("failure");
            }
            else {
                taskJson.put("failure", task.failure().name());
            }
        }
        return json;
    }

    private static ObjectNode assignment(MemoryPoolAssignment assignment)
    {
        ObjectNode json = MAPPER.createObjectNode();
        json.put("version", assignment.version());
        ObjectNode placements = json.putObject("placements");
        new TreeMap<>(byString(assignment.placements())).forEach(placements::put);
        return json;
    }

    private static ObjectNode bytesById(Map<?, Long> bytes)
    {
        ObjectNode json = MAPPER.createObjectNode();
        new TreeMap<>(byString(bytes)).forEach(json::put);
        return json;
    }

    private static <V> Map<String, V> byString(Map<?, V> map)
    {
        Map<String, V> result = new LinkedHashMap<>();
        map.forEach((key, value) -> result.put(key.toString(), value));
        return result;
    }

    private static void putInstant(ObjectNode json, String field, Instant instant)
    {
        if (instant == null) {
            json.putNull(field);
        }
        else {
            json.put(field, instant.toString());
        }
    }

    private static void putLimit(ObjectNode json, String field, long bytes)
    {
        if (bytes == Long.MAX_VALUE) {
            json.putNull(field);
        }
        else {
            json.put(field, bytes);
        }
    }

    private static String text(JsonNode json)
    {
        try {
            return MAPPER.writeValueAsString(json);
        }
        catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a JSON tree: " + e.getMessage(), e);
        }
    }

    // ---- reading

    /** Reads a {@code node-snapshot} document. */
    public static NodeSnapshot readNodeSnapshot(String text)
    {
        JsonNode json = parse(text, "node-snapshot");
        List<MemoryPoolInfo> pools = list(json, "pools", ClusterJson::readPool);
        List<QuerySnapshot> queries = list(json, "queries", ClusterJson::readQuery);
        return construct("node-snapshot", () -> new NodeSnapshot(NodeId.of(string(json, "node")), longValue(json, "sequence"), instant(json, "takenAt"),
                pools, longValue(json, "assignmentVersion"), queries, json.has("arbitrating") && bool(json, "arbitrating")));
    }

    /** Reads a {@code kill-query}, {@code kill-tasks} or {@code assign-pools} document. */
    public static ClusterCommand readCommand(String text)
    {
        JsonNode json = parse(text, null);
        String type = string(json, "type");
        return switch (type) {
            case "kill-query" -> construct(type, () -> new ClusterCommand.KillQuery(QueryId.of(string(json, "query")),
                    enumValue(json, "errorCode", ErrorCode.class), string(json, "message")));
            case "kill-tasks" -> construct(type, () -> new ClusterCommand.KillTasks(Set.copyOf(list(json, "tasks", task -> TaskId.valueOf(text(task, "tasks[]")))),
                    enumValue(json, "errorCode", ErrorCode.class), string(json, "message")));
            case "assign-pools" -> construct(type, () -> new ClusterCommand.AssignPools(readAssignment(object(json, "assignment"))));
            default -> throw new IllegalArgumentException("Invalid value '" + type + "' for 'type': expected kill-query, kill-tasks or assign-pools");
        };
    }

    /** Reads a {@code coordinator-state} document. */
    public static CoordinatorState readCoordinatorState(String text)
    {
        JsonNode json = parse(text, "coordinator-state");
        return construct("coordinator-state", () -> new CoordinatorState(
                Set.copyOf(list(json, "killedQueries", query -> QueryId.of(text(query, "killedQueries[]")))),
                Set.copyOf(list(json, "killedTasks", task -> TaskId.valueOf(text(task, "killedTasks[]")))),
                nullableInstant(json, "killedAt"),
                nullableInstant(json, "outOfMemorySince"),
                readAssignment(object(json, "assignment"))));
    }

    private static JsonNode parse(String text, String expectedType)
    {
        requireNonNull(text, "text is null");
        JsonNode json;
        try {
            json = MAPPER.readTree(text);
        }
        catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Not a JSON document: " + e.getOriginalMessage(), e);
        }
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException("Expected a JSON object, got " + (json == null ? "nothing" : json.getNodeType().name().toLowerCase()));
        }
        long version = longValue(json, "version");
        if (version != VERSION) {
            throw new IllegalArgumentException("Invalid value '" + version + "' for 'version': expected " + VERSION);
        }
        if (expectedType != null && !string(json, "type").equals(expectedType)) {
            throw new IllegalArgumentException("Invalid value '" + string(json, "type") + "' for 'type': expected " + expectedType);
        }
        return json;
    }

    private static MemoryPoolInfo readPool(JsonNode json)
    {
        Map<QueryId, List<MemoryAllocation>> allocations = new LinkedHashMap<>();
        JsonNode allocationsJson = object(json, "queryMemoryAllocations");
        for (Iterator<Map.Entry<String, JsonNode>> fields = allocationsJson.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = fields.next();
            if (!entry.getValue().isArray()) {
                throw mistyped("queryMemoryAllocations." + entry.getKey(), "an array", entry.getValue());
            }
            List<MemoryAllocation> tags = new ArrayList<>();
            for (JsonNode tag : entry.getValue()) {
                tags.add(construct("allocation", () -> new MemoryAllocation(string(tag, "tag"), longValue(tag, "allocation"))));
            }
            allocations.put(QueryId.of(entry.getKey()), tags);
        }
        return construct("pool", () -> new MemoryPoolInfo(string(json, "id"), longValue(json, "maxBytes"), longValue(json, "reservedBytes"),
                longValue(json, "reservedRevocableBytes"),
                bytes(json, "queryMemoryReservations", QueryId::of), allocations, bytes(json, "queryMemoryRevocableReservations", QueryId::of),
                bytes(json, "taskMemoryReservations", TaskId::valueOf), bytes(json, "taskMemoryRevocableReservations", TaskId::valueOf),
                // written since pools have kinds; a document without it is of a heap pool
                json.has("kind") ? enumValue(json, "kind", MemoryPoolKind.class) : MemoryPoolKind.HEAP));
    }

    private static QuerySnapshot readQuery(JsonNode json)
    {
        JsonNode failure = json.get("failure");
        if (failure == null) {
            throw new IllegalArgumentException("Missing field 'failure'");
        }
        ErrorCode failureCode = failure.isNull() ? null : enumValue(failure, "errorCode", ErrorCode.class);
        String failureMessage = failure.isNull() ? null : string(failure, "message");
        List<TaskSnapshot> tasks = list(json, "tasks", task -> construct("task", () -> new TaskSnapshot(TaskId.valueOf(string(task, "id")), bool(task, "speculative"),
                Duration.ofNanos(longValue(task, "executionNanos")), longValue(task, "userBytes"), longValue(task, "systemBytes"), longValue(task, "revocableBytes"),
                nullableEnum(task, "failure", ErrorCode.class))));
        return construct("query", () -> new QuerySnapshot(QueryId.of(string(json, "id")), string(json, "user"), enumValue(json, "retryPolicy", RetryPolicy.class),
                (int) longValue(json, "priority"), bool(json, "resourceOvercommit"), limit(json, "maxMemoryBytes"), limit(json, "maxTotalMemoryBytes"),
                instant(json, "startTime"), enumValue(json, "state", QueryState.class), nullableInstant(json, "endTime"), failureCode, failureMessage,
                longValue(json, "userBytes"), longValue(json, "systemBytes"), longValue(json, "revocableBytes"), tasks,
                // added in 1.1 without a new version: a document from an older writer has none, read as zero
                optionalNumber(json, "cumulativeUserMemoryByteSeconds"), optionalNumber(json, "cumulativeTotalMemoryByteSeconds")));
    }

    private static MemoryPoolAssignment readAssignment(JsonNode json)
    {
        Map<QueryId, String> placements = new LinkedHashMap<>();
        JsonNode placementsJson = object(json, "placements");
        for (Iterator<Map.Entry<String, JsonNode>> fields = placementsJson.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = fields.next();
            placements.put(QueryId.of(entry.getKey()), text(entry.getValue(), "placements." + entry.getKey()));
        }
        return construct("assignment", () -> new MemoryPoolAssignment(longValue(json, "version"), placements));
    }

    private static <K> Map<K, Long> bytes(JsonNode json, String field, Function<String, K> key)
    {
        Map<K, Long> result = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> fields = object(json, field).fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = fields.next();
            if (!entry.getValue().canConvertToExactIntegral() || !entry.getValue().canConvertToLong()) {
                throw mistyped(field + "." + entry.getKey(), "a whole number", entry.getValue());
            }
            result.put(construct(field, () -> key.apply(entry.getKey())), entry.getValue().longValue());
        }
        return result;
    }

    private static <T> List<T> list(JsonNode json, String field, Function<JsonNode, T> reader)
    {
        JsonNode array = field(json, field);
        if (!array.isArray()) {
            throw mistyped(field, "an array", array);
        }
        List<T> result = new ArrayList<>(array.size());
        for (JsonNode element : array) {
            result.add(reader.apply(element));
        }
        return result;
    }

    private static JsonNode object(JsonNode json, String field)
    {
        JsonNode value = field(json, field);
        if (!value.isObject()) {
            throw mistyped(field, "an object", value);
        }
        return value;
    }

    private static JsonNode field(JsonNode json, String field)
    {
        JsonNode value = json.get(field);
        if (value == null) {
            throw new IllegalArgumentException("Missing field '" + field + "'");
        }
        return value;
    }

    private static String string(JsonNode json, String field)
    {
        return text(field(json, field), field);
    }

    private static String text(JsonNode value, String field)
    {
        if (!value.isTextual()) {
            throw mistyped(field, "a string", value);
        }
        return value.textValue();
    }

    private static long longValue(JsonNode json, String field)
    {
        JsonNode value = field(json, field);
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw mistyped(field, "a whole number", value);
        }
        return value.longValue();
    }

    private static double optionalNumber(JsonNode json, String field)
    {
        JsonNode value = json.get(field);
        if (value == null) {
            return 0;
        }
        if (!value.isNumber()) {
            throw mistyped(field, "a number", value);
        }
        return value.doubleValue();
    }

    private static long limit(JsonNode json, String field)
    {
        return field(json, field).isNull() ? Long.MAX_VALUE : longValue(json, field);
    }

    private static boolean bool(JsonNode json, String field)
    {
        JsonNode value = field(json, field);
        if (!value.isBoolean()) {
            throw mistyped(field, "true or false", value);
        }
        return value.booleanValue();
    }

    private static Instant instant(JsonNode json, String field)
    {
        String text = string(json, field);
        try {
            return Instant.parse(text);
        }
        catch (DateTimeParseException e) {
            throw new IllegalArgumentException("Invalid value '" + text + "' for '" + field + "': expected an ISO-8601 instant such as 2024-01-01T00:00:00Z", e);
        }
    }

    private static Instant nullableInstant(JsonNode json, String field)
    {
        return field(json, field).isNull() ? null : instant(json, field);
    }

    private static <E extends Enum<E>> E enumValue(JsonNode json, String field, Class<E> type)
    {
        String text = string(json, field);
        try {
            return Enum.valueOf(type, text);
        }
        catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Invalid value '" + text + "' for '" + field + "': expected one of " + List.of(type.getEnumConstants()), e);
        }
    }

    private static <E extends Enum<E>> E nullableEnum(JsonNode json, String field, Class<E> type)
    {
        return field(json, field).isNull() ? null : enumValue(json, field, type);
    }

    private static IllegalArgumentException mistyped(String field, String expected, JsonNode value)
    {
        JsonNodeType type = value.getNodeType();
        return new IllegalArgumentException("Invalid value " + value + " for '" + field + "': expected " + expected + ", got " + type.name().toLowerCase());
    }

    // the records check their own invariants (ids, non-negative bytes, consistent states); say which document broke one
    private static <T> T construct(String what, java.util.function.Supplier<T> constructor)
    {
        try {
            return constructor.get();
        }
        catch (NullPointerException e) {
            throw new IllegalArgumentException("Invalid " + what + ": " + e.getMessage(), e);
        }
    }
}
