package io.memgov.lab;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.memgov.engine.node.QuerySession;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * A workload: engine properties it needs (nodes and their memory) and groups of queries. Read from YAML or JSON
 * ({@code etc/workloads/*.yaml} documents the format); every unknown field, bad value or unknown operator is rejected
 * with the file, the line and what is accepted.
 *
 * @param name shown in the summary
 * @param seed seeds the data and the sizes drawn from ranges
 * @param properties engine properties applied over the configuration file, e.g. {@code cluster.node-count}
 * @param queries query groups, in the order their ids are given out
 */
record Workload(String name, long seed, Map<String, String> properties, List<QueryGroup> queries)
{
    Workload
    {
        requireNonNull(name, "name is null");
        properties = Map.copyOf(properties == null ? Map.of() : properties);
        queries = List.copyOf(requireNonNull(queries, "queries is null"));
        if (queries.isEmpty()) {
            throw new IllegalArgumentException("'queries' is empty: a workload needs at least one query group");
        }
    }

    @JsonCreator
    static Workload create(
            @JsonProperty("name") String name,
            @JsonProperty("seed") Long seed,
            @JsonProperty("properties") Map<String, String> properties,
            @JsonProperty(value = "queries", required = true) List<QueryGroup> queries)
    {
        return new Workload(name == null ? "workload" : name, seed == null ? 42 : seed, properties, queries);
    }

    /** What an operator computes; names as written in workload files. */
    enum OperatorKind
    {
        HASH_AGGREGATION("hash-aggregation", "aggregate"),
        SORT("sort"),
        JOIN_BUILD("join-build");

        private final String fileName;
        // other names accepted in workload files; the issue's spelling of the aggregation is "aggregate"
        private final java.util.List<String> aliases;

        OperatorKind(String fileName, String... aliases)
        {
            this.fileName = fileName;
            this.aliases = java.util.List.of(aliases);
        }

        String fileName()
        {
            return fileName;
        }

        static OperatorKind fromFileName(String name)
        {
            for (OperatorKind kind : values()) {
                if (kind.fileName.equals(name) || kind.aliases.contains(name)) {
                    return kind;
                }
            }
            throw new IllegalArgumentException(String.format("unknown operator '%s'. Accepted: %s", name,
                    java.util.Arrays.stream(values())
                            .flatMap(kind -> java.util.stream.Stream.concat(java.util.stream.Stream.of(kind.fileName), kind.aliases.stream()))
                            .collect(Collectors.joining(", "))));
        }
    }

    /**
     * {@code count} queries alike, except for sizes drawn from ranges.
     *
     * @param arrival when the first of them is submitted, from the start of the run
     * @param interval between the submissions of two successive queries of the group
     * @param groups distinct keys of a hash aggregation; null for the other operators
     * @param revocable whether the operator holds its state as revocable memory and spills it when revoked
     */
    record QueryGroup(int count, String user, OperatorKind operator, Range rows, Range groups, Duration arrival,
            Duration interval, boolean revocable, Map<String, String> session)
    {
        QueryGroup
        {
            requireNonNull(user, "user is null");
            requireNonNull(operator, "operator is null");
            requireNonNull(rows, "rows is null");
            requireNonNull(arrival, "arrival is null");
            requireNonNull(interval, "interval is null");
            session = Map.copyOf(session == null ? Map.of() : session);
            if (count <= 0) {
                throw new IllegalArgumentException("'count' must be positive: " + count);
            }
            if (operator == OperatorKind.HASH_AGGREGATION && groups == null) {
                throw new IllegalArgumentException("'groups' (distinct keys) is required for operator hash-aggregation");
            }
            if (operator != OperatorKind.HASH_AGGREGATION && groups != null) {
                throw new IllegalArgumentException("'groups' applies to operator hash-aggregation only, not to " + operator.fileName());
            }
            // the engine checks session properties; build one session now so a typo fails at load, not mid-run
            QuerySession.Builder builder = QuerySession.builder(user);
            session.forEach(builder::property);
            builder.build();
        }

        @JsonCreator
        static QueryGroup create(
                @JsonProperty("count") Integer count,
                @JsonProperty("user") String user,
                @JsonProperty(value = "operator", required = true) String operator,
                @JsonProperty(value = "rows", required = true) String rows,
                @JsonProperty("groups") String groups,
                @JsonProperty("arrival") String arrival,
                @JsonProperty("interval") String interval,
                @JsonProperty("revocable") Boolean revocable,
                @JsonProperty("session") Map<String, String> session)
        {
            return new QueryGroup(
                    count == null ? 1 : count,
                    user == null ? "user" : user,
                    OperatorKind.fromFileName(operator),
                    Range.parse("rows", rows),
                    groups == null ? null : Range.parse("groups", groups),
                    arrival == null ? Duration.ZERO : parseDuration("arrival", arrival),
                    interval == null ? Duration.ZERO : parseDuration("interval", interval),
                    revocable != null && revocable,
                    session);
        }
    }

    /** A positive count, or {@code min..max} drawn uniformly per query from the workload's seed. */
    record Range(int min, int max)
    {
        private static final Pattern RANGE = Pattern.compile("(\\d+)\\s*\\.\\.\\s*(\\d+)");

        Range
        {
            if (min <= 0 || max < min) {
                throw new IllegalArgumentException("range " + min + ".." + max + " must be positive with min <= max");
            }
        }

        static Range parse(String field, String value)
        {
            String trimmed = value.trim().replace("_", "");
            try {
                Matcher matcher = RANGE.matcher(trimmed);
                if (matcher.matches()) {
                    return new Range(Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2)));
                }
                int exact = Integer.parseInt(trimmed);
                return new Range(exact, exact);
            }
            catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(String.format(
                        "invalid value '%s' for '%s': expected a positive whole number such as 300000 or a range such as 5000..45000", value, field));
            }
        }

        int draw(SplittableRandom random)
        {
            return min == max ? min : min + random.nextInt(max - min + 1);
        }

        @Override
        public String toString()
        {
            return min == max ? Integer.toString(min) : min + ".." + max;
        }
    }

    /** One query to run, with its sizes drawn. */
    record QuerySpec(String id, String user, OperatorKind operator, int rows, int groups, long arrivalMillis,
            boolean revocable, Map<String, String> session, long seed) {}

    /** Every query of the workload, ordered by arrival; ids {@code q0, q1, ...} in file order. */
    List<QuerySpec> expand()
    {
        SplittableRandom random = new SplittableRandom(seed);
        List<QuerySpec> specs = new ArrayList<>();
        for (QueryGroup group : queries) {
            for (int i = 0; i < group.count(); i++) {
                String id = "q" + specs.size();
                int rows = group.rows().draw(random);
                int groups = group.groups() == null ? 0 : group.groups().draw(random);
                long arrival = group.arrival().plus(group.interval().multipliedBy(i)).toMillis();
                specs.add(new QuerySpec(id, group.user(), group.operator(), rows, groups, arrival, group.revocable(), group.session(),
                        random.nextLong()));
            }
        }
        specs.sort(Comparator.comparingLong(QuerySpec::arrivalMillis));
        return specs;
    }

    /**
     * The workload {@code run} uses when none is given: {@code queries} hash aggregations of {@code rows} rows per
     * task, a third of them (user {@code analyst}) needing most of a node's pool, which oversubscribes the lab's
     * default cluster so that the killers have work. The same as {@code etc/workloads/default.yaml} for 12 and 300000.
     */
    static Workload defaultWorkload(int queries, int rows)
    {
        if (queries <= 0) {
            throw new IllegalArgumentException("invalid value '" + queries + "' for '--queries': expected a positive number");
        }
        if (rows <= 0) {
            throw new IllegalArgumentException("invalid value '" + rows + "' for '--rows': expected a positive number");
        }
        int large = (queries + 2) / 3;
        List<QueryGroup> groups = new ArrayList<>();
        groups.add(new QueryGroup(large, "analyst", OperatorKind.HASH_AGGREGATION, new Range(rows, rows), new Range(250_000, 350_000),
                Duration.ZERO, Duration.ZERO, false, Map.of()));
        if (queries > large) {
            groups.add(new QueryGroup(queries - large, "dashboard", OperatorKind.HASH_AGGREGATION, new Range(rows, rows), new Range(5_000, 45_000),
                    Duration.ZERO, Duration.ZERO, false, Map.of()));
        }
        return new Workload("default", 42, Map.of(), groups);
    }

    /** Reads a YAML or JSON file ({@code .json} is read as JSON, anything else as YAML, which JSON is a subset of). */
    static Workload read(Path file)
    {
        requireNonNull(file, "file is null");
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        }
        catch (NoSuchFileException e) {
            throw new BadInputException("Workload file '" + file + "' does not exist (--workload)");
        }
        catch (IOException e) {
            throw new BadInputException("Workload file '" + file + "' cannot be read: " + e.getMessage());
        }
        boolean json = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
        return parse(file.toString(), content, json);
    }

    static Workload readResource(String resource)
    {
        try (InputStream in = Workload.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("resource " + resource + " is missing from the lab jar");
            }
            return parse(resource, in.readAllBytes(), false);
        }
        catch (IOException e) {
            throw new IllegalStateException("resource " + resource + " cannot be read", e);
        }
    }

    static Workload parse(String source, byte[] content, boolean json)
    {
        ObjectMapper mapper = (json ? new ObjectMapper() : new ObjectMapper(new YAMLFactory()))
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        try {
            Workload workload = mapper.readValue(content, Workload.class);
            if (workload == null) {
                throw new BadInputException("Workload file '" + source + "' is empty. It needs at least a 'queries' list");
            }
            return workload;
        }
        catch (JsonProcessingException e) {
            throw new BadInputException(describe(source, e));
        }
        catch (IOException e) {
            throw new BadInputException("Workload file '" + source + "' cannot be read: " + e.getMessage());
        }
    }

    private static String describe(String source, JsonProcessingException e)
    {
        JsonLocation location = e.getLocation();
        String where = "Workload file '" + source + "'" + (location != null && location.getLineNr() > 0 ? ", near line " + location.getLineNr() : "");
        String field = e instanceof JsonMappingException mapping ? path(mapping) : "";
        if (e instanceof UnrecognizedPropertyException unknown) {
            return String.format("%s: unknown field '%s'%s. Accepted: %s", where, unknown.getPropertyName(),
                    field.lastIndexOf(".") <= 0 ? "" : " in " + field.substring(0, field.lastIndexOf(".")), new TreeMap<>(unknown.getKnownPropertyIds().stream()
                            .collect(Collectors.toMap(String::valueOf, id -> "", (a, b) -> a))).keySet());
        }
        if (e instanceof ValueInstantiationException instantiation && instantiation.getCause() != null) {
            // the parser is at the end of the object by then, so the path says which entry it was
            return where + (field.isEmpty() ? "" : ", in " + field) + ": " + instantiation.getCause().getMessage();
        }
        if (e instanceof InvalidFormatException invalid) {
            return String.format("%s: invalid value '%s'%s: expected %s", where, invalid.getValue(), field.isEmpty() ? "" : " for " + field,
                    invalid.getTargetType() == null ? "another type" : invalid.getTargetType().getSimpleName().toLowerCase(Locale.ROOT));
        }
        if (e instanceof MismatchedInputException mismatched) {
            return String.format("%s: %s%s", where, mismatched.getOriginalMessage().replaceAll(" \\(for .*?\\)", "").split("\n")[0],
                    field.isEmpty() ? "" : " (at " + field + ")");
        }
        return where + ": not valid " + "YAML/JSON: " + e.getOriginalMessage();
    }

    // e.g. queries[1].operator
    private static String path(JsonMappingException e)
    {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference reference : e.getPath()) {
            if (reference.getFieldName() != null) {
                path.append(path.length() == 0 ? "" : ".").append(reference.getFieldName());
            }
            else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m)");

    static Duration parseDuration(String field, String value)
    {
        Matcher matcher = DURATION.matcher(value.trim());
        if (!matcher.matches()) {
            throw new IllegalArgumentException(String.format(
                    "invalid value '%s' for '%s': expected a duration such as 0ms, 500ms, 2s or 1m", value, field));
        }
        long amount = Long.parseLong(matcher.group(1));
        return switch (matcher.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            default -> Duration.ofMinutes(amount);
        };
    }
}
