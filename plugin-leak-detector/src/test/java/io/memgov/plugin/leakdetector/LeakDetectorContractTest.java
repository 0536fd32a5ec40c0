package io.memgov.plugin.leakdetector;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.leak.MemoryLeakDetector;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.testing.MemoryLeakDetectorContract;
import io.memgov.testing.MemoryPluginContract;
import io.memgov.testing.TestingClusterContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;

import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/** The {@code leak-detector} policy, as the plugin offers it, against the leak-detector contract, and the plugin against the plugin contract. */
final class LeakDetectorContractTest
{
    private static final String PREFIX = PolicyFamily.LEAK_DETECTOR.configPrefix(ClusterMemoryLeakDetectorFactory.NAME);

    // the suites flag thousands of random queries, and the detector warns about each; its warnings have tests of their own
    private final Logger logger = Logger.getLogger(ClusterMemoryLeakDetector.class.getName());
    private Level level;

    @BeforeEach
    void silenceLeakWarnings()
    {
        level = logger.getLevel();
        logger.setLevel(Level.OFF);
    }

    @AfterEach
    void restoreLeakWarnings()
    {
        logger.setLevel(level);
    }

    @Nested
    final class Detector
            extends MemoryLeakDetectorContract
    {
        @Override
        protected MemoryLeakDetector newDetector(TestingClusterContext context)
        {
            return new LeakDetectorPlugin().memoryLeakDetectorFactories().get(0).create(PolicyConfig.of(PREFIX, Map.of()), context);
        }
    }

    @Nested
    final class DetectorWithoutGrace
            extends MemoryLeakDetectorContract
    {
        // no grace period: a query is leaked the moment it ends holding memory, so the checks see many flagged queries
        @Override
        protected MemoryLeakDetector newDetector(TestingClusterContext context)
        {
            return new LeakDetectorPlugin().memoryLeakDetectorFactories().get(0).create(PolicyConfig.of(PREFIX, Map.of("grace", "0")), context);
        }
    }

    @Nested
    final class Plugin
            extends MemoryPluginContract
    {
        @Override
        protected MemoryPlugin plugin()
        {
            return new LeakDetectorPlugin();
        }
    }
}
