package io.memgov.lab;

import io.memgov.engine.MemoryEngine;
import io.memgov.engine.config.PolicyFamily;
import io.memgov.engine.plugin.RegisteredFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "plugins", mixinStandardHelpOptions = true,
        description = "Lists every policy the engine discovers (class path and plugin directory), by family, with the plugin and place it came from, and which one the configuration selects.")
final class PluginsCommand
        implements Callable<Integer>
{
    @Option(names = "--config", description = "Engine properties file (default: the lab's embedded configuration).")
    Path config;

    @Override
    public Integer call()
    {
        try (MemoryEngine engine = LabConfig.engine(config).build()) {
            Map<PolicyFamily, List<RegisteredFactory<?>>> all = engine.plugins().all();
            for (PolicyFamily family : PolicyFamily.values()) {
                System.out.printf("%s (%s = %s)%n", family.displayName(), family.policyKey(), engine.config().policy(family));
                for (RegisteredFactory<?> factory : all.get(family)) {
                    System.out.printf("  %-38s %s%n", factory.name(), factory.origin());
                }
            }
            engine.plugins().loadFailures().forEach(failure -> System.out.println("failed to load: " + failure));
        }
        return 0;
    }
}
