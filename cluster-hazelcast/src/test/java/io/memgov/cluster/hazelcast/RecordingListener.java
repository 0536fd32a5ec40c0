package io.memgov.cluster.hazelcast;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/** Records what a membership tells its owner, with the time of each call (System.nanoTime). */
final class RecordingListener
        implements HazelcastMembership.Listener
{
    record Timed<T>(T value, long nanos) {}

    final BlockingQueue<ReceivedCommand> commands = new LinkedBlockingQueue<>();
    final List<Timed<Set<String>>> lostNodes = new CopyOnWriteArrayList<>();
    final List<Map<String, SignedSnapshot>> lastSnapshots = new CopyOnWriteArrayList<>();
    final List<Timed<Boolean>> coordinatorChanges = new CopyOnWriteArrayList<>();

    @Override
    public void onCommand(ReceivedCommand command)
    {
        commands.add(command);
    }

    @Override
    public void onNodesLost(Set<String> nodeIds, Map<String, SignedSnapshot> lastSnapshots)
    {
        this.lastSnapshots.add(lastSnapshots);
        lostNodes.add(new Timed<>(nodeIds, System.nanoTime()));
    }

    @Override
    public void onCoordinatorChanged(boolean thisMemberIsCoordinator)
    {
        coordinatorChanges.add(new Timed<>(thisMemberIsCoordinator, System.nanoTime()));
    }

    List<Set<String>> lost()
    {
        return lostNodes.stream().map(Timed::value).toList();
    }

    List<Boolean> coordinator()
    {
        return coordinatorChanges.stream().map(Timed::value).toList();
    }
}
