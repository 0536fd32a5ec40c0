package io.memgov.plugin.reservemode;

import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;
import io.memgov.spi.pool.MemoryPool;
import io.memgov.spi.pool.MemoryPoolContext;
import io.memgov.spi.pool.MemoryPoolFactory;
import io.memgov.spi.pool.MemoryPoolLayout;
import io.memgov.spi.pool.ResizableMemoryPool;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * Creates the {@code reserve-mode} pool of a node: the engine's standard pool named {@code general} with a budget of
 * {@link MemoryPoolContext#poolBytes()}, decorated by {@link ReserveModeMemoryPool}.
 *
 * <p><b>Start-up rule</b> (TDengine's, for {@code source=system}): when available memory at start is below
 * {@code min-available-at-start} (5GB), or would be below {@code min-free-after-reserve} (4GB) after the reserve, or
 * cannot be read at all, reserve mode stands down with a WARN and the node gets the standard pool itself, without any
 * governance. With {@code fail-if-unavailable=true} that is an {@link IllegalStateException} instead. The heap source
 * has no start-up rule: a JVM heap is normally far smaller than 5GB.
 */
final class ReserveModePoolFactory
        implements MemoryPoolFactory
{
    static final String NAME = "reserve-mode";
    static final String POOL_ID = "general";

    private static final System.Logger LOG = System.getLogger(ReserveModePoolFactory.class.getName());

    private final Function<MemorySource, AvailableMemoryProbe> probes;

    ReserveModePoolFactory()
    {
        this(source -> source == MemorySource.SYSTEM ? new SystemMemoryProbe() : new HeapMemoryProbe());
    }

    /** Tests choose the probe each source gets. */
    ReserveModePoolFactory(Function<MemorySource, AvailableMemoryProbe> probes)
    {
        this.probes = requireNonNull(probes, "probes is null");
    }

    @Override
    public String name()
    {
        return NAME;
    }

    @Override
    public List<PolicyConfigKey> configKeys()
    {
        return ReserveModeConfig.CONFIG_KEYS;
    }

    @Override
    public MemoryPoolLayout create(PolicyConfig config, MemoryPoolContext context)
    {
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        ReserveModeConfig parsed = ReserveModeConfig.parse(config);
        AvailableMemoryProbe probe = requireNonNull(probes.apply(parsed.source()), "probe is null");
        ResizableMemoryPool standard = context.createStandardPool(POOL_ID, context.poolBytes());

        long available;
        long total;
        try {
            available = probe.availableBytes();
            total = probe.totalBytes();
        }
        catch (IllegalStateException e) {
            return standDown(parsed, context, standard, "available memory cannot be read (" + e.getMessage() + ")");
        }
        long reserve = parsed.reserveBytes(total);
        if (parsed.source() == MemorySource.SYSTEM) {
            if (available < parsed.minAvailableAtStartBytes()) {
                return standDown(parsed, context, standard, String.format(
                        "available memory at start, %s, is below min-available-at-start %s",
                        DataSizes.succinct(available), DataSizes.succinct(parsed.minAvailableAtStartBytes())));
            }
            if (available - reserve < parsed.minFreeAfterReserveBytes()) {
                return standDown(parsed, context, standard, String.format(
                        "available memory at start, %s, leaves %s after the reserve of %s, below min-free-after-reserve %s",
                        DataSizes.succinct(available), DataSizes.succinct(available - reserve), DataSizes.succinct(reserve),
                        DataSizes.succinct(parsed.minFreeAfterReserveBytes())));
            }
        }

        ReserveModeMemoryPool pool = new ReserveModeMemoryPool(standard, context, parsed, probe, reserve, available);
        pool.start();
        LOG.log(Level.INFO, String.format(
                "Reserve mode on node %s: keeping %s of %s free (%s, %s available now), single-query-max-memory %s, check every %s, query-idle-timeout %s",
                context.nodeId(), DataSizes.succinct(reserve), parsed.minReservedMemoryBytes().isPresent() ? "available memory" : "available memory (automatic reserve)",
                probe.description(), DataSizes.succinct(available),
                parsed.singleQueryMaxMemoryBytes() == 0 ? "unlimited" : DataSizes.succinct(parsed.singleQueryMaxMemoryBytes()),
                ReserveModeConfig.format(parsed.checkInterval()),
                parsed.queryIdleTimeout().isZero() ? "disabled" : ReserveModeConfig.format(parsed.queryIdleTimeout())));
        return MemoryPoolLayout.of(pool);
    }

    private static MemoryPoolLayout standDown(ReserveModeConfig config, MemoryPoolContext context, MemoryPool standard, String reason)
    {
        String message = String.format("Reserve mode cannot govern node %s: %s", context.nodeId(), reason);
        if (config.failIfUnavailable()) {
            throw new IllegalStateException(message + " (" + ReserveModeConfig.PREFIX + ReserveModeConfig.FAIL_IF_UNAVAILABLE + "=true)");
        }
        LOG.log(Level.WARNING, message + "; standing down: the node uses the standard pool without reserve-mode governance. Set "
                + ReserveModeConfig.PREFIX + ReserveModeConfig.FAIL_IF_UNAVAILABLE + "=true to fail start-up instead.");
        return MemoryPoolLayout.of(standard);
    }
}
