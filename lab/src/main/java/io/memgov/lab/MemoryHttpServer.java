package io.memgov.lab;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.memgov.engine.MemoryEngine;
import io.memgov.json.MemoryJson;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * Serves the engine's memory snapshots while a run lasts, as Trino does: {@code /v1/memory} (one node's pools; the
 * first node unless {@code ?node=N}) and {@code /v1/cluster/memory} (the cluster view), to GET and HEAD; any other
 * path gets a 404 in plain text listing these two. Bound to the loopback address only: the snapshots name queries and
 * users, and there is no authentication.
 */
final class MemoryHttpServer
        implements AutoCloseable
{
    private static final String PATHS = "the paths are /v1/memory (one node; ?node=N picks it) and /v1/cluster/memory\n";

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
        server.createContext("/v1/memory", exchange -> serve(exchange, () -> MemoryJson.toJson(engine.nodeMemorySnapshot(nodeIndex(exchange.getRequestURI(), engine.nodes().size())))));
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

    private static int nodeIndex(URI uri, int nodes)
    {
        String query = uri.getQuery();
        if (query == null) {
            return 0;
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
        return 0;
    }

    private static void serve(HttpExchange exchange, Supplier<String> body)
            throws IOException
    {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            // contexts match by prefix; only the exact paths exist
            if (!path.equals("/v1/memory") && !path.equals("/v1/cluster/memory")) {
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
