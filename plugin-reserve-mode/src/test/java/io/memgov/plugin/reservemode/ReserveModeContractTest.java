package io.memgov.plugin.reservemode;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.testing.MemoryPluginContract;
import io.memgov.testing.MemoryPoolContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import static io.memgov.plugin.reservemode.ReserveModeFixture.GIB;



/**
 * The {@code reserve-mode} pool against the pool contract, and the plugin against the plugin contract. With plenty of available memory its admission
 * rules let everything within the budget through, so every promise of a pool applies to it as it is.
 */
final class ReserveModeContractTest
{
    private final List<ReserveModeFixture> nodes = new ArrayList<>();

    @AfterEach
    void closeNodes()
    {
        nodes.forEach(ReserveModeFixture::close);
    }

    @Nested
    final class Pool
            extends MemoryPoolContract
    {
        @Override
        protected MemoryPool newPool(long maxBytes)
        {
            ReserveModeFixture node = new ReserveModeFixture(maxBytes, 40 * GIB);
            nodes.add(node);
            return node.governed(Map.of());
        }

        @Override
        protected boolean isResizable()
        {
            return true;
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new ReserveModePlugin();
        }
    }
}
