package io.raftkv.client.recipes;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.Watch;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A service registry on raftkv (what Consul's catalog and etcd's naming do): each instance puts
 * {@code services/<service>/<instance>} = its address, attached to a lease it keeps alive, so a
 * dead instance disappears when its lease expires; a watcher reads the prefix once and then
 * follows its watch from the revision after that read, so its view is the registry's, change by
 * change, without polling.
 *
 * <pre>{@code
 * ServiceRegistry.Registration registration = ServiceRegistry.register(client, "api", "i-1", "10.0.0.5:8080", 5_000);
 * try (ServiceRegistry.Watcher api = ServiceRegistry.follow(client, "api")) {
 *     api.instances();     // {"i-1"="10.0.0.5:8080", ...}, kept current
 * }
 * }</pre>
 */
public final class ServiceRegistry {
    private ServiceRegistry() {}

    public static String prefix(String service) {
        return "services/" + service + "/";
    }

    /** An instance's registration: closing it deregisters at once; abandoning it lets it expire, as a crash would. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();

        /** Stops the keep-alives without deregistering: the instance disappears when its lease expires. */
        void abandon();
    }

    /** Registers an instance for as long as the returned handle is open. */
    public static Registration register(RaftKvClient client, String service, String instance, String address, long ttlMs) {
        KvResult g = client.grantLease(ttlMs);
        if (!g.ok()) throw new IllegalStateException("cannot grant a lease: " + g.body());
        long lease = g.body().path("leaseId").asLong();
        KvResult p = client.put(prefix(service) + instance, address, lease);
        if (!p.ok()) throw new IllegalStateException("cannot register: " + p.body());
        AutoCloseable keeper = client.keepAliveUntilClosed(lease, ttlMs, () -> { });
        return new Registration() {
            @Override
            public void abandon() {
                try {
                    keeper.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public void close() {
                abandon();
                client.revokeLease(lease);
            }
        };
    }

    /** Reads the service's instances, then follows every change to them. */
    public static Watcher follow(RaftKvClient client, String service) {
        return new Watcher(client, service);
    }

    /** A live view of one service's instances. */
    public static final class Watcher implements AutoCloseable {
        private final Map<String, String> instances = new ConcurrentHashMap<>();
        private final Watch watch;
        private final String prefix;

        private Watcher(RaftKvClient client, String service) {
            this.prefix = prefix(service);
            long revision = 0;
            String after = null;
            do { // every page of the prefix, then the watch from after the first page's revision
                KvResult r = client.range(prefix, 1000, after);
                if (!r.ok()) throw new IllegalStateException("cannot read " + prefix + ": " + r.body());
                if (revision == 0) revision = r.body().path("revision").asLong();
                for (JsonNode kv : r.body().path("kvs")) {
                    instances.put(kv.path("key").asText().substring(prefix.length()), kv.path("value").asText());
                }
                after = r.body().path("more").asBoolean() ? r.body().path("next").asText() : null;
            } while (after != null);
            this.watch = client.watch(prefix, true, revision + 1, change -> {
                String instance = change.key() == null ? null : change.key().substring(prefix.length());
                switch (change.type()) {
                    case "put", "append" -> instances.put(instance, change.value());
                    case "delete", "expire" -> instances.remove(instance);
                    default -> { } // compacted: cannot happen right after a read of the latest state
                }
            });
        }

        /** The instances now, by name. */
        public Map<String, String> instances() {
            return new TreeMap<>(instances);
        }

        @Override
        public void close() {
            watch.close();
        }
    }
}
