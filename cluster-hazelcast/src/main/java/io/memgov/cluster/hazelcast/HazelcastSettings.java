package io.memgov.cluster.hazelcast;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * How a {@link HazelcastMembership} joins its cluster. Immutable. Every process runs an embedded Hazelcast
 * <em>member</em> (not a client: a client has no member attributes, and its loss is not a membership event, so node
 * hosting and node loss would need a second mechanism).
 *
 * <table>
 *     <caption>Keys read by {@link #fromProperties(Map)} (the caller strips the {@code cluster.hazelcast.} prefix)</caption>
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
 *     <tr><td>{@code poll-interval}</td><td>1s</td><td>how often the member re-reads the member list, besides
 *         reacting to membership events</td></tr>
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

    private static final List<String> KEYS = List.of(CLUSTER_NAME, INTERFACE, PORT, PORT_COUNT, MEMBERS, JOIN_WAIT,
            POLL_INTERVAL, FAILURE_DETECTION_TIMEOUT, MAX_MESSAGE_AGE, COORDINATOR_QUORUM, SHARED_SECRET_FILE);
    private static final Pattern CLUSTER_NAME_PATTERN = Pattern.compile("[A-Za-z0-9._\\-]{1,64}");
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
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
        checkClusterName(clusterName);
        checkBindAddressForm(bindAddress);
        checkPortRange(port, portCount);
        if (members.isEmpty()) {
            throw new IllegalArgumentException("members is empty: at least one host:port to join through is needed");
        }
        if (members.size() > MAX_MEMBER_ADDRESSES) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value for '%s': %s addresses, at most %s are accepted", MEMBERS, members.size(), MAX_MEMBER_ADDRESSES));
        }
        checkRange(JOIN_WAIT, joinWait, Duration.ZERO, Duration.ofHours(1));
        checkRange(POLL_INTERVAL, pollInterval, Duration.ofMillis(100), Duration.ofHours(1));
        checkRange(FAILURE_DETECTION_TIMEOUT, failureDetectionTimeout, Duration.ofSeconds(2), Duration.ofHours(1));
        checkRange(MAX_MESSAGE_AGE, maxMessageAge, Duration.ofSeconds(1), Duration.ofHours(1));
        if (coordinatorQuorum < 1 || coordinatorQuorum > MAX_QUORUM) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': expected a whole number of members from 1 to %s", coordinatorQuorum, COORDINATOR_QUORUM, MAX_QUORUM));
        }
        if (!bindAddress.isLoopbackAddress() && sharedSecretFile == null) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': a member binding to a non-loopback address needs '%s' (Hazelcast's community edition "
                            + "lets anyone who reaches the port join, so every message must be signed with a secret). Accepted: a loopback "
                            + "address such as 127.0.0.1, or set '%s'",
                    bindAddress.getHostAddress(), INTERFACE, SHARED_SECRET_FILE, SHARED_SECRET_FILE));
        }
        checkAddressOfThisMachine(bindAddress);
        if (bindAddress.isLoopbackAddress()) {
            for (String member : members) {
                String host = member.substring(0, member.lastIndexOf(':'));
                if (!isLoopback(host)) {
                    throw new IllegalArgumentException(String.format(
                            "Invalid value '%s' for '%s': '%s' is not a loopback address, but '%s' is %s, so it could never be reached. "
                                    + "Accepted: loopback addresses only, or a non-loopback '%s' with '%s'",
                            String.join(",", members), MEMBERS, member, INTERFACE, bindAddress.getHostAddress(), INTERFACE, SHARED_SECRET_FILE));
                }
            }
        }
    }

    /** Every key at its default: a loopback-only cluster named {@code memgov} on ports 5701-5710. */
    public static HazelcastSettings defaults()
    {
        return fromProperties(Map.of());
    }

    /**
     * Reads the keys listed on this type; missing keys keep their defaults.
     *
     * @param properties never null; the keys with the {@code cluster.hazelcast.} prefix already stripped
     * @throws IllegalArgumentException for an unknown key or a bad value, naming the key, the value and what is accepted
     */
    public static HazelcastSettings fromProperties(Map<String, String> properties)
    {
        requireNonNull(properties, "properties is null");
        for (String key : new TreeSet<>(properties.keySet())) {
            requireNonNull(properties.get(key), () -> "value of '" + key + "' is null");
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(String.format(
                        "Unknown Hazelcast cluster key '%s' (value '%s'). Accepted keys: %s", key, properties.get(key), String.join(", ", KEYS)));
            }
        }
        String clusterName = properties.getOrDefault(CLUSTER_NAME, "memgov").trim();
        checkClusterName(clusterName);
        InetAddress bindAddress = parseBindAddress(properties.getOrDefault(INTERFACE, "127.0.0.1"));
        int port = parseInt(properties, PORT, 5701, "a port from 1 to 65535");
        int portCount = parseInt(properties, PORT_COUNT, 10, "a number of ports from 1 to 65535");
        checkPortRange(port, portCount);
        List<String> members = properties.containsKey(MEMBERS)
                ? parseMembers(properties.get(MEMBERS))
                : expand(bindAddress.getHostAddress(), port, port + portCount - 1);
        int quorum = parseInt(properties, COORDINATOR_QUORUM, 1, "a whole number of members from 1 to " + MAX_QUORUM);
        Path secret = properties.containsKey(SHARED_SECRET_FILE) ? parseSecretPath(properties.get(SHARED_SECRET_FILE)) : null;
        return new HazelcastSettings(
                clusterName,
                bindAddress,
                port,
                portCount,
                members,
                parseDuration(properties, JOIN_WAIT, "0s"),
                parseDuration(properties, POLL_INTERVAL, "1s"),
                parseDuration(properties, FAILURE_DETECTION_TIMEOUT, "10s"),
                parseDuration(properties, MAX_MESSAGE_AGE, "30s"),
                quorum,
                secret);
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

    private static void checkClusterName(String clusterName)
    {
        if (!CLUSTER_NAME_PATTERN.matcher(clusterName).matches()) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': expected 1 to 64 letters, digits, '.', '_' or '-'", clusterName, CLUSTER_NAME));
        }
    }

    private static void checkBindAddressForm(InetAddress address)
    {
        if (!(address instanceof Inet4Address) || address.isAnyLocalAddress() || address.isMulticastAddress()) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': expected one IPv4 address of this machine such as 127.0.0.1; wildcard, multicast and IPv6 "
                            + "addresses are not accepted", address.getHostAddress(), INTERFACE));
        }
    }

    private static void checkAddressOfThisMachine(InetAddress address)
    {
        try {
            if (!address.isLoopbackAddress() && NetworkInterface.getByInetAddress(address) == null) {
                throw new IllegalArgumentException(String.format(
                        "Invalid value '%s' for '%s': no network interface of this machine has that address. Accepted: 127.0.0.1 or an "
                                + "address of this machine's interfaces", address.getHostAddress(), INTERFACE));
            }
        }
        catch (SocketException e) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': the network interfaces of this machine cannot be read (%s)", address.getHostAddress(), INTERFACE, e), e);
        }
    }

    private static void checkPortRange(int port, int portCount)
    {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(String.format("Invalid value '%s' for '%s': expected a port from 1 to 65535", port, PORT));
        }
        if (portCount < 1 || port + (long) portCount - 1 > 65535) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': expected 1 to %s ports, so that the range starting at '%s' %s ends at 65535 at most",
                    portCount, PORT_COUNT, 65536 - port, PORT, port));
        }
    }

    private static void checkRange(String key, Duration value, Duration min, Duration max)
    {
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': expected a duration from %s to %s", format(value), key, format(min), format(max)));
        }
    }

    private static InetAddress parseBindAddress(String value)
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
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': expected one IPv4 address of this machine such as 127.0.0.1 (a literal, not a host name "
                            + "or a list)", value, INTERFACE));
        }
        try {
            InetAddress parsed = InetAddress.getByAddress(address);
            checkBindAddressForm(parsed);
            return parsed;
        }
        catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always a valid IPv4 address", e);
        }
    }

    private static List<String> parseMembers(String value)
    {
        Set<String> addresses = new LinkedHashSet<>();
        for (String part : value.split(",", -1)) {
            Matcher matcher = MEMBER.matcher(part.trim());
            if (!matcher.matches()) {
                throw new IllegalArgumentException(String.format(
                        "Invalid value '%s' for '%s': '%s' is not host:port or host:first-last, e.g. 127.0.0.1:5701-5710", value, MEMBERS, part.trim()));
            }
            int first = Integer.parseInt(matcher.group(2));
            int last = matcher.group(3) == null ? first : Integer.parseInt(matcher.group(3));
            if (first < 1 || last > 65535 || last < first) {
                throw new IllegalArgumentException(String.format(
                        "Invalid value '%s' for '%s': '%s' needs ports from 1 to 65535, the first not above the last", value, MEMBERS, part.trim()));
            }
            if (addresses.size() + (last - first + 1) > MAX_MEMBER_ADDRESSES) {
                throw new IllegalArgumentException(String.format(
                        "Invalid value '%s' for '%s': more than %s addresses", value, MEMBERS, MAX_MEMBER_ADDRESSES));
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

    private static Path parseSecretPath(String value)
    {
        try {
            if (!value.isBlank()) {
                return Path.of(value.trim());
            }
        }
        catch (InvalidPathException e) {
            // reported below
        }
        throw new IllegalArgumentException(String.format(
                "Invalid value '%s' for '%s': expected the path of a file holding the shared secret", value, SHARED_SECRET_FILE));
    }

    private static int parseInt(Map<String, String> properties, String key, int defaultValue, String accepted)
    {
        String value = properties.get(key);
        if (value == null) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(value.trim());
        }
        catch (NumberFormatException e) {
            throw new IllegalArgumentException(String.format("Invalid value '%s' for '%s': expected %s", value, key, accepted), e);
        }
    }

    private static Duration parseDuration(Map<String, String> properties, String key, String defaultValue)
    {
        String value = properties.getOrDefault(key, defaultValue);
        Matcher matcher = DURATION.matcher(value.trim());
        if (!matcher.matches()) {
            throw new IllegalArgumentException(String.format(
                    "Invalid value '%s' for '%s': expected a whole number with a unit ms, s, m or h, such as 500ms, 1s or 2m", value, key));
        }
        long amount = Long.parseLong(matcher.group(1));
        return switch (matcher.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            default -> Duration.ofHours(amount);
        };
    }

    static String format(Duration duration)
    {
        long millis = duration.toMillis();
        if (millis % 1000 != 0) {
            return millis + "ms";
        }
        long seconds = millis / 1000;
        if (seconds % 3600 == 0 && seconds > 0) {
            return seconds / 3600 + "h";
        }
        return seconds % 60 == 0 && seconds > 0 ? seconds / 60 + "m" : seconds + "s";
    }

    static int wholeSecondsRoundedUp(Duration duration)
    {
        return (int) ((duration.toMillis() + 999) / 1000);
    }
}
