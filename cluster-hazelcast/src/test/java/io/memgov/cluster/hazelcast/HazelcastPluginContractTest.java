package io.memgov.cluster.hazelcast;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.cluster.ClusterCommand;
import io.memgov.spi.cluster.ClusterTransportContext;
import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyScheduler;
import io.memgov.spi.query.NodeId;
import io.memgov.testing.MemoryPluginContract;
import io.memgov.testing.TestingClusterContext;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** The plugin contract for {@link HazelcastPlugin}: creating the transport reads its keys and joins nothing yet. */
final class HazelcastPluginContractTest
        extends MemoryPluginContract
{
    @Override
    protected MemoryPlugin plugin()
    {
        return new HazelcastPlugin();
    }

    @Override
    protected PolicyContext context(PolicyFamily<?, ?, ?> family)
    {
        if (family != PolicyFamily.CLUSTER_TRANSPORT) {
            return super.context(family);
        }
        TestingClusterContext cluster = new TestingClusterContext();
        return new ClusterTransportContext()
        {
            @Override
            public List<NodeId> localNodes()
            {
                return List.of(NodeId.of("node-0"));
            }

            @Override
            public Duration pollInterval()
            {
                return Duration.ofSeconds(1);
            }

            @Override
            public void apply(ClusterCommand command)
            {
                throw new AssertionError("a transport that is not started applies nothing: " + command);
            }

            @Override
            public Clock clock()
            {
                return cluster.clock();
            }

            @Override
            public PolicyScheduler scheduler()
            {
                return cluster.scheduler();
            }
        };
    }
}
