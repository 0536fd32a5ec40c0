package io.memgov.engine.internal.visibility;

import io.memgov.engine.HeapMemorySnapshot;
import io.memgov.engine.internal.cluster.ClusterMemoryManager;
import io.memgov.engine.internal.node.NodeMemoryManager;
import io.memgov.spi.cluster.NodeMemoryInfo;
import io.memgov.spi.pool.MemoryPoolInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanRegistrationException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import static java.util.Objects.requireNonNull;



/**
 * Registers the engine's MBeans in an {@link MBeanServer} and removes them on {@link #close()}. Every name carries an
 * {@code engine} key so that several engines can live in one JVM (a test suite, or a coordinator and a worker);
 * when the requested name is taken, {@code -2}, {@code -3}, ... is appended.
 */
public final class JmxExporter
        implements AutoCloseable
{
    public static final String DOMAIN = "io.memgov";
    private static final Pattern ENGINE_NAME = Pattern.compile("[A-Za-z0-9._-]+");
    private static final Logger log = LoggerFactory.getLogger(JmxExporter.class);

    private final MBeanServer server;
    private final String engineName;
    private final List<ObjectName> registered = new ArrayList<>();

    private JmxExporter(MBeanServer server, String engineName)
    {
        this.server = server;
        this.engineName = engineName;
    }

    /**
     * Registers one {@code MemoryPool} MBean per node and pool, one {@code ClusterMemoryPool} per pool id and the
     * {@code ClusterMemoryManager}.
     *
     * @throws IllegalArgumentException if {@code requestedName} has characters other than letters, digits, '.', '_'
     *         and '-'
     */
    public static JmxExporter export(MBeanServer server, String requestedName, List<NodeMemoryManager> nodes, ClusterMemoryManager clusterMemoryManager,
            Supplier<HeapMemorySnapshot> heap)
    {
        requireNonNull(server, "server is null");
        requireNonNull(requestedName, "requestedName is null");
        if (!ENGINE_NAME.matcher(requestedName).matches()) {
            throw new IllegalArgumentException("JMX engine name '" + requestedName + "' is not accepted: use letters, digits, '.', '_' and '-'");
        }
        String engineName = requestedName;
        for (int suffix = 2; server.isRegistered(managerName(engineName)); suffix++) {
            engineName = requestedName + "-" + suffix;
        }
        JmxExporter exporter = new JmxExporter(server, engineName);
        try {
            exporter.register(managerName(engineName), new ClusterMemoryStats(clusterMemoryManager));
            exporter.register(name("type=Heap,engine=" + engineName), new HeapStats(heap));
            Supplier<List<NodeMemoryInfo>> allNodes = () -> nodes.stream().map(NodeMemoryManager::info).toList();
            Set<String> poolIds = new LinkedHashSet<>();
            for (NodeMemoryManager node : nodes) {
                for (MemoryPoolInfo pool : node.info().pools()) {
                    poolIds.add(pool.poolId());
                    exporter.register(
                            name("type=MemoryPool,engine=" + engineName + ",node=" + value(node.nodeId().toString()) + ",name=" + value(pool.poolId())),
                            new PoolStats(pool.poolId(), () -> List.of(node.info())));
                }
            }
            for (String poolId : poolIds) {
                exporter.register(name("type=ClusterMemoryPool,engine=" + engineName + ",name=" + value(poolId)), new PoolStats(poolId, allNodes));
            }
        }
        catch (JMException | RuntimeException e) {
            exporter.close();
            throw new IllegalStateException("cannot register the MBeans of engine '" + engineName + "'", e);
        }
        return exporter;
    }

    /** The engine key actually used, after any suffix. */
    public String engineName()
    {
        return engineName;
    }

    public List<ObjectName> registeredNames()
    {
        return List.copyOf(registered);
    }

    private void register(ObjectName name, Object mbean)
            throws InstanceAlreadyExistsException, MBeanRegistrationException, javax.management.NotCompliantMBeanException
    {
        server.registerMBean(mbean, name);
        registered.add(name);
    }

    @Override
    public synchronized void close()
    {
        for (ObjectName name : registered) {
            try {
                server.unregisterMBean(name);
            }
            catch (InstanceNotFoundException e) {
                // someone else removed it; nothing left to clean up
                log.debug("MBean {} was already unregistered", name);
            }
            catch (MBeanRegistrationException e) {
                log.warn("Cannot unregister MBean {}", name, e);
            }
        }
        registered.clear();
    }

    private static ObjectName managerName(String engineName)
    {
        return name("type=ClusterMemoryManager,engine=" + engineName);
    }

    /** Pool and node ids come from plugins; quote any that JMX would read as syntax. */
    private static String value(String id)
    {
        return ENGINE_NAME.matcher(id).matches() ? id : ObjectName.quote(id);
    }

    private static ObjectName name(String properties)
    {
        try {
            return new ObjectName(DOMAIN + ":" + properties);
        }
        catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("not a valid MBean name: " + DOMAIN + ":" + properties, e);
        }
    }
}
