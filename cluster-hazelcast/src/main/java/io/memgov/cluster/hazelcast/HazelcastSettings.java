package io.memgov.cluster.hazelcast;

import io.memgov.spi.policy.PolicyConfig;
import io.memgov.spi.policy.PolicyConfigKey;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * How a {@link HazelcastMembership} joins its cluster. Immutable. Every process runs an embedded Hazelcast
 * <em>member</em> (not a client: a client has no member attributes, and its loss is not a membership event, so node
 * hosting and node loss would need a second mechanism).
 *
 * <table>
 *     <caption>Keys read by {@link #fromConfig} (as {@code cluster.transport.hazelcast.<key>} in an engine's
 *     properties)</caption>
 *     <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *     <tr><td>{@code cluster-name}</td><td>{@code memgov}</td><td>Hazelcast cluster name; letters, digits,
 *         {@code .}, {@code _} and {@code -}. Members with another name never join.</td></tr>
 *     <tr><td>{@code interface}</td><td>{@code 127.0.0.1}</td><td>the one IPv4 address of this machine the member
 *         binds to (Hazelcast binds one address per member); a non-loopback address needs
 *         {@code shared-secret-file}</td></tr>
 *     <tr><td>{@code port}</td><td>5701</td><td>first port of the member's range</td></tr>
 *     <tr><td>{@code port-count}</td><td>10</td><td>ports in the range; a member takes the first free one, so
 *         several members share one configuration on one machine</td></tr>
 *     <tr><td>{@code members}</td><td>{@code <interface>:<port>-<last port>}</td><td>where to look for the other
 *         members (TCP-IP join; multicast is always off): comma-separated {@code host:port} or
 *         {@code host:first-last}</td></tr>
 *     <tr><td>{@code join-wait}</td><td>0s</td><td>how long a new member waits for others before joining
 *         ({@code hazelcast.wait.seconds.before.join}, whole seconds, rounded up)</td></tr>
 *     <tr><td>{@code poll-interval}</td><td>the engine's {@code memory.cluster.poll-interval}, at least
 *         100ms</td><td>how often the member re-reads the member list, besides reacting to membership
 *         events</td></tr>
 *     <tr><td>{@code failure-detection-timeout}</td><td>10s</td><td>a member silent this long is removed
 *         ({@code hazelcast.max.no.heartbeat.seconds}, whole seconds, rounded up). A killed process closes its
 *         connections and is removed at once, well within this timeout; the timeout matters for a machine or
 *         network that vanishes without closing them</td></tr>
 *     <tr><td>{@code max-message-age}</td><td>30s</td><td>a snapshot or command whose timestamp is further than
 *         this from the receiver's clock, either way, is refused; bounds the clock skew between machines</td></tr>
 *     <tr><td>{@code coordinator-quorum}</td><td>1</td><td>the coordinator role is held only while at least this
 *         many trusted members are in the view; set it to a majority of the members so that the minority side of
 *         a network split has no coordinator</td></tr>
 *     <tr><td>{@code shared-secret-file}</td><td>unset</td><td>a file only its owner can read, holding at least
 *         16 bytes of secret (e.g. {@code openssl rand -base64 32}); required unless {@code interface} is a loopback
 *         address. There is deliberately no key for the secret itself: values on a command line are visible to
 *         every user of the machine</td></tr>
 * </table>
 * Durations are written as everywhere in memgov ({@code 500ms}, {@code 1s}, {@code 2m}); Hazelcast's own settings take
 * whole seconds, rounded up.
 *
 * @param clusterName never null
 * @param bindAddress an IPv4 address of this machine, never null
 * @param port the first port, in [1, 65535]
 * @param portCount at least 1; {@code port + portCount - 1} is at most 65535
 * @param members {@code host:port} addresses to join through, at least one, never null
 * @param joinWait non-negative
 * @param pollInterval in [100ms, 1h]
 * @param failureDetectionTimeout in [2s, 1h]
 * @param maxMessageAge in [1s, 1h]
 * @param coordinatorQuorum at least 1
 * @param sharedSecretFile the secret's file, or null to derive the message keys from the cluster name (loopback only)
 * @since 0.1
 */
public record HazelcastSettings(
        String clusterName,
        InetAddress bindAddress,
        int port,
        int portCount,
        List<String> members,
        Duration joinWait,
        Duration pollInterval,
        Duration failureDetectionTimeout,
        Duration maxMessageAge,
        int coordinatorQuorum,
        Path sharedSecretFile)
{
    public static final String CLUSTER_NAME = "cluster-name";
    public static final String INTERFACE = "interface";
    public static final String PORT = "port";
    public static final String PORT_COUNT = "port-count";
    public static final String MEMBERS = "members";
    public static final String JOIN_WAIT = "join-wait";
    public static final String POLL_INTERVAL = "poll-interval";
    public static final String FAILURE_DETECTION_TIMEOUT = "failure-detection-timeout";
    public static final String MAX_MESSAGE_AGE = "max-message-age";
    public static final String COORDINATOR_QUORUM = "coordinator-quorum";
    public static final String SHARED_SECRET_FILE = "shared-secret-file";

    /** Every key with its default and meaning, in the order of the table above; the factory's configKeys(). */
    static final List<PolicyConfigKey> CONFIG_KEYS = List.of(
            new PolicyConfigKey(CLUSTER_NAME, "memgov", "Hazelcast cluster name (letters, digits, '.', '_', '-'); members with another name never join"),
            new PolicyConfigKey(INTERFACE, "127.0.0.1", "the one IPv4 address of this machine the member binds to; a non-loopback address needs shared-secret-file"),
            new PolicyConfigKey(PORT, "5701", "first port of the member's range"),
            new PolicyConfigKey(PORT_COUNT, "10", "ports in the range; a member takes the first free one, so several members share one configuration on one machine"),
            new PolicyConfigKey(MEMBERS, "<interface>:<port>-<last port>", "where to look for the other members (TCP-IP join, multicast always off): comma-separated host:port or host:first-last"),
            new PolicyConfigKey(JOIN_WAIT, "0s", "how long a new member waits for others before joining (whole seconds, rounded up)"),
            new PolicyConfigKey(POLL_INTERVAL, "memory.cluster.poll-interval", "how often the member re-reads the member list besides reacting to membership events; at least 100ms"),
            new PolicyConfigKey(FAILURE_DETECTION_TIMEOUT, "10s", "a member silent this long is removed; a killed process closes its connections and is removed at once"),
            new PolicyConfigKey(MAX_MESSAGE_AGE, "30s", "a snapshot or command whose timestamp is further than this from the receiver's clock, either way, is refused"),
            new PolicyConfigKey(COORDINATOR_QUORUM, "1", "the coordinator role is held only while at least this many trusted members are in view; a majority keeps a split's minority side from coordinating"),
            new PolicyConfigKey(SHARED_SECRET_FILE, "unset", "a file only its owner can read holding at least 16 bytes of secret, which signs every message; required unless interface is a loopback address"));

    /** Every key, in the order the table above lists them. */
    public static final List<String> KEYS = CONFIG_KEYS.stream().map(PolicyConfigKey::name).toList();
    private static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
    private static final Duration MIN_POLL_INTERVAL = Duration.ofMillis(100);
    private static final Duration MAX_DURATION = Duration.ofHours(1);
    private static final Duration MIN_FAILURE_DETECTION_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration MIN_MESSAGE_AGE = Duration.ofSeconds(1);
    private static final Pattern CLUSTER_NAME_PATTERN = Pattern.compile("[A-Za-z0-9._\\-]{1,64}");
    private static final Pattern MEMBER = Pattern.compile("([^:,\\s]+):(\\d{1,5})(?:-(\\d{1,5}))?");
    private static final int MAX_MEMBER_ADDRESSES = 1000;
    private static final int MAX_QUORUM = 1000;

    public HazelcastSettings
    {
        requireNonNull(clusterName, "clusterName is null");
        requireNonNull(bindAddress, "bindAddress is null");
        requireNonNull(joinWait, "joinWait is null");
        requireNonNull(pollInterval, "pollInterval is null");
        requireNonNull(failureDetectionTimeout, "failureDetectionTimeout is null");
        requireNonNull(maxMessageAge, "maxMessageAge is null");
        members = List.copyOf(requireNonNull(members, "members is null"));
        Keys keys = new Keys("");
        checkClusterName(keys, clusterName);
        checkBindAddressForm(keys, bindAddress, bindAddress.getHostAddress());
        checkPortRange(keys, port, portCount);
        if (members.isEmpty()) {
            throw new IllegalArgumentException("members is empty: at least one host:port to join through is needed");
        }
        if (members.size() > MAX_MEMBER_ADDRESSES) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value for '%s': %s addresses, at most %s are accepted", MEMBERS, members.size(), MAX_MEMBER_ADDRESSES));
        }
        checkRange(keys, JOIN_WAIT, joinWait, Duration.ZERO);
        checkRange(keys, POLL_INTERVAL, pollInterval, MIN_POLL_INTERVAL);
        checkRange(keys, FAILURE_DETECTION_TIMEOUT, failureDetectionTimeout, MIN_FAILURE_DETECTION_TIMEOUT);
        checkRange(keys, MAX_MESSAGE_AGE, maxMessageAge, MIN_MESSAGE_AGE);
        if (coordinatorQuorum < 1 || coordinatorQuorum > MAX_QUORUM) {
            throw PolicyConfig.invalid(COORDINATOR_QUORUM, Integer.toString(coordinatorQuorum), "a whole number of members from 1 to " + MAX_QUORUM);
        }
        checkReachable(keys, bindAddress, members, sharedSecretFile);
    }

    /** Every key at its default: a loopback-only cluster named {@code memgov} on ports 5701-5710. */
    public static HazelcastSettings defaults()
    {
        return fromProperties(Map.of());
    }

    /**
     * Reads the keys listed on this type from bare keys ({@code port}, not {@code cluster.transport.hazelcast.port}),
     * with a poll interval of 1s unless {@code poll-interval} is set. For tests and hosts that start a
     * {@link HazelcastMembership} themselves; an engine goes through {@link #fromConfig}.
     *
     * @throws IllegalArgumentException as {@link #fromConfig}
     */
    public static HazelcastSettings fromProperties(Map<String, String> properties)
    {
        return fromConfig(PolicyConfig.of("", requireNonNull(properties, "properties is null")), DEFAULT_POLL_INTERVAL);
    }

    /**
     * Reads the keys listed on this type; missing keys keep their defaults. Also reads the secret file, if one is
     * set, so that an unreadable, shared or short secret stops start-up here.
     *
     * @param config the keys under the transport's prefix, never null; its prefix names the keys in messages
     * @param defaultPollInterval the poll interval when {@code poll-interval} is not set (the engine's); raised to
     *        100ms if shorter
     * @throws io.memgov.spi.policy.PolicyConfigException for an unknown key or a bad value, naming the full key, the
     *         value and what is accepted
     */
    public static HazelcastSettings fromConfig(PolicyConfig config, Duration defaultPollInterval)
    {
        requireNonNull(config, "config is null");
        requireNonNull(defaultPollInterval, "defaultPollInterval is null");
        config.requireOnly(KEYS);
        Keys keys = new Keys(config.prefix());
        String clusterName = config.string(CLUSTER_NAME, "memgov");
        checkClusterName(keys, clusterName);
        InetAddress bindAddress = parseBindAddress(keys, config.string(INTERFACE, "127.0.0.1"));
        int port = config.integer(PORT, 5701, 1, 65535);
        int portCount = config.integer(PORT_COUNT, 10, 1, 65535);
        checkPortRange(keys, port, portCount);
        List<String> members = config.string(MEMBERS).isPresent()
                ? parseMembers(keys, config.string(MEMBERS).orElseThrow())
                : expand(bindAddress.getHostAddress(), port, port + portCount - 1);
        Duration pollDefault = defaultPollInterval.compareTo(MIN_POLL_INTERVAL) < 0 ? MIN_POLL_INTERVAL
                : defaultPollInterval.compareTo(MAX_DURATION) > 0 ? MAX_DURATION : defaultPollInterval;
        Duration joinWait = config.duration(JOIN_WAIT, Duration.ZERO, Duration.ZERO, MAX_DURATION);
        Duration pollInterval = config.duration(POLL_INTERVAL, pollDefault, MIN_POLL_INTERVAL, MAX_DURATION);
        Duration failureDetectionTimeout = config.duration(FAILURE_DETECTION_TIMEOUT, Duration.ofSeconds(10), MIN_FAILURE_DETECTION_TIMEOUT, MAX_DURATION);
        Duration maxMessageAge = config.duration(MAX_MESSAGE_AGE, Duration.ofSeconds(30), MIN_MESSAGE_AGE, MAX_DURATION);
        int quorum = config.integer(COORDINATOR_QUORUM, 1, 1, MAX_QUORUM);
        Path secret = config.string(SHARED_SECRET_FILE).isPresent() ? parseSecretPath(keys, config.asMap().get(SHARED_SECRET_FILE)) : null;
        checkReachable(keys, bindAddress, members, secret);
        if (secret != null) {
            // read now, to fail at start-up with the full key; the membership reads it again when it starts
            Arrays.fill(MessageKeys.readSecret(secret, keys.of(SHARED_SECRET_FILE)), (byte) 0);
        }
        return new HazelcastSettings(clusterName, bindAddress, port, portCount, members, joinWait, pollInterval, failureDetectionTimeout,
                maxMessageAge, quorum, secret);
    }

    /** The ports this member may bind, in the order it tries them. */
    List<Integer> candidatePorts()
    {
        List<Integer> ports = new ArrayList<>(portCount);
        for (int i = 0; i < portCount; i++) {
            ports.add(port + i);
        }
        return ports;
    }

    /** The full names of the keys in messages: the engine's prefix, or none for bare keys. */
    private record Keys(String prefix)
    {
        String of(String key)
        {
            return prefix + key;
        }
    }

    private static void checkClusterName(Keys keys, String clusterName)
    {
        if (!CLUSTER_NAME_PATTERN.matcher(clusterName).matches()) {
            throw PolicyConfig.invalid(keys.of(CLUSTER_NAME), clusterName, "1 to 64 letters, digits, '.', '_' or '-'");
        }
    }

    private static void checkBindAddressForm(Keys keys, InetAddress address, String written)
    {
        if (!(address instanceof Inet4Address) || address.isAnyLocalAddress() || address.isMulticastAddress()) {
            throw PolicyConfig.invalid(keys.of(INTERFACE), written,
                    "one IPv4 address of this machine such as 127.0.0.1; wildcard, multicast and IPv6 addresses are not accepted");
        }
    }

    private static void checkPortRange(Keys keys, int port, int portCount)
    {
        if (port < 1 || port > 65535) {
            throw PolicyConfig.invalid(keys.of(PORT), Integer.toString(port), "a port from 1 to 65535");
        }
        if (portCount < 1 || port + (long) portCount - 1 > 65535) {
            throw PolicyConfig.invalid(keys.of(PORT_COUNT), Integer.toString(portCount), String.format(
                    "1 to %s ports, so that the range starting at '%s' %s ends at 65535 at most", 65536 - port, keys.of(PORT), port));
        }
    }

    private static void checkRange(Keys keys, String key, Duration value, Duration min)
    {
        if (value.compareTo(min) < 0 || value.compareTo(MAX_DURATION) > 0) {
            throw PolicyConfig.invalid(keys.of(key), PolicyConfig.format(value),
                    "a duration between " + PolicyConfig.format(min) + " and " + PolicyConfig.format(MAX_DURATION));
        }
    }

    /** A member must be able to reach the others, and nobody outside this machine without the secret. */
    private static void checkReachable(Keys keys, InetAddress bindAddress, List<String> members, Path sharedSecretFile)
    {
        if (!bindAddress.isLoopbackAddress() && sharedSecretFile == null) {
            throw PolicyConfig.invalid(keys.of(INTERFACE), bindAddress.getHostAddress(), String.format(
                    "a loopback address such as 127.0.0.1, or set '%s': a member binding to a non-loopback address needs a shared secret "
                            + "(Hazelcast's community edition lets anyone who reaches the port join, so every message must be signed with a secret)",
                    keys.of(SHARED_SECRET_FILE)));
        }
        checkAddressOfThisMachine(keys, bindAddress);
        if (bindAddress.isLoopbackAddress()) {
            for (String member : members) {
                String host = member.substring(0, member.lastIndexOf(':'));
                if (!isLoopback(host)) {
                    throw PolicyConfig.invalid(keys.of(MEMBERS), String.join(",", members), String.format(
                            "loopback addresses only, or a non-loopback '%s' with '%s': '%s' is not a loopback address, but '%s' is %s, so it "
                                    + "could never be reached",
                            keys.of(INTERFACE), keys.of(SHARED_SECRET_FILE), member, keys.of(INTERFACE), bindAddress.getHostAddress()));
                }
            }
        }
    }

    private static void checkAddressOfThisMachine(Keys keys, InetAddress address)
    {
        try {
            if (!address.isLoopbackAddress() && NetworkInterface.getByInetAddress(address) == null) {
                throw PolicyConfig.invalid(keys.of(INTERFACE), address.getHostAddress(),
                        "127.0.0.1 or an address of this machine's interfaces: no network interface of this machine has that address");
            }
        }
        catch (SocketException e) {
            throw PolicyConfig.invalid(keys.of(INTERFACE), address.getHostAddress(),
                    "an address of this machine's interfaces, which cannot be read (" + e + ")");
        }
    }

    private static InetAddress parseBindAddress(Keys keys, String value)
    {
        // a literal only: a host name here would make the loopback check depend on DNS
        String[] octets = value.trim().split("\\.", -1);
        byte[] address = new byte[4];
        boolean valid = octets.length == 4;
        for (int i = 0; valid && i < 4; i++) {
            valid = octets[i].matches("\\d{1,3}") && Integer.parseInt(octets[i]) <= 255;
            address[i] = valid ? (byte) Integer.parseInt(octets[i]) : 0;
        }
        if (!valid) {
            throw PolicyConfig.invalid(keys.of(INTERFACE), value, "one IPv4 address of this machine such as 127.0.0.1 (a literal, not a host name or a list)");
        }
        try {
            InetAddress parsed = InetAddress.getByAddress(address);
            checkBindAddressForm(keys, parsed, value);
            return parsed;
        }
        catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always a valid IPv4 address", e);
        }
    }

    private static List<String> parseMembers(Keys keys, String value)
    {
        Set<String> addresses = new LinkedHashSet<>();
        for (String part : value.split(",", -1)) {
            Matcher matcher = MEMBER.matcher(part.trim());
            if (!matcher.matches()) {
                throw PolicyConfig.invalid(keys.of(MEMBERS), value,
                        "comma-separated host:port or host:first-last, e.g. 127.0.0.1:5701-5710 ('" + part.trim() + "' is neither)");
            }
            int first = Integer.parseInt(matcher.group(2));
            int last = matcher.group(3) == null ? first : Integer.parseInt(matcher.group(3));
            if (first < 1 || last > 65535 || last < first) {
                throw PolicyConfig.invalid(keys.of(MEMBERS), value,
                        "ports from 1 to 65535, the first not above the last ('" + part.trim() + "' is not)");
            }
            if (addresses.size() + (last - first + 1) > MAX_MEMBER_ADDRESSES) {
                throw PolicyConfig.invalid(keys.of(MEMBERS), value, "at most " + MAX_MEMBER_ADDRESSES + " addresses in all");
            }
            addresses.addAll(expand(matcher.group(1), first, last));
        }
        return List.copyOf(addresses);
    }

    // Hazelcast's addMember refuses a "5701-5710" range (NumberFormatException), so ranges are expanded here
    private static List<String> expand(String host, int first, int last)
    {
        List<String> addresses = new ArrayList<>();
        for (int port = first; port <= last; port++) {
            addresses.add(host + ":" + port);
        }
        return addresses;
    }

    private static boolean isLoopback(String host)
    {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        }
        catch (UnknownHostException e) {
            return false;
        }
    }

    private static Path parseSecretPath(Keys keys, String value)
    {
        try {
            if (!value.isBlank()) {
                return Path.of(value.trim());
            }
        }
        catch (InvalidPathException e) {
            // reported below
        }
        throw PolicyConfig.invalid(keys.of(SHARED_SECRET_FILE), value, "the path of a file holding the shared secret");
    }

    static String format(Duration duration)
    {
        return PolicyConfig.format(duration);
    }

    static int wholeSecondsRoundedUp(Duration duration)
    {
        return (int) ((duration.toMillis() + 999) / 1000);
    }
}
