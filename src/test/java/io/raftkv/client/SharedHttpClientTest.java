package io.raftkv.client;

import com.sun.net.httpserver.HttpServer;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SharedHttpClientTest {
    @Test
    void closingAClientLeavesASharedHttpClientWorkingForTheOthers() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        server.start();
        HttpClient shared = RaftKvClient.newHttpClient(Duration.ofSeconds(1));
        try {
            List<HostPort> nodes = List.of(new HostPort("127.0.0.1", server.getAddress().getPort()));
            new RaftKvClient(nodes, Duration.ofSeconds(1), false, Duration.ofSeconds(1), shared).close();
            HttpResponse<Void> res = shared.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + server.getAddress().getPort() + "/status")).build(), HttpResponse.BodyHandlers.discarding());
            assertThat(res.statusCode()).as("a request through the shared client after one RaftKvClient closed")
                    .isEqualTo(204);
        } finally {
            shared.shutdownNow();
            server.stop(0);
        }
    }
}
