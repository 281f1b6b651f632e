package io.raftkv.transport;

/** A {@code host:port} address. */
public record HostPort(String host, int port) implements Comparable<HostPort> {
    public HostPort {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("empty host");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port " + port + " is not in 1..65535");
    }

    /** Parses {@code host:port}; throws {@link IllegalArgumentException} with a message for a person. */
    public static HostPort parse(String s) {
        String t = s.trim();
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1)
            throw new IllegalArgumentException("'" + s + "' is not host:port");
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + s + "' has no numeric port");
        }
        if (port < 1 || port > 65535) throw new IllegalArgumentException("'" + s + "': port must be in 1..65535");
        return new HostPort(t.substring(0, colon), port);
    }

    /** Orders by host, then numerically by port (so localhost:8000 < localhost:10000). */
    @Override
    public int compareTo(HostPort o) {
        int c = host.compareTo(o.host);
        return c != 0 ? c : Integer.compare(port, o.port);
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
