package io.memgov.lab;

import com.fasterxml.jackson.databind.JsonNode;
import io.memgov.engine.MemoryEngine;
import io.memgov.engine.QueryMemoryContext;
import io.memgov.engine.QuerySession;
import io.memgov.spi.query.QueryId;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

final class MemoryHttpServerTest
{
    @Test
    void servesTheNodeAndClusterSnapshotsOnLoopbackOnly()
            throws Exception
    {
        try (MemoryEngine engine = MemoryEngine.builder().property("cluster.node-count", "2").property("node.heap-size", "64MB")
                        .property("memory.heap-headroom-per-node", "16MB").property("query.max-memory-per-node", "32MB")
                        // the snapshots must show the 3,000,000 bytes set
                        .property("memory.reservation-quantum", "0B").build();
                MemoryHttpServer server = MemoryHttpServer.start(engine, 0)) {
            QueryMemoryContext query = engine.node(1).createQuery(QueryId.of("q7"), QuerySession.of("alice"));
            // the handles stay reachable until closed: the engine's cleaner releases a task or operator it finds unreachable
            io.memgov.engine.TaskMemoryContext task = query.addTask("0");
            io.memgov.engine.OperatorMemoryContext operator = task.addOperator("HashAggregation");
            operator.userMemory().setBytes(3_000_000);
            HttpClient client = HttpClient.newHttpClient();

            HttpResponse<String> node = client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/memory?node=1")).build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> cluster = client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/cluster/memory")).build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> missing = client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/memoryx")).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(node.statusCode()).isEqualTo(200);
            assertThat(node.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
            assertThat(node.body()).contains("q7").contains("3000000");
            assertThat(Reports.json().readTree(node.body())).isNotNull();
            assertThat(cluster.statusCode()).isEqualTo(200);
            JsonNode clusterJson = Reports.json().readTree(cluster.body());
            assertThat(clusterJson.toString()).contains("node-0", "node-1", "3000000");
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(InetAddress.getByName("127.0.0.1").isLoopbackAddress()).isTrue();
            operator.close();
            task.close();
            query.close();
        }
    }

    @Test
    void headAnswersLikeGetWithoutABodyAndOtherPathsAndMethodsGetAPlainTextHint()
            throws Exception
    {
        try (MemoryEngine engine = MemoryEngine.builder().property("cluster.node-count", "1").property("node.heap-size", "64MB")
                        .property("memory.heap-headroom-per-node", "16MB").property("query.max-memory-per-node", "32MB").build();
                MemoryHttpServer server = MemoryHttpServer.start(engine, 0)) {
            HttpClient client = HttpClient.newHttpClient();

            HttpResponse<String> head = client.send(request(server, "/v1/memory").method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> clusterHead = client.send(request(server, "/v1/cluster/memory").method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> root = client.send(request(server, "/").build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> elsewhere = client.send(request(server, "/v2/status").build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> post = client.send(request(server, "/v1/memory").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
            assertThat(head.body()).isEmpty();
            // the length GET's body would have
            assertThat(head.headers().firstValueAsLong("Content-Length").orElse(0)).isGreaterThan(2);
            assertThat(clusterHead.statusCode()).isEqualTo(200);
            for (HttpResponse<String> missing : List.of(root, elsewhere)) {
                assertThat(missing.statusCode()).isEqualTo(404);
                assertThat(missing.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
                assertThat(missing.body()).contains("/v1/memory", "/v1/cluster/memory").doesNotContain("<");
            }
            assertThat(elsewhere.body()).contains("/v2/status");
            assertThat(post.statusCode()).isEqualTo(405);
            assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
        }
    }

    @Test
    void memoryListsTheNodesWithLinksAndShowsAPoolOverItsMaximumAsOvercommitted()
            throws Exception
    {
        try (MemoryEngine engine = MemoryEngine.builder().property("cluster.node-count", "2").property("node.heap-size", "64MB")
                        .property("memory.heap-headroom-per-node", "16MB").property("query.max-memory-per-node", "32MB").build();
                MemoryHttpServer server = MemoryHttpServer.start(engine, 0)) {
            // two queries of 30MB on node-1's 48MB pool: the second reservation crosses the maximum, succeeds and blocks the node
            List<io.memgov.engine.OperatorMemoryContext> operators = new java.util.ArrayList<>();
            List<QueryMemoryContext> queries = new java.util.ArrayList<>();
            for (String id : List.of("q1", "q2")) {
                QueryMemoryContext query = engine.node(1).createQuery(QueryId.of(id), QuerySession.of("alice"));
                io.memgov.engine.OperatorMemoryContext operator = query.addTask("0").addOperator("HashAggregation");
                operator.userMemory().setBytes(30L << 20);
                queries.add(query);
                operators.add(operator);
            }
            HttpClient client = HttpClient.newHttpClient();

            JsonNode list = Reports.json().readTree(client.send(request(server, "/v1/memory").build(), HttpResponse.BodyHandlers.ofString()).body());
            HttpResponse<String> byId = client.send(request(server, "/v1/memory/node-1").build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> byIndex = client.send(request(server, "/v1/memory/1").build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> unknown = client.send(request(server, "/v1/memory/node-9").build(), HttpResponse.BodyHandlers.ofString());

            assertThat(list.get("nodes")).hasSize(2);
            JsonNode node1 = list.get("nodes").get(1);
            assertThat(node1.get("node").asText()).isEqualTo("node-1");
            assertThat(node1.get("href").asText()).isEqualTo("/v1/memory/node-1");
            assertThat(node1.get("freeBytes").asLong()).isEqualTo((48L - 60L) << 20);
            assertThat(node1.get("overcommittedBytes").asLong()).isEqualTo(12L << 20);
            assertThat(list.get("nodes").get(0).get("overcommittedBytes").asLong()).isZero();
            assertThat(list.get("note").asText()).contains("negative", "overcommittedBytes");
            assertThat(list.get("cluster").asText()).isEqualTo("/v1/cluster/memory");
            assertThat(byId.statusCode()).isEqualTo(200);
            assertThat(byId.body()).contains("q1", "q2").isEqualTo(byIndex.body());
            assertThat(unknown.statusCode()).isEqualTo(400);
            assertThat(unknown.body()).contains("node-9", "node-0", "node-1");
            operators.forEach(io.memgov.engine.OperatorMemoryContext::close);
            queries.forEach(QueryMemoryContext::close);
        }
    }

    private static HttpRequest.Builder request(MemoryHttpServer server, String path)
    {
        return HttpRequest.newBuilder(URI.create(server.baseUrl() + path));
    }

    @Test
    void aPortOutOfRangeIsBadInput()
    {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> MemoryHttpServer.start(MemoryEngine.builder().build(), 70000))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("'70000'")
                .hasMessageContaining("--http");
    }
}
