package io.memgov.spi.widget;

import io.memgov.spi.MemoryPlugin;

import java.util.List;

/** What a plugin of the test family implements beside {@link MemoryPlugin}: the stand-in for a default method on it. */
public interface WidgetPlugin
{
    List<WidgetFactory> widgetFactories();

    static List<WidgetFactory> factoriesOf(MemoryPlugin plugin)
    {
        return plugin instanceof WidgetPlugin widgets ? widgets.widgetFactories() : List.of();
    }
}
