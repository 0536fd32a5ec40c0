package io.memgov.lab;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.NodeMemory;
import io.memgov.json.MemoryJson;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * Serves the engine's memory snapshots while a run lasts, to GET and HEAD: {@code /v1/memory} lists the nodes, each
 * with its pool figures and a link to {@code /v1/memory/{node}} (by id, {@code node-1}, or index, {@code 1}; also
 * {@code /v1/memory?node=N}), one node's pools as Trino serves them at {@code /v1/memory}; {@code /v1/cluster/memory}
 * is the cluster view. Any other path gets a 404 in plain text listing these. Bound to the loopback address only: the
 * snapshots name queries and users, and there is no authentication.
 *
 * <p>A pool's free bytes ({@code maxBytes} less what is reserved) go negative when the pool is over its maximum,
 * which is by design: as in Trino, the reservation that crosses the maximum succeeds and blocks the node. The node
 * list gives that excess as {@code overcommittedBytes}.
 */
final class MemoryHttpServer
        implements AutoCloseable
{
    private static final String PATHS = "the paths are /v1/memory (the nodes), /v1/memory/{node} (one node, by id or index; also "
            + "/v1/memory?node=N) and /v1/cluster/memory\n";
    static final String OVERCOMMIT_NOTE = "freeBytes is maxBytes less the reserved bytes (user and revocable), negative when the pool is over "
            + "its maximum: by design, as in Trino, the reservation that crosses the maximum succeeds and blocks the node; "
            + "overcommittedBytes is how far over";

    /** One node in {@code /v1/memory}'s list; sizes in bytes. */
    record NodeLink(String node, int index, String href, long maxBytes, long reservedBytes, long reservedRevocableBytes, long freeBytes,
            long overcommittedBytes) {}

    /** What {@code /v1/memory} serves. */
    record NodeList(List<NodeLink> nodes, String cluster, String note) {}

    private final HttpServer server;

    private MemoryHttpServer(HttpServer server)
    {
        this.server = requireNonNull(server, "server is null");
    }

    /** @param port 0 picks a free port */
    static MemoryHttpServer start(MemoryEngine engine, int port)
    {
        requireNonNull(engine, "engine is null");
        if (port < 0 || port > 65535) {
            throw new BadInputException("invalid value '" + port + "' for '--http': expected a port between 0 and 65535 (0 picks a free one)");
        }
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        }
        catch (BindException e) {
            throw new BadInputException("invalid value '" + port + "' for '--http': the port is in use on 127.0.0.1 (" + e.getMessage() + ")");
        }
        catch (IOException e) {
            throw new BadInputException("cannot serve on 127.0.0.1:" + port + " (--http): " + e.getMessage());
        }
        server.createContext("/v1/memory", exchange -> serve(exchange, () -> memory(engine, exchange.getRequestURI())));
        server.createContext("/v1/cluster/memory", exchange -> serve(exchange, () -> MemoryJson.toJson(engine.clusterMemorySnapshot())));
        // every other path: the JDK's own answer would be an HTML page
        server.createContext("/", exchange -> {
            try (exchange) {
                notFound(exchange);
            }
        });
        server.start();
        return new MemoryHttpServer(server);
    }

    int port()
    {
        return server.getAddress().getPort();
    }

    String baseUrl()
    {
        return "http://127.0.0.1:" + port();
    }

    private static String memory(MemoryEngine engine, URI uri)
    {
        String path = uri.getPath();
        if (path.startsWith("/v1/memory/")) {
            return MemoryJson.toJson(engine.nodeMemorySnapshot(nodeIndex(engine, path.substring("/v1/memory/".length()))));
        }
        int node = nodeIndex(uri, engine.nodes().size());
        if (node >= 0) {
            return MemoryJson.toJson(engine.nodeMemorySnapshot(node));
        }
        List<NodeLink> nodes = new ArrayList<>();
        for (int i = 0; i < engine.nodes().size(); i++) {
            NodeMemory memory = engine.node(i);
            long max = memory.pool().maxBytes();
            long reserved = memory.pool().reservedBytes();
            long revocable = memory.pool().reservedRevocableBytes();
            long free = max - reserved - revocable;
            String id = memory.nodeId().toString();
            nodes.add(new NodeLink(id, i, "/v1/memory/" + id, max, reserved, revocable, free, Math.max(0, -free)));
        }
        try {
            return Reports.json().writeValueAsString(new NodeList(nodes, "/v1/cluster/memory", OVERCOMMIT_NOTE));
        }
        catch (JsonProcessingException e) {
            throw new IllegalStateException("the node list cannot be written as JSON", e);
        }
    }

    // by id (node-1) or index (1)
    private static int nodeIndex(MemoryEngine engine, String node)
    {
        for (int i = 0; i < engine.nodes().size(); i++) {
            if (engine.node(i).nodeId().toString().equals(node) || Integer.toString(i).equals(node)) {
                return i;
            }
        }
        throw new IllegalArgumentException("invalid node '" + node + "' in /v1/memory/{node}: expected a node id ("
                + engine.nodes().stream().map(memory -> memory.nodeId().toString()).toList() + ") or an index from 0 to " + (engine.nodes().size() - 1));
    }

    /** {@code ?node=N}, or -1 when absent. */
    private static int nodeIndex(URI uri, int nodes)
    {
        String query = uri.getQuery();
        if (query == null) {
            return -1;
        }
        for (String parameter : query.split("&")) {
            if (parameter.startsWith("node=")) {
                try {
                    int node = Integer.parseInt(parameter.substring("node=".length()));
                    if (node >= 0 && node < nodes) {
                        return node;
                    }
                }
                catch (NumberFormatException e) {
                    // falls through to the error below
                }
                throw new IllegalArgumentException("invalid value '" + parameter.substring(5) + "' for 'node': expected 0 to " + (nodes - 1));
            }
        }
        return -1;
    }

    private static void serve(HttpExchange exchange, Supplier<String> body)
            throws IOException
    {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            // contexts match by prefix; only the exact paths exist
            if (!path.equals("/v1/memory") && !path.equals("/v1/cluster/memory") && !path.matches("/v1/memory/[^/]+")) {
                notFound(exchange);
                return;
            }
            if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain", exchange.getRequestMethod() + " is not allowed on " + path + ": only GET and HEAD\n");
                return;
            }
            String json;
            try {
                json = body.get();
            }
            catch (IllegalArgumentException e) {
                send(exchange, 400, "text/plain", e.getMessage() + "\n");
                return;
            }
            send(exchange, 200, "application/json", json);
        }
    }

    private static void notFound(HttpExchange exchange)
            throws IOException
    {
        send(exchange, 404, "text/plain", "not found: " + exchange.getRequestURI().getPath() + "; " + PATHS);
    }

    // HEAD gets the same status and headers as GET, and no body
    private static void send(HttpExchange exchange, int status, String contentType, String body)
            throws IOException
    {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.getResponseHeaders().set("Content-Length", Integer.toString(bytes.length));
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close()
    {
        server.stop(0);
    }
}
