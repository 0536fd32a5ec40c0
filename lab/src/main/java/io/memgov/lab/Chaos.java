package io.memgov.lab;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * {@code --chaos}: worker processes {@code run --processes} kills (SIGKILL, no goodbye to the cluster) at given times
 * after the run starts, for demonstrations and tests of coordinator failover and node loss. For example
 * {@code kill-coordinator@5s,kill-node:1@8s} kills whichever process coordinates at 5 s, then node-1's process at 8 s
 * (if it is still alive).
 *
 * @param kills in the order of their times
 */
record Chaos(List<Kill> kills)
{
    static final Chaos NONE = new Chaos(List.of());
    static final String OPTION = "--chaos";
    private static final Pattern KILL = Pattern.compile("kill-coordinator@(.+)|kill-node:(\\d{1,6})@(.+)");
    private static final String ACCEPTED = "comma-separated kill-coordinator@TIME and kill-node:N@TIME, TIME a duration after the run starts "
            + "such as 500ms or 5s, e.g. kill-coordinator@5s,kill-node:1@8s";

    /**
     * One kill.
     *
     * @param node the node whose process dies, or -1 for the process that coordinates at that moment
     * @param at after the start of the run
     */
    record Kill(int node, Duration at)
    {
        Kill
        {
            requireNonNull(at, "at is null");
        }

        boolean coordinator()
        {
            return node < 0;
        }

        @Override
        public String toString()
        {
            return (coordinator() ? "kill-coordinator" : "kill-node:" + node) + "@" + PolicyConfig.format(at);
        }
    }

    Chaos
    {
        kills = kills.stream().sorted(Comparator.comparing(Kill::at)).toList();
    }

    /** Parses {@code --chaos}; a bad value is a {@link BadInputException} naming the option, the value and the form. */
    static Chaos parse(String text)
    {
        requireNonNull(text, "text is null");
        List<Kill> kills = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            Matcher matcher = KILL.matcher(part.trim());
            if (!matcher.matches()) {
                throw invalid(text, "'" + part.trim() + "' is neither");
            }
            boolean coordinator = matcher.group(1) != null;
            String time = coordinator ? matcher.group(1) : matcher.group(3);
            Duration at;
            try {
                at = PolicyConfig.parseDuration(OPTION, time);
            }
            catch (PolicyConfigException e) {
                throw invalid(text, "'" + time + "' is not a duration");
            }
            if (at.compareTo(Duration.ofHours(24)) > 0) {
                throw invalid(text, "'" + time + "' is more than 24h");
            }
            kills.add(new Kill(coordinator ? -1 : Integer.parseInt(matcher.group(2)), at));
        }
        return new Chaos(kills);
    }

    /** Fails when a kill names a node the cluster does not have. */
    void checkNodes(int nodeCount)
    {
        for (Kill kill : kills) {
            if (kill.node() >= nodeCount) {
                throw new BadInputException(String.format("invalid value '%s' for '%s': node %d does not exist; the cluster has %s (cluster.node-count=%d)",
                        this, OPTION, kill.node(), nodeCount == 1 ? "only node 0" : "nodes 0 to " + (nodeCount - 1), nodeCount));
            }
        }
    }

    boolean isEmpty()
    {
        return kills.isEmpty();
    }

    @Override
    public String toString()
    {
        return String.join(",", kills.stream().map(Kill::toString).toList());
    }

    private static BadInputException invalid(String text, String why)
    {
        return new BadInputException(String.format("invalid value '%s' for '%s': expected %s (%s)", text, OPTION, ACCEPTED, why));
    }
}
