package io.memgov.cluster.hazelcast;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.memgov.testing.LoopbackPorts;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Members of one loopback cluster in this JVM (and in the child JVMs given its {@link #properties()}), on a range of
 * ports that were free on 127.0.0.1 when the cluster was made, closed together.
 */
final class TestCluster
        implements AutoCloseable
{
    static final int PORTS_PER_CLUSTER = 6;
    private static final AtomicInteger NEXT_NAME = new AtomicInteger();

    private final List<HazelcastMembership> members = new ArrayList<>();
    private final List<HazelcastInstance> rawMembers = new ArrayList<>();
    private final Map<String, String> properties = new HashMap<>();

    TestCluster(Map<String, String> extraProperties)
    {
        // the name keeps this cluster apart from any other on the machine, even one that picked overlapping ports
        properties.put("cluster-name", "test-" + NEXT_NAME.incrementAndGet() + "-" + ProcessHandle.current().pid());
        properties.put("port", Integer.toString(LoopbackPorts.freeRange(PORTS_PER_CLUSTER)));
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

    /**
     * A plain Hazelcast member with this cluster's name and network settings on the first free port of its range, as
     * anyone who reaches the port can start: {@code identityAttribute} is whatever it claims to be.
     */
    HazelcastInstance startRawMember(String identityAttribute)
    {
        HazelcastSettings settings = settings();
        int port = settings.candidatePorts().stream().filter(LoopbackPorts::isFree).findFirst()
                .orElseThrow(() -> new IllegalStateException("no free port left in " + settings.candidatePorts()));
        HazelcastInstance member = Hazelcast.newHazelcastInstance(HazelcastMembership.hazelcastConfig(settings, port, identityAttribute));
        synchronized (rawMembers) {
            rawMembers.add(member);
        }
        return member;
    }

    @Override
    public void close()
    {
        synchronized (rawMembers) {
            rawMembers.forEach(HazelcastInstance::shutdown);
            rawMembers.clear();
        }
        // youngest first: a member leaving right after the oldest (Hazelcast's master) waits about a second for the
        // new master, which would only slow the tests down
        synchronized (members) {
            for (int i = members.size() - 1; i >= 0; i--) {
                members.get(i).close();
            }
            members.clear();
        }
    }
}
