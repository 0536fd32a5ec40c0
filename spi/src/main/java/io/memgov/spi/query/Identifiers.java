package io.memgov.spi.query;

import java.util.regex.Pattern;

final class Identifiers
{
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_\\-]+");

    private Identifiers() {}

    static String checkId(String value, String name)
    {
        if (value == null) {
            throw new NullPointerException(name + " is null");
        }
        if (!ID.matcher(value).matches()) {
            throw new IllegalArgumentException(name + " must be non-empty and contain only letters, digits, '_' and '-': '" + value + "'");
        }
        return value;
    }
}
