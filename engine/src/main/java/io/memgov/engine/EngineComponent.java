package io.memgov.engine;

import dagger.BindsInstance;
import dagger.Component;
import io.memgov.engine.MemoryEngineConfig;
import jakarta.inject.Singleton;

/**
 * The engine's object graph, generated at compile time by Dagger ({@code DaggerEngineComponent}, which reads like the
 * hand-written wiring it replaces). {@link EngineModule} builds it top to bottom; nothing is started here:
 * {@link MemoryEngine#start()} starts what needs a running engine.
 */
@Singleton
@Component(modules = EngineModule.class)
interface EngineComponent
{
    MemoryEngine engine();

    @Component.Factory
    interface Factory
    {
        EngineComponent create(@BindsInstance MemoryEngineConfig config, @BindsInstance EngineSetup setup);
    }
}
