package io.raftkv.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.raftkv.transport.Failures;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The live web view ({@code GET /ui}): a single page whose HTML, script and style are resources
 * of the jar (no CDN: it works offline), fed by {@link UiStream}. Every node serves it. Paths:
 * <ul>
 *   <li>{@code GET /ui}, {@code /ui/app.js}, {@code /ui/app.css}: the page;</li>
 *   <li>{@code GET /ui/state}: this node's picture ({@link UiState}), polled by the node serving a page;</li>
 *   <li>{@code GET /ui/events}: the push channel (Server-Sent Events);</li>
 *   <li>only in {@code raftkv local} ({@code --local-control}): {@code POST /ui/control/{kill,restart,cut,heal}?node=N},
 *       relayed to the control server of {@code raftkv local}, and {@code POST /ui/network?cut=true|false},
 *       which cuts or heals this node's peer network. Elsewhere they answer 404.</li>
 * </ul>
 */
final class WebUi implements AutoCloseable {
    static final List<String> CONTROLS = List.of("kill", "restart", "cut", "heal");
    private static final Duration CONTROL_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STATE_TIMEOUT = Duration.ofSeconds(1);

    private final int selfId;
    private final Supplier<StatusSnapshot> status;
    private final Supplier<CompletableFuture<LogTail>> logTail;
    private final UiEvents events;
    private final RequestRate rate;
    private final UiOptions options;
    /** Present only with {@code --local-control}. */
    private final Optional<NetworkSwitch> network;
    private final ScheduledExecutorService executor;
    private final UiStream stream;
    private final Map<String, byte[]> assets;
    private final HttpClient control;

    WebUi(int selfId, Supplier<StatusSnapshot> status, Supplier<CompletableFuture<LogTail>> logTail, UiEvents events,
          RequestRate rate, UiOptions options, Optional<NetworkSwitch> network, javax.net.ssl.SSLContext tls) {
        this.selfId = selfId;
        this.status = status;
        this.logTail = logTail;
        this.events = events;
        this.rate = rate;
        this.options = options;
        this.network = network;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("raft-ui-" + selfId).unstarted(r));
        this.stream = new UiStream(selfId, status, this::state, options.localControl().isPresent(), executor, tls);
        this.assets = Map.of("/ui", resource("index.html"), "/ui/app.js", resource("app.js"),
                "/ui/app.css", resource("app.css"));
        this.control = options.localControl().isPresent()
                ? HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build()
                : null;
    }

    /** Whether {@code path} is one of the web view's. */
    static boolean owns(String path) {
        return path.equals("/ui") || path.startsWith("/ui/");
    }

    /** This node's picture: its log tail is read on its loop, the rest from what the loop published. */
    CompletableFuture<ObjectNode> state() {
        return logTail.get().orTimeout(STATE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).thenApplyAsync(tail -> UiState.of(
                status.get(), tail, events.recent(UiState.EVENTS), rate.sample(System.nanoTime()),
                network.map(NetworkSwitch::isCut).orElse(false), options.localControl().isPresent()), executor);
    }

    void handle(String path, Map<String, List<String>> params, ResponseOrder.Reply reply) {
        switch (path) {
            case "/ui" -> reply.send(HttpApi.bytes(HttpResponseStatus.OK, assets.get(path), "text/html; charset=utf-8"));
            case "/ui/app.js" -> reply.send(HttpApi.bytes(HttpResponseStatus.OK, assets.get(path),
                    "text/javascript; charset=utf-8"));
            case "/ui/app.css" -> reply.send(HttpApi.bytes(HttpResponseStatus.OK, assets.get(path), "text/css; charset=utf-8"));
            case "/ui/state" -> state().whenComplete((o, e) -> reply.send(e == null ? HttpApi.json(HttpResponseStatus.OK, o)
                    : HttpApi.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "node " + selfId
                            + " could not read its state: " + Failures.rootMessage(e))));
            case "/ui/events" -> stream.open(reply);
            case "/ui/network" -> network(params, reply);
            default -> {
                String op = path.startsWith("/ui/control/") ? path.substring("/ui/control/".length()) : "";
                if (CONTROLS.contains(op)) control(op, params, reply);
                else reply.send(HttpApi.error(HttpResponseStatus.NOT_FOUND, "unknown path " + path
                        + "; the web view is GET /ui"));
            }
        }
    }

    private void network(Map<String, List<String>> params, ResponseOrder.Reply reply) {
        if (network.isEmpty()) {
            reply.send(notLocal());
            return;
        }
        String cut = params.getOrDefault("cut", List.of("")).getFirst();
        if (!cut.equals("true") && !cut.equals("false")) {
            reply.send(HttpApi.error(HttpResponseStatus.BAD_REQUEST, "POST /ui/network takes cut=true or cut=false"));
            return;
        }
        boolean on = cut.equals("true");
        if (network.get().isCut() != on) {
            network.get().setCut(on);
            events.add("network", status.get().term(), on ? "network cut: every Raft message in and out is dropped"
                    : "network healed");
        }
        reply.send(HttpApi.json(HttpResponseStatus.OK, HttpApi.JSON.createObjectNode().put("node", selfId)
                .put("networkCut", on)));
    }

    /** Relays a kill / restart / cut / heal to the control server of {@code raftkv local}. */
    private void control(String op, Map<String, List<String>> params, ResponseOrder.Reply reply) {
        if (options.localControl().isEmpty()) {
            reply.send(notLocal());
            return;
        }
        String node = params.getOrDefault("node", List.of("")).getFirst();
        if (!node.matches("[0-9]{1,4}")) {
            reply.send(HttpApi.error(HttpResponseStatus.BAD_REQUEST, "POST /ui/control/" + op
                    + " takes node=ID, a node id as the page shows it; got '" + node + "'"));
            return;
        }
        URI base = options.localControl().get();
        HttpRequest req = HttpRequest.newBuilder(base.resolve("/" + op + "?node=" + node)).timeout(CONTROL_TIMEOUT)
                .POST(HttpRequest.BodyPublishers.noBody()).build();
        control.sendAsync(req, BodyHandlers.ofByteArray()).whenComplete((res, e) -> {
            if (e != null) {
                reply.send(HttpApi.error(HttpResponseStatus.BAD_GATEWAY, "the control of 'raftkv local' at " + base
                        + " did not answer (" + Failures.rootMessage(e) + "); is 'raftkv local' still running?"));
                return;
            }
            reply.send(HttpApi.bytes(HttpResponseStatus.valueOf(res.statusCode()), res.body(), "application/json"));
        });
    }

    private io.netty.handler.codec.http.FullHttpResponse notLocal() {
        return HttpApi.error(HttpResponseStatus.NOT_FOUND, "node " + selfId + " has no cluster controls: only the nodes"
                + " of 'raftkv local' can be killed, restarted, cut or healed from the web view");
    }

    private static byte[] resource(String name) {
        try (InputStream in = WebUi.class.getResourceAsStream("/ui/" + name)) {
            if (in == null) throw new IllegalStateException("the jar lacks ui/" + name + "; rebuild it");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        stream.close();
        executor.shutdownNow();
        if (control != null) control.close();
    }
}
