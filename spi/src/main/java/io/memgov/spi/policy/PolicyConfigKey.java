package io.memgov.spi.policy;

import io.memgov.spi.annotation.Experimental;

import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * One key a policy accepts under its prefix, as its factory documents it through {@link PolicyFactory#configKeys()}:
 * what users read in generated documentation (the README's table of policy keys) and in tools that list policies.
 *
 * <pre>{@code
 * new PolicyConfigKey("grace", "60s", "how long after its end a query may still hold memory before it is flagged")
 * }</pre>
 *
 * @param name the key with the prefix stripped, kebab-case, e.g. {@code min-task-bytes}; never null
 * @param defaultValue the value in force when the key is not set, in {@link PolicyConfig}'s grammar ({@code 60s},
 *        {@code 4MB}, {@code 0.9}), or a word for a computed or absent default ({@code unset}, {@code auto}); never
 *        null or blank
 * @param description what the key changes and what it accepts, one sentence without a final period; never null or
 *        blank
 * @since 1.1
 */
@Experimental
public record PolicyConfigKey(String name, String defaultValue, String description)
{
    private static final Pattern KEBAB_CASE = Pattern.compile("[a-z0-9]+(?:-[a-z0-9]+)*");

    public PolicyConfigKey
    {
        requireNonNull(name, "name is null");
        requireNonNull(defaultValue, "defaultValue is null");
        requireNonNull(description, "description is null");
        if (!KEBAB_CASE.matcher(name).matches()) {
            throw new IllegalArgumentException("name is not kebab-case (lower-case words joined by '-'): '" + name + "'");
        }
        if (defaultValue.isBlank()) {
            throw new IllegalArgumentException("defaultValue of '" + name + "' is blank: give the value, or a word such as 'unset'");
        }
        if (description.isBlank()) {
            throw new IllegalArgumentException("description of '" + name + "' is blank");
        }
    }
}
