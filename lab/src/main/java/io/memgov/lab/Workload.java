package io.memgov.lab;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonPOJOBuilder;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.memgov.engine.QuerySession;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
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
 * @param processes whether {@code run} and {@code compare} run it with one worker JVM per node, as {@code --processes}
 */
@JsonDeserialize(builder = Workload.Builder.class)
record Workload(String name, long seed, Map<String, String> properties, List<QueryGroup> queries, boolean processes)
{
    /** The most queries a workload (and a query group) may make: each is a thread, and one per node while it runs. */
    static final int MAX_QUERIES = 10_000;
    /** The most rows (and groups) of one task: the lab checks answers outside memgov, up to 12 bytes per row. */
    static final int MAX_ROWS = 100_000_000;
    /** The latest a query may arrive after the start of the run, in minutes: 24 hours. */
    static final long MAX_ARRIVAL_MINUTES = 24 * 60;

    private static final String ACCEPTED_NAME = "a name such as default, not blank";
    private static final String ACCEPTED_SEED = "a whole number from " + Long.MIN_VALUE + " to " + Long.MAX_VALUE + ", such as 42";
    private static final String ACCEPTED_PROPERTIES = "a mapping of engine properties, such as cluster.node-count: 2";
    private static final String ACCEPTED_QUERIES = "a list of query groups, each with at least 'operator' and 'rows'";
    private static final String ACCEPTED_GROUP = "a query group with at least 'operator' and 'rows'";
    private static final String ACCEPTED_COUNT = "a whole number from 1 to " + MAX_QUERIES;
    private static final String ACCEPTED_USER = "a user name such as analyst, not blank";
    private static final String ACCEPTED_SIZE = "a whole number from 1 to " + MAX_ROWS + " such as 300000, or a range such as 5000..45000";
    private static final String ACCEPTED_DURATION = "a duration from 0ms to " + MAX_ARRIVAL_MINUTES + "m (24 hours), such as 0ms, 500ms, 2s or 1m";
    private static final String ACCEPTED_BOOLEAN = "true or false";
    private static final String ACCEPTED_SESSION = "a mapping of session properties, such as query_max_memory: 1GB";
    // what each field of a file accepts, for the messages
    private static final Map<String, String> ACCEPTED = Map.ofEntries(
            Map.entry("name", ACCEPTED_NAME),
            Map.entry("seed", ACCEPTED_SEED),
            Map.entry("properties", ACCEPTED_PROPERTIES),
            Map.entry("processes", ACCEPTED_BOOLEAN),
            Map.entry("queries", ACCEPTED_QUERIES),
            Map.entry("count", ACCEPTED_COUNT),
            Map.entry("user", ACCEPTED_USER),
            Map.entry("operator", OperatorKind.accepted()),
            Map.entry("rows", ACCEPTED_SIZE),
            Map.entry("groups", ACCEPTED_SIZE),
            Map.entry("arrival", ACCEPTED_DURATION),
            Map.entry("interval", ACCEPTED_DURATION),
            Map.entry("revocable", ACCEPTED_BOOLEAN),
            Map.entry("session", ACCEPTED_SESSION));

    Workload
    {
        requireNonNull(name, "name is null");
        properties = Map.copyOf(properties == null ? Map.of() : properties);
        queries = List.copyOf(requireNonNull(queries, "queries is null"));
        if (queries.isEmpty()) {
            throw new IllegalArgumentException("'queries' is empty: a workload needs at least one query group");
        }
    }

    /**
     * A workload file's top-level fields, as written: Jackson sets them one by one, so an unknown field fails where it
     * is, then {@link #build()} checks and converts them.
     */
    @JsonPOJOBuilder(withPrefix = "")
    static final class Builder
    {
        private String name;
        private String seed;
        private Map<String, String> properties;
        private List<QueryGroup> queries;
        private String processes;

        Builder name(String name)
        {
            this.name = name;
            return this;
        }

        Builder seed(String seed)
        {
            this.seed = seed;
            return this;
        }

        Builder properties(Map<String, String> properties)
        {
            this.properties = properties;
            return this;
        }

        Builder queries(List<QueryGroup> queries)
        {
            this.queries = queries;
            return this;
        }

        Builder processes(String processes)
        {
            this.processes = processes;
            return this;
        }

        Workload build()
        {
            boolean parsedProcesses = false;
            if (processes != null) {
                if (!processes.trim().equalsIgnoreCase("true") && !processes.trim().equalsIgnoreCase("false")) {
                    throw FieldException.invalid("processes", processes, ACCEPTED_BOOLEAN);
                }
                parsedProcesses = Boolean.parseBoolean(processes.trim());
            }
            if (name != null && name.isBlank()) {
                throw FieldException.invalid("name", name, ACCEPTED_NAME);
            }
            long parsedSeed = 42;
            if (seed != null) {
                try {
                    parsedSeed = Long.parseLong(seed.trim().replace("_", ""));
                }
                catch (NumberFormatException e) {
                    throw FieldException.invalid("seed", seed, ACCEPTED_SEED);
                }
            }
            if (queries == null) {
                throw FieldException.missing("queries", ACCEPTED_QUERIES);
            }
            if (queries.isEmpty()) {
                throw FieldException.invalid("queries", "[]", ACCEPTED_QUERIES + ", not empty");
            }
            long total = queries.stream().mapToLong(QueryGroup::count).sum();
            if (total > MAX_QUERIES) {
                throw new IllegalArgumentException(String.format(
                        "the workload makes %d queries (the sum of every group's 'count'): expected at most %d", total, MAX_QUERIES));
            }
            return new Workload(name == null ? "workload" : name, parsedSeed, properties, queries, parsedProcesses);
        }
    }

    /** What an operator computes; names as written in workload files. */
    enum OperatorKind
    {
        HASH_AGGREGATION("hash-aggregation", "aggregate"),
        SORT("sort"),
        JOIN_BUILD("join-build"),
        // the same aggregation with its state off-heap in Arrow vectors, governed through adapter-arrow
        ARROW_HASH_AGGREGATION("arrow-hash-aggregation");

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

        /** Whether the operator groups by key, and so takes 'groups'. */
        boolean aggregates()
        {
            return this == HASH_AGGREGATION || this == ARROW_HASH_AGGREGATION;
        }

        static OperatorKind fromFileName(String name)
        {
            for (OperatorKind kind : values()) {
                if (kind.fileName.equals(name) || kind.aliases.contains(name)) {
                    return kind;
                }
            }
            throw new IllegalArgumentException(String.format("unknown operator '%s'. Accepted: %s", name, names()));
        }

        static String accepted()
        {
            return "one of " + names();
        }

        private static String names()
        {
            return java.util.Arrays.stream(values())
                    .flatMap(kind -> java.util.stream.Stream.concat(java.util.stream.Stream.of(kind.fileName), kind.aliases.stream()))
                    .collect(Collectors.joining(", "));
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
    @JsonDeserialize(builder = QueryGroup.Builder.class)
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
            if (operator.aggregates() && groups == null) {
                throw new IllegalArgumentException("'groups' (distinct keys) is required for operator " + operator.fileName());
            }
            if (!operator.aggregates() && groups != null) {
                throw new IllegalArgumentException("'groups' applies to operators hash-aggregation and arrow-hash-aggregation only, not to " + operator.fileName());
            }
            // the engine checks session properties; build one session now so a typo fails at load, not mid-run
            QuerySession.Builder builder = QuerySession.builder(user);
            session.forEach(builder::property);
            builder.build();
        }

        /** A query group's fields, as written in a file; {@link #build()} checks and converts them. */
        @JsonPOJOBuilder(withPrefix = "")
        static final class Builder
        {
            private String count;
            private String user;
            private String operator;
            private String rows;
            private String groups;
            private String arrival;
            private String interval;
            private String revocable;
            private Map<String, String> session;

            Builder count(String count)
            {
                this.count = count;
                return this;
            }

            Builder user(String user)
            {
                this.user = user;
                return this;
            }

            Builder operator(String operator)
            {
                this.operator = operator;
                return this;
            }

            Builder rows(String rows)
            {
                this.rows = rows;
                return this;
            }

            Builder groups(String groups)
            {
                this.groups = groups;
                return this;
            }

            Builder arrival(String arrival)
            {
                this.arrival = arrival;
                return this;
            }

            Builder interval(String interval)
            {
                this.interval = interval;
                return this;
            }

            Builder revocable(String revocable)
            {
                this.revocable = revocable;
                return this;
            }

            Builder session(Map<String, String> session)
            {
                this.session = session;
                return this;
            }

            QueryGroup build()
            {
                if (operator == null) {
                    throw FieldException.missing("operator", OperatorKind.accepted());
                }
                if (rows == null) {
                    throw FieldException.missing("rows", ACCEPTED_SIZE);
                }
                int parsedCount = count == null ? 1 : parseCount(count);
                if (user != null && user.isBlank()) {
                    throw FieldException.invalid("user", user, ACCEPTED_USER);
                }
                OperatorKind kind;
                try {
                    kind = OperatorKind.fromFileName(operator);
                }
                catch (IllegalArgumentException e) {
                    throw new FieldException("operator", "unknown operator '" + operator + "' for '", "': expected " + OperatorKind.accepted());
                }
                Duration first = arrival == null ? Duration.ZERO : parseDuration("arrival", arrival);
                Duration between = interval == null ? Duration.ZERO : parseDuration("interval", interval);
                // each is at most a day, so this cannot overflow
                long lastMillis = first.toMillis() + between.toMillis() * (parsedCount - 1);
                if (lastMillis > Duration.ofMinutes(MAX_ARRIVAL_MINUTES).toMillis()) {
                    throw new IllegalArgumentException(String.format(
                            "'arrival' %s plus 'interval' %s times ('count' %d - 1) has the last query arrive %d ms after the start: expected at most %dm (24 hours)",
                            arrival == null ? "0ms" : arrival.trim(), interval == null ? "0ms" : interval.trim(), parsedCount, lastMillis, MAX_ARRIVAL_MINUTES));
                }
                boolean parsedRevocable = false;
                if (revocable != null) {
                    if (!revocable.trim().equalsIgnoreCase("true") && !revocable.trim().equalsIgnoreCase("false")) {
                        throw FieldException.invalid("revocable", revocable, ACCEPTED_BOOLEAN);
                    }
                    parsedRevocable = Boolean.parseBoolean(revocable.trim());
                }
                return new QueryGroup(
                        parsedCount,
                        user == null ? "user" : user,
                        kind,
                        Range.parse("rows", rows),
                        groups == null ? null : Range.parse("groups", groups),
                        first,
                        between,
                        parsedRevocable,
                        session);
            }

            private static int parseCount(String count)
            {
                String trimmed = count.trim().replace("_", "");
                // at most 5 digits: no overflow to think about, and anything longer is out of bounds anyway
                if (!trimmed.matches("\\d{1,5}") || Integer.parseInt(trimmed) < 1 || Integer.parseInt(trimmed) > MAX_QUERIES) {
                    throw FieldException.invalid("count", count, ACCEPTED_COUNT);
                }
                return Integer.parseInt(trimmed);
            }
        }
    }

    /** A count from 1 to {@link #MAX_ROWS}, or {@code min..max} drawn uniformly per query from the workload's seed. */
    record Range(int min, int max)
    {
        // at most 9 digits each: an int, and anything longer is out of bounds anyway
        private static final Pattern RANGE = Pattern.compile("(\\d{1,9})\\s*\\.\\.\\s*(\\d{1,9})");
        private static final Pattern EXACT = Pattern.compile("\\d{1,9}");

        Range
        {
            if (min <= 0 || max < min || max > MAX_ROWS) {
                throw new IllegalArgumentException("range " + min + ".." + max + " must be from 1 to " + MAX_ROWS + " with min <= max");
            }
        }

        /** @throws FieldException naming {@code field}, the value and the accepted form */
        static Range parse(String field, String value)
        {
            String trimmed = value.trim().replace("_", "");
            Matcher matcher = RANGE.matcher(trimmed);
            int min;
            int max;
            if (matcher.matches()) {
                min = Integer.parseInt(matcher.group(1));
                max = Integer.parseInt(matcher.group(2));
            }
            else if (EXACT.matcher(trimmed).matches()) {
                min = Integer.parseInt(trimmed);
                max = min;
            }
            else {
                throw FieldException.invalid(field, value, ACCEPTED_SIZE);
            }
            if (min < 1 || max < min || max > MAX_ROWS) {
                throw FieldException.invalid(field, value, ACCEPTED_SIZE + (max < min ? ", min <= max" : ""));
            }
            return new Range(min, max);
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
     * default cluster so that the killers have work. The same as {@code etc/workloads/default.yaml} for 12 and 600000.
     */
    static Workload defaultWorkload(int queries, int rows)
    {
        if (queries <= 0 || queries > MAX_QUERIES) {
            throw new IllegalArgumentException("invalid value '" + queries + "' for '--queries': expected a whole number from 1 to " + MAX_QUERIES);
        }
        if (rows <= 0 || rows > MAX_ROWS) {
            throw new IllegalArgumentException("invalid value '" + rows + "' for '--rows': expected a whole number from 1 to " + MAX_ROWS);
        }
        int large = (queries + 2) / 3;
        List<QueryGroup> groups = new ArrayList<>();
        groups.add(new QueryGroup(large, "analyst", OperatorKind.HASH_AGGREGATION, new Range(rows, rows), new Range(500_000, 700_000),
                Duration.ZERO, Duration.ZERO, false, Map.of()));
        if (queries > large) {
            groups.add(new QueryGroup(queries - large, "dashboard", OperatorKind.HASH_AGGREGATION, new Range(rows, rows), new Range(5_000, 45_000),
                    Duration.ZERO, Duration.ZERO, false, Map.of()));
        }
        return new Workload("default", 42, Map.of(), groups, false);
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
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                // a second 'queries' (or property) would silently replace the first
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        // an empty value ("rows:", a "-" list entry) is a mistake to report, not a default to apply
        mapper.setDefaultSetterInfo(JsonSetter.Value.forValueNulls(Nulls.FAIL, Nulls.FAIL));
        String empty = "Workload file '" + source + "' is empty: expected a mapping with at least a 'queries' list";
        try {
            try (JsonParser parser = mapper.createParser(content)) {
                if (parser.nextToken() == null) {
                    throw new BadInputException(empty);
                }
            }
            Workload workload = mapper.readValue(content, Workload.class);
            if (workload == null) {
                throw new BadInputException(empty);
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

    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '(.*)'");

    // one line naming the field (its path), the bad value and what the field accepts; never Jackson's type names
    private static String describe(String source, JsonProcessingException e)
    {
        JsonLocation location = e.getLocation();
        String where = "Workload file '" + source + "'" + (location != null && location.getLineNr() > 0 ? ", near line " + location.getLineNr() : "");
        List<JsonMappingException.Reference> references = e instanceof JsonMappingException mapping ? mapping.getPath() : List.of();
        String field = path(references);
        Matcher duplicate = DUPLICATE.matcher(String.valueOf(e.getCause() instanceof JsonProcessingException cause ? cause.getOriginalMessage() : e.getOriginalMessage()));
        if (duplicate.find()) {
            return String.format("%s: field '%s' appears more than once%s: write each field once", where, duplicate.group(1),
                    field.isEmpty() ? "" : " in " + field);
        }
        if (e instanceof UnrecognizedPropertyException unknown) {
            return String.format("%s: unknown field '%s'%s. Accepted: %s", where, unknown.getPropertyName(),
                    field.lastIndexOf(".") <= 0 ? "" : " in " + field.substring(0, field.lastIndexOf(".")), new TreeMap<>(unknown.getKnownPropertyIds().stream()
                            .collect(Collectors.toMap(String::valueOf, id -> "", (a, b) -> a))).keySet());
        }
        if (e instanceof InvalidNullException) {
            return String.format("%s: '%s' has no value: expected %s", where, field, accepted(references));
        }
        if (e instanceof ValueInstantiationException instantiation && instantiation.getCause() != null) {
            // the parser is at the end of the object by then, so the path says which entry it was
            if (instantiation.getCause() instanceof FieldException bad) {
                return where + ": " + bad.describe(field);
            }
            return where + (field.isEmpty() ? "" : ", in " + field) + ": " + instantiation.getCause().getMessage();
        }
        if (e instanceof MismatchedInputException && e.getProcessor() instanceof JsonParser parser) {
            // a value of the wrong shape: a list where one value belongs, a number where a list belongs, ...
            JsonToken token = parser.currentToken();
            if (references.isEmpty()) {
                return String.format("%s: the file holds %s: expected %s", where, shape(token), accepted(references));
            }
            if (token != null && token.isScalarValue()) {
                return String.format("%s: invalid value '%s' for '%s': expected %s", where, text(parser), field, accepted(references));
            }
            return String.format("%s: '%s' is %s: expected %s", where, field, shape(token), accepted(references));
        }
        return where + ": not valid YAML/JSON: " + String.valueOf(e.getOriginalMessage()).replaceAll("\\s+", " ");
    }

    // e.g. queries[1].operator
    private static String path(List<JsonMappingException.Reference> references)
    {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference reference : references) {
            if (reference.getFieldName() != null) {
                path.append(path.length() == 0 ? "" : ".").append(reference.getFieldName());
            }
            else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    // what the field at the end of the path accepts
    private static String accepted(List<JsonMappingException.Reference> references)
    {
        if (references.isEmpty()) {
            return "a mapping with at least a 'queries' list";
        }
        JsonMappingException.Reference last = references.get(references.size() - 1);
        if (last.getFieldName() == null) {
            return ACCEPTED_GROUP;
        }
        String parent = references.size() < 2 ? "" : String.valueOf(references.get(references.size() - 2).getFieldName());
        if (references.size() == 2 && parent.equals("properties")) {
            return "a value, such as cluster.node-count: 2";
        }
        if (parent.equals("session")) {
            return "a value, such as query_max_memory: 1GB";
        }
        return ACCEPTED.getOrDefault(last.getFieldName(), "another value");
    }

    private static String shape(JsonToken token)
    {
        if (token == null) {
            return "nothing";
        }
        return switch (token) {
            case START_ARRAY -> "a list";
            case START_OBJECT -> "a mapping";
            default -> "a single value";
        };
    }

    private static String text(JsonParser parser)
    {
        try {
            return parser.getText();
        }
        catch (IOException e) {
            return "?";
        }
    }

    /** @throws FieldException naming {@code field}, the value and the accepted form, also when it is over a day */
    static Duration parseDuration(String field, String value)
    {
        // the SPI's one grammar (500ms, 1s, 1.5m, 0), bounded to a day so that arrival times cannot overflow
        Duration duration;
        try {
            duration = PolicyConfig.parseDuration(field, value);
        }
        catch (PolicyConfigException e) {
            throw FieldException.invalid(field, value, ACCEPTED_DURATION);
        }
        if (duration.compareTo(Duration.ofMinutes(MAX_ARRIVAL_MINUTES)) > 0) {
            throw FieldException.invalid(field, value, ACCEPTED_DURATION);
        }
        return duration;
    }

    /**
     * A bad value of one field of a workload file. The field is named by its path in the file when the parser knows
     * it ({@code queries[1].rows}), by its own name otherwise.
     */
    static final class FieldException
            extends IllegalArgumentException
    {
        private final String field;
        private final String before;
        private final String after;

        private FieldException(String field, String before, String after)
        {
            super(before + field + after);
            this.field = field;
            this.before = before;
            this.after = after;
        }

        static FieldException invalid(String field, String value, String accepted)
        {
            return new FieldException(field, "invalid value '" + value + "' for '", "': expected " + accepted);
        }

        static FieldException missing(String field, String accepted)
        {
            return new FieldException(field, "'", "' is required: expected " + accepted);
        }

        /** @param path where the object holding the field is, e.g. {@code queries[1]}; empty at the top */
        String describe(String path)
        {
            return before + (path.isEmpty() ? field : path + "." + field) + after;
        }
    }
}
