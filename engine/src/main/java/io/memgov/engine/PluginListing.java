package io.memgov.engine;

import io.memgov.spi.PolicyFamily;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every policy the engine's plugins offered, by family, with where each came from, and what went wrong while loading
 * them. Fixed once the engine is built.
 */
public interface PluginListing
{
    /** The families the engine knows: memgov's and the host's own, in order. */
    List<PolicyFamily<?, ?, ?>> families();

    /** The policies registered in the family, by name. */
    List<PolicyRegistration> registrations(PolicyFamily<?, ?, ?> family);

    /** The policy registered under {@code name} in the family, if any. */
    Optional<PolicyRegistration> find(PolicyFamily<?, ?, ?> family, String name);

    /** Every family's registrations. */
    Map<PolicyFamily<?, ?, ?>, List<PolicyRegistration>> all();

    /** {@code [none (NonePlugin from class path), ...]}: each registration of the family with its origin. */
    List<String> describe(PolicyFamily<?, ?, ?> family);

    /** Every warning logged while loading plugins (skipped jars and folders, failed providers), in order. */
    List<String> warnings();

    /** Plugins that could not be loaded, each with where it came from and why. */
    List<String> loadFailures();
}
