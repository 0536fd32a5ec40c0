package io.memgov.cluster.hazelcast;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Members of one loopback cluster in this JVM, each on its own port of a range no other test cluster uses, closed
 * together.
 */
final class TestCluster
        implements AutoCloseable
{
    static final int PORTS_PER_CLUSTER = 5;
    // the child-process test uses 5900 and up
    private static final AtomicInteger NEXT_PORT = new AtomicInteger(5750);
    private static final AtomicInteger NEXT_NAME = new AtomicInteger();

    private final List<HazelcastMembership> members = new ArrayList<>();
    private final Map<String, String> properties = new HashMap<>();

    TestCluster(Map<String, String> extraProperties)
    {
        int port = NEXT_PORT.getAndAdd(PORTS_PER_CLUSTER);
        properties.put("cluster-name", "test-" + NEXT_NAME.incrementAndGet() + "-" + ProcessHandle.current().pid());
        properties.put("port", Integer.toString(port));
        properties.put("port-count", Integer.toString(PORTS_PER_CLUSTER));
        properties.put("poll-interval", "1s");
        properties.putAll(extraProperties);
    }

    TestCluster()
    {
        this(Map.of());
    }

    HazelcastSettings settings()
    {
        return HazelcastSettings.fromProperties(properties);
    }

    Map<String, String> properties()
    {
        return Map.copyOf(properties);
    }

    HazelcastMembership start(Set<String> nodeIds, HazelcastMembership.Listener listener)
    {
        HazelcastMembership member = HazelcastMembership.start(settings(), nodeIds, listener);
        synchronized (members) {
            members.add(member);
        }
        return member;
    }

    @Override
    public void close()
    {
        // youngest first: a member leaving right after the oldest (Hazelcast's master) waits about a second for the
        // new master, which would only slow the tests down
        synchronized (members) {
            for (int i = members.size() - 1; i >= 0; i--) {
                members.get(i).close();
            }
        }
    }
}
