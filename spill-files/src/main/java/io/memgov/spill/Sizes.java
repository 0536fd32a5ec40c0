package io.memgov.spill;

import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses sizes the way Trino's {@code DataSize} reads them: {@code 100GB}, {@code 512MB}, {@code 1.5kB} or plain bytes. */
final class Sizes
{
    static final String ACCEPTED = "a non-negative size such as 100GB, 512MB, 1.5GB or 1048576 (units B, kB, MB, GB, TB, PB; 1kB = 1024B)";

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)");
    private static final List<String> UNITS = List.of("B", "KB", "MB", "GB", "TB", "PB");

    private Sizes() {}

    static long parse(String key, String value)
    {
        Matcher matcher = SIZE.matcher(value.trim());
        if (matcher.matches()) {
            String unit = matcher.group(2).toUpperCase(Locale.ROOT);
            int power = unit.isEmpty() ? 0 : UNITS.indexOf(unit);
            if (power >= 0) {
                BigDecimal bytes = new BigDecimal(matcher.group(1)).multiply(BigDecimal.valueOf(1024).pow(power));
                if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) <= 0) {
                    return bytes.longValue();
                }
            }
        }
        throw new IllegalArgumentException(String.format("Invalid value '%s' for '%s': expected %s", value, key, ACCEPTED));
    }
}
