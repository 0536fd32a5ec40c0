package io.memgov.cluster.hazelcast;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A member in its own JVM, for {@link ProcessFailoverTest}. Arguments: the node ids (comma-separated), then settings
 * as {@code key=value}. It publishes a snapshot of each node every 200ms and prints one line per event on standard
 * output: {@code READY <member id>}, {@code COORDINATOR <true|false> <epoch millis>}, {@code LOST <node ids> <epoch
 * millis>}. It leaves the cluster and exits when its standard input ends, so it ends with the JVM that started it.
 */
final class MemberProcess
{
    private MemberProcess() {}

    public static void main(String[] args)
            throws Exception
    {
        Set<String> nodeIds = Set.of(args[0].split(","));
        Map<String, String> properties = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String[] keyAndValue = args[i].split("=", 2);
            properties.put(keyAndValue[0], keyAndValue[1]);
        }
        HazelcastMembership.Listener listener = new HazelcastMembership.Listener()
        {
            @Override
            public void onCommand(ReceivedCommand command)
            {
                print("COMMAND " + String.join(",", command.nodeIds()) + " " + new String(command.payload(), StandardCharsets.UTF_8));
            }

            @Override
            public void onNodesLost(Set<String> lost, Map<String, SignedSnapshot> lastSnapshots)
            {
                print("LOST " + String.join(",", lost) + " " + System.currentTimeMillis());
            }

            @Override
            public void onCoordinatorChanged(boolean coordinator)
            {
                print("COORDINATOR " + coordinator + " " + System.currentTimeMillis());
            }
        };
        ScheduledExecutorService publisher = Executors.newSingleThreadScheduledExecutor();
        try (HazelcastMembership membership = HazelcastMembership.start(HazelcastSettings.fromProperties(properties), nodeIds, listener)) {
            publisher.scheduleAtFixedRate(() -> {
                for (String nodeId : nodeIds) {
                    membership.publishSnapshot(nodeId, ("snapshot of " + nodeId).getBytes(StandardCharsets.UTF_8));
                }
            }, 0, 200, TimeUnit.MILLISECONDS);
            print("READY " + membership.localMemberId());
            while (System.in.read() != -1) {
                // nothing to read: the end of the input is the signal
            }
        }
        finally {
            publisher.shutdownNow();
        }
        System.exit(0);
    }

    private static synchronized void print(String line)
    {
        System.out.println(line);
        System.out.flush();
    }
}
