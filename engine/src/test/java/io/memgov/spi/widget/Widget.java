package io.memgov.spi.widget;

/**
 * A policy family that exists only in the engine's tests, added the way a new family is added to the SPI: one package
 * (this one: the role, its factory, how plugins offer it) and one {@link #FAMILY} constant. It proves that the engine
 * discovers, selects, wraps and names a family it has no code for.
 */
public interface Widget
{
    io.memgov.spi.PolicyFamily<WidgetFactory, io.memgov.spi.policy.PolicyContext, Widget> FAMILY = io.memgov.spi.PolicyFamily
            .builder("widget", "memory.widget", WidgetFactory.class, Widget.class, WidgetPlugin::factoriesOf)
            .defaultPolicy("plain")
            .build();

    /** Says hello and which context class loader the call ran under. */
    String greet(String name);
}
