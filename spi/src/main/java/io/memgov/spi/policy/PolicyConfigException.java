package io.memgov.spi.policy;

import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * A configuration value that {@link PolicyConfig} could not accept: an unknown key, or a value outside the grammar or
 * the bounds of its key. The message names the full key, the value and what is accepted; the parts are also available
 * for hosts that present errors their own way.
 *
 * @since 1.0
 */
public final class PolicyConfigException
        extends IllegalArgumentException
{
    private static final long serialVersionUID = 1;

    private final String key;
    private final String value;

    PolicyConfigException(String key, String value, String message)
    {
        super(requireNonNull(message, "message is null"));
        this.key = requireNonNull(key, "key is null");
        this.value = value;
    }

    /** The full key, prefix included, e.g. {@code memory.pool.reserve-mode.reserve-size}. */
    public String key()
    {
        return key;
    }

    /** The value as written, or empty when the error is about the key itself. */
    public Optional<String> value()
    {
        return Optional.ofNullable(value);
    }
}
