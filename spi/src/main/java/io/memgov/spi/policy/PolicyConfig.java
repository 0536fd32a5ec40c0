package io.memgov.spi.policy;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * The configuration keys of one policy, with one grammar for every kind of value and one set of messages. A factory
 * receives the keys under its policy's prefix with the prefix stripped ({@code min-task-bytes} for
 * {@code query.low-memory-killer.most-tasks-on-blocked-nodes.min-task-bytes}); every message names the full key.
 *
 * <pre>{@code
 * config.requireOnly("reserve-size", "check-interval");           // a typo fails start-up, with "did you mean"
 * long reserve = config.size("reserve-size", 512 * MB);           // 512MB, 4GB, 1.5GB, 1024 (bytes)
 * Duration interval = config.duration("check-interval", Duration.ofSeconds(1));   // 500ms, 1s, 5m
 * }</pre>
 *
 * <p><b>Grammar.</b>
 * <ul>
 * <li>size: a non-negative number with an optional unit, e.g. {@code 1024}, {@code 512MB}, {@code 1.5GB}. Units are
 *     1024-based and case-insensitive: {@code B}, {@code kB}/{@code K}/{@code KiB}, {@code MB}/{@code M}/{@code MiB},
 *     {@code GB}, {@code TB}, {@code PB} and their short and binary forms. A fraction is allowed with a unit above a byte
 *     ({@code 1.5GB}); what is left of a byte is dropped. Where a key
 *     allows a share ({@link #sizeOrShare}), {@code 30%} is that share of a whole the caller gives.</li>
 * <li>duration: a non-negative number with a unit, e.g. {@code 500ms}, {@code 1s}, {@code 1.5m}: {@code ns},
 *     {@code us}, {@code ms}, {@code s}, {@code m}, {@code h}, {@code d}; a bare {@code 0} is zero.</li>
 * <li>ratio: a number between 0 and 1 ({@code 0.9}) or a percentage ({@code 90%}).</li>
 * <li>boolean: {@code true} or {@code false}, case-insensitive.</li>
 * <li>integer: a whole number within the bounds the caller gives.</li>
 * <li>choice: one of an enum's constants, written in kebab case ({@code LEAST_WASTE} is {@code least-waste}),
 *     case-insensitive.</li>
 * <li>list: comma-separated values, each trimmed; empty items are refused.</li>
 * </ul>
 * Values are trimmed before parsing. A bad value throws {@link PolicyConfigException} with the message
 * {@code Invalid value '<value>' for '<full key>': expected <what is accepted>}.
 *
 * <p>Immutable and thread-safe. The static {@code parse*} methods apply the same grammar to a single value, for hosts
 * and modules with keys of their own.
 *
 * @since 1.0
 */
public final class PolicyConfig
{
    private static final PolicyConfig EMPTY = new PolicyConfig("", Map.of());
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)");
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Zµ]+)");
    private static final Pattern NUMBER = Pattern.compile("\\d+(?:\\.\\d+)?");
    private static final String SIZE_EXPECTED = "a size such as 512MB, 4GB or a number of bytes";
    private static final String SHARE_EXPECTED = "a size such as 512MB or 4GB, or a percentage between 0% and 100% such as 30%";
    private static final String DURATION_EXPECTED = "a duration such as 500ms, 1s or 5m";
    private static final String RATIO_EXPECTED = "a ratio between 0 and 1 such as 0.9, or a percentage such as 90%";

    private final String prefix;
    private final Map<String, String> values;

    private PolicyConfig(String prefix, Map<String, String> values)
    {
        this.prefix = prefix;
        this.values = values;
    }

    /**
     * The configuration of a policy whose keys start with {@code prefix}.
     *
     * @param prefix what the keys had in front of them, e.g. {@code memory.pool.reserve-mode.}, used in messages; may be
     *        empty (then keys are full keys); never null
     * @param values the keys with the prefix stripped; never null, no null keys or values; copied
     */
    public static PolicyConfig of(String prefix, Map<String, String> values)
    {
        requireNonNull(prefix, "prefix is null");
        requireNonNull(values, "values is null");
        Map<String, String> copy = new TreeMap<>();
        values.forEach((key, value) -> copy.put(requireNonNull(key, "key is null"), requireNonNull(value, () -> "value of '" + prefix + key + "' is null")));
        return new PolicyConfig(prefix, Collections.unmodifiableMap(copy));
    }

    /** No keys, no prefix. */
    public static PolicyConfig empty()
    {
        return EMPTY;
    }

    /** The prefix the keys had, e.g. {@code memory.pool.reserve-mode.}; empty for full keys. */
    public String prefix()
    {
        return prefix;
    }

    /** The full key of {@code key}: the prefix followed by it. */
    public String fullKey(String key)
    {
        return prefix + requireNonNull(key, "key is null");
    }

    /** The keys, prefix stripped, sorted. */
    public Set<String> keys()
    {
        return values.keySet();
    }

    /** Every key with its value as written, sorted by key; unmodifiable. */
    public Map<String, String> asMap()
    {
        return values;
    }

    public boolean isEmpty()
    {
        return values.isEmpty();
    }

    public boolean contains(String key)
    {
        return values.containsKey(requireNonNull(key, "key is null"));
    }

    /**
     * Fails on the first key (in sorted order) that is not in {@code accepted}, naming it, suggesting the nearest
     * accepted key when one is close (a typo), and listing every accepted key.
     *
     * @throws PolicyConfigException for an unknown key
     */
    public void requireOnly(Collection<String> accepted)
    {
        Set<String> known = new TreeSet<>(requireNonNull(accepted, "accepted is null"));
        for (Map.Entry<String, String> entry : values.entrySet()) {
            if (!known.contains(entry.getKey())) {
                throw unknownKey(prefix, entry.getKey(), entry.getValue(), known);
            }
        }
    }

    /** As {@link #requireOnly(Collection)}. */
    public void requireOnly(String... accepted)
    {
        requireOnly(Arrays.asList(accepted));
    }

    /**
     * The message-bearing exception for an unknown key, shared with hosts that check their own keys.
     *
     * @param prefix the prefix in front of {@code key}, or empty
     * @param accepted the keys that are accepted under {@code prefix}
     */
    public static PolicyConfigException unknownKey(String prefix, String key, String value, Collection<String> accepted)
    {
        requireNonNull(prefix, "prefix is null");
        requireNonNull(key, "key is null");
        Set<String> known = new TreeSet<>(requireNonNull(accepted, "accepted is null"));
        StringBuilder message = new StringBuilder()
                .append("Unknown configuration key '").append(prefix).append(key).append("'");
        if (value != null) {
            message.append(" (value '").append(value).append("')");
        }
        message.append('.');
        nearest(key, known).ifPresent(near -> message.append(" Did you mean '").append(prefix).append(near).append("'?"));
        if (known.isEmpty()) {
            message.append(prefix.isEmpty() ? " No keys are accepted" : " No keys are accepted under '" + prefix + "'");
        }
        else {
            message.append(" Accepted").append(prefix.isEmpty() ? "" : " under '" + prefix + "'").append(": ").append(known);
        }
        return new PolicyConfigException(prefix + key, value, message.toString());
    }

    /** The value as written (trimmed), if the key is set. */
    public Optional<String> string(String key)
    {
        return Optional.ofNullable(values.get(requireNonNull(key, "key is null"))).map(String::trim);
    }

    /** The value as written (trimmed), or {@code defaultValue}; an empty value is refused. */
    public String string(String key, String defaultValue)
    {
        Optional<String> value = string(key);
        if (value.isPresent() && value.get().isEmpty()) {
            throw invalid(fullKey(key), values.get(key), "a non-empty value");
        }
        return value.orElse(defaultValue);
    }

    /** A size in bytes, or {@code defaultBytes} when the key is not set. */
    public long size(String key, long defaultBytes)
    {
        return string(key).map(value -> parseSize(fullKey(key), value)).orElse(defaultBytes);
    }

    /** A size in bytes within {@code [min, max]}, or {@code defaultBytes} when the key is not set. */
    public long size(String key, long defaultBytes, long min, long max)
    {
        long bytes = size(key, defaultBytes);
        if (contains(key) && (bytes < min || bytes > max)) {
            throw invalid(fullKey(key), values.get(key), max == Long.MAX_VALUE
                    ? "a size of at least " + DataSizes.succinct(min)
                    : "a size between " + DataSizes.succinct(min) + " and " + DataSizes.succinct(max));
        }
        return bytes;
    }

    /**
     * A size in bytes, or a share of {@code wholeBytes} written as a percentage; {@code defaultValue} (in the same
     * grammar, e.g. {@code 30%}) when the key is not set.
     */
    public long sizeOrShare(String key, String defaultValue, long wholeBytes)
    {
        return parseSizeOrShare(fullKey(key), string(key).orElse(requireNonNull(defaultValue, "defaultValue is null")), wholeBytes);
    }

    /** A duration, or {@code defaultValue} when the key is not set. */
    public Duration duration(String key, Duration defaultValue)
    {
        return string(key).map(value -> parseDuration(fullKey(key), value)).orElse(defaultValue);
    }

    /** A duration within {@code [min, max]}, or {@code defaultValue} when the key is not set. */
    public Duration duration(String key, Duration defaultValue, Duration min, Duration max)
    {
        Duration duration = duration(key, defaultValue);
        if (contains(key) && (duration.compareTo(min) < 0 || duration.compareTo(max) > 0)) {
            throw invalid(fullKey(key), values.get(key), "a duration between " + format(min) + " and " + format(max));
        }
        return duration;
    }

    /** A ratio in [0, 1], or {@code defaultValue} when the key is not set. */
    public double ratio(String key, double defaultValue)
    {
        return string(key).map(value -> parseRatio(fullKey(key), value)).orElse(defaultValue);
    }

    /** {@code true} or {@code false}, or {@code defaultValue} when the key is not set. */
    public boolean bool(String key, boolean defaultValue)
    {
        return string(key).map(value -> parseBoolean(fullKey(key), value)).orElse(defaultValue);
    }

    /** A whole number within {@code [min, max]}, or {@code defaultValue} when the key is not set. */
    public int integer(String key, int defaultValue, int min, int max)
    {
        return string(key).map(value -> (int) parseLong(fullKey(key), value, min, max)).orElse(defaultValue);
    }

    /** A whole number within {@code [min, max]}, or {@code defaultValue} when the key is not set. */
    public long longValue(String key, long defaultValue, long min, long max)
    {
        return string(key).map(value -> parseLong(fullKey(key), value, min, max)).orElse(defaultValue);
    }

    /** One of the enum's constants in kebab case, or {@code defaultValue} when the key is not set. */
    public <E extends Enum<E>> E choice(String key, Class<E> type, E defaultValue)
    {
        return string(key).map(value -> parseChoice(fullKey(key), value, type)).orElse(defaultValue);
    }

    /** Comma-separated values, each trimmed, or {@code defaultValue} when the key is not set. */
    public List<String> list(String key, List<String> defaultValue)
    {
        return string(key).map(value -> parseList(fullKey(key), value)).orElse(defaultValue);
    }

    // ---- the grammar, for single values

    /** Parses a size; see the class javadoc. */
    public static long parseSize(String key, String value)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        Matcher matcher = SIZE.matcher(value.trim());
        if (!matcher.matches()) {
            throw invalid(key, value, SIZE_EXPECTED);
        }
        long multiplier = sizeUnit(matcher.group(2));
        if (multiplier < 0) {
            throw invalid(key, value, SIZE_EXPECTED + " (units B, kB, MB, GB, TB, PB)");
        }
        if (multiplier == 1 && matcher.group(1).contains(".")) {
            throw invalid(key, value, SIZE_EXPECTED + " (a whole number of bytes)");
        }
        BigDecimal bytes = new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(multiplier)).setScale(0, RoundingMode.DOWN);
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw invalid(key, value, "a size of at most 8EB");
        }
        return bytes.longValueExact();
    }

    /** Parses a size or a percentage of {@code wholeBytes}; see the class javadoc. */
    public static long parseSizeOrShare(String key, String value, long wholeBytes)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        String trimmed = value.trim();
        if (!trimmed.endsWith("%")) {
            try {
                return parseSize(key, value);
            }
            catch (PolicyConfigException e) {
                throw invalid(key, value, SHARE_EXPECTED);
            }
        }
        String number = trimmed.substring(0, trimmed.length() - 1).trim();
        if (!NUMBER.matcher(number).matches() || new BigDecimal(number).compareTo(BigDecimal.valueOf(100)) > 0) {
            throw invalid(key, value, SHARE_EXPECTED);
        }
        return new BigDecimal(number).multiply(BigDecimal.valueOf(wholeBytes)).divide(BigDecimal.valueOf(100), 0, RoundingMode.DOWN).longValueExact();
    }

    /** Parses a duration; see the class javadoc. */
    public static Duration parseDuration(String key, String value)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        if (value.trim().equals("0")) {
            // zero needs no unit: "timeout=0" reads naturally as "none"
            return Duration.ZERO;
        }
        Matcher matcher = DURATION.matcher(value.trim());
        if (!matcher.matches()) {
            throw invalid(key, value, DURATION_EXPECTED);
        }
        long nanosPerUnit = durationUnit(matcher.group(2));
        if (nanosPerUnit < 0) {
            throw invalid(key, value, DURATION_EXPECTED + " (units ns, us, ms, s, m, h, d)");
        }
        BigDecimal nanos = new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(nanosPerUnit)).setScale(0, RoundingMode.DOWN);
        if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw invalid(key, value, "a duration of at most 106751d");
        }
        return Duration.ofNanos(nanos.longValueExact());
    }

    /** Parses a ratio in [0, 1], written {@code 0.9} or {@code 90%}. */
    public static double parseRatio(String key, String value)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        String trimmed = value.trim();
        boolean percent = trimmed.endsWith("%");
        String number = percent ? trimmed.substring(0, trimmed.length() - 1).trim() : trimmed;
        if (!NUMBER.matcher(number).matches()) {
            throw invalid(key, value, RATIO_EXPECTED);
        }
        double ratio = Double.parseDouble(number) / (percent ? 100 : 1);
        if (ratio > 1) {
            throw invalid(key, value, RATIO_EXPECTED);
        }
        return ratio;
    }

    /** Parses {@code true} or {@code false}, case-insensitive. */
    public static boolean parseBoolean(String key, String value)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw invalid(key, value, "true or false");
        };
    }

    /** Parses a whole number within {@code [min, max]}. */
    public static long parseLong(String key, String value, long min, long max)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        try {
            long parsed = Long.parseLong(value.trim());
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        }
        catch (NumberFormatException ignored) {
            // reported below with the accepted range
        }
        throw invalid(key, value, max == Long.MAX_VALUE ? "a whole number of at least " + min : "a whole number between " + min + " and " + max);
    }

    /** Parses one of the enum's constants, written in kebab case, case-insensitive. */
    public static <E extends Enum<E>> E parseChoice(String key, String value, Class<E> type)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        String normalized = value.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (E constant : type.getEnumConstants()) {
            if (kebab(constant).equals(normalized)) {
                return constant;
            }
        }
        throw invalid(key, value, "one of " + Arrays.stream(type.getEnumConstants()).map(PolicyConfig::kebab).toList());
    }

    /** Parses comma-separated values, each trimmed; empty items are refused. */
    public static List<String> parseList(String key, String value)
    {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        List<String> items = new ArrayList<>();
        for (String item : value.split(",", -1)) {
            if (item.isBlank()) {
                throw invalid(key, value, "comma-separated values without empty items");
            }
            items.add(item.trim());
        }
        return List.copyOf(items);
    }

    /** The kebab-case name of an enum constant: {@code LEAST_WASTE} is {@code least-waste}. */
    public static String kebab(Enum<?> constant)
    {
        return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** {@code Invalid value '<value>' for '<key>': expected <expected>}. */
    public static PolicyConfigException invalid(String key, String value, String expected)
    {
        return new PolicyConfigException(key, value, String.format("Invalid value '%s' for '%s': expected %s", value, key, expected));
    }

    /** A duration the way this grammar writes it: {@code 500ms}, {@code 1s}, {@code 2m}. */
    public static String format(Duration duration)
    {
        long nanos = duration.toNanos();
        long[] units = {86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L, 1L};
        String[] names = {"d", "h", "m", "s", "ms", "us", "ns"};
        for (int i = 0; i < units.length; i++) {
            if (nanos % units[i] == 0 && nanos >= units[i]) {
                return nanos / units[i] + names[i];
            }
        }
        return "0s";
    }

    private static long sizeUnit(String unit)
    {
        return switch (unit.toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "k", "kb", "kib" -> 1L << 10;
            case "m", "mb", "mib" -> 1L << 20;
            case "g", "gb", "gib" -> 1L << 30;
            case "t", "tb", "tib" -> 1L << 40;
            case "p", "pb", "pib" -> 1L << 50;
            default -> -1;
        };
    }

    private static long durationUnit(String unit)
    {
        return switch (unit.toLowerCase(Locale.ROOT)) {
            case "ns" -> 1L;
            case "us", "µs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            case "d" -> 86_400_000_000_000L;
            default -> -1;
        };
    }

    // a typo is at most two edits away, or a third of the key for long keys
    private static Optional<String> nearest(String key, Set<String> known)
    {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            int distance = editDistance(key, candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        if (best != null && bestDistance <= Math.max(2, key.length() / 3)) {
            return Optional.of(best);
        }
        // a known key with a word added or dropped: grace-period for grace, spill-path for spiller-spill-path
        return known.stream()
                .filter(candidate -> key.startsWith(candidate + "-") || candidate.startsWith(key + "-")
                        || key.endsWith("-" + candidate) || candidate.endsWith("-" + key))
                .findFirst();
    }

    private static int editDistance(String a, String b)
    {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    @Override
    public boolean equals(Object other)
    {
        return other instanceof PolicyConfig that && prefix.equals(that.prefix) && values.equals(that.values);
    }

    @Override
    public int hashCode()
    {
        return prefix.hashCode() * 31 + values.hashCode();
    }

    @Override
    public String toString()
    {
        return values.entrySet().stream().map(entry -> prefix + entry.getKey() + "=" + entry.getValue()).collect(Collectors.joining(", ", "{", "}"));
    }
}
