package io.memgov.engine.internal.plugin;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.widget.Widget;
import io.memgov.spi.widget.WidgetFactory;
import io.memgov.spi.widget.WidgetPlugin;

import java.util.List;

/**
 * A drop-in plugin of the test-only widget family, in one class file so that {@link TestJars} can put it in a jar.
 * Its widget greets with the configured greeting and names the context class loader of the call.
 */
public final class JarWidgetPlugin
        implements MemoryPlugin, WidgetPlugin, WidgetFactory
{
    @Override
    public List<WidgetFactory> widgetFactories()
    {
        return List.of(this);
    }

    @Override
    public String name()
    {
        return "jar-widget";
    }

    @Override
    public Widget create(PolicyConfig config, PolicyContext context)
    {
        config.requireOnly("greeting");
        String greeting = config.string("greeting", "hello");
        return new Widget()
        {
            @Override
            public String greet(String name)
            {
                return greeting + " " + name + " from " + Thread.currentThread().getContextClassLoader().getName();
            }
        };
    }
}
