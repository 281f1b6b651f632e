package io.raftkv.cli;

import io.raftkv.transport.HostPort;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Parses {@code -peers}. Two forms:
 * <ul>
 *   <li>bare, as in the report: {@code "localhost:8001,localhost:8002"}. Ids are the positions of
 *       the addresses sorted by host, then numerically by port, this node's own address included;
 *       so ports 8000, 8001, 8002 on one host are ids 0, 1, 2.</li>
 *   <li>explicit: {@code "1=localhost:8001,2=localhost:8002"}.</li>
 * </ul>
 * Every inconsistency is an {@link IllegalArgumentException} whose message says what to fix.
 */
final class PeerSpec {
    private PeerSpec() {}

    static Map<Integer, HostPort> parse(String spec, int selfId, HostPort self) {
        if (spec == null || spec.isBlank()) return Map.of();
        // -1: keep trailing empty items, so that "a:1,b:2," is refused rather than read as "a:1,b:2".
        String[] items = spec.split(",", -1);
        // Checked before the form: an empty item is neither form, and "mixes forms" would mislead.
        if (items[items.length - 1].isBlank()) {
            throw new IllegalArgumentException("-peers ends with a comma (an empty item); remove the trailing comma");
        }
        for (String item : items) {
            if (item.isBlank()) throw new IllegalArgumentException("-peers has an empty item; separate addresses with single commas");
        }
        long explicit = java.util.Arrays.stream(items).filter(s -> s.contains("=")).count();
        if (explicit != 0 && explicit != items.length) {
            throw new IllegalArgumentException("-peers mixes 'id=host:port' and bare 'host:port' items; use one form");
        }
        return explicit == 0 ? parseBare(items, selfId, self) : parseExplicit(items, selfId, self);
    }

    private static Map<Integer, HostPort> parseBare(String[] items, int selfId, HostPort self) {
        List<HostPort> all = new ArrayList<>();
        all.add(self);
        Set<HostPort> seen = new HashSet<>();
        seen.add(self);
        for (String item : items) {
            HostPort hp = parseAddress(item);
            if (hp.equals(self)) {
                throw new IllegalArgumentException("-peers lists this node's own address " + self
                        + "; list only the other nodes");
            }
            if (!seen.add(hp)) throw new IllegalArgumentException("-peers lists " + hp + " twice");
            all.add(hp);
        }
        all.sort(null);
        int position = all.indexOf(self);
        if (position != selfId) {
            throw new IllegalArgumentException("-id " + selfId + " does not match the address list: with bare -peers, ids are"
                    + " positions in the sorted list " + all + ", so " + self + " is id " + position
                    + "; use -id " + position + " or give ids explicitly: -peers \"1=host:port,2=host:port\"");
        }
        Map<Integer, HostPort> peers = new TreeMap<>();
        for (int i = 0; i < all.size(); i++) if (i != selfId) peers.put(i, all.get(i));
        return peers;
    }

    private static Map<Integer, HostPort> parseExplicit(String[] items, int selfId, HostPort self) {
        Map<Integer, HostPort> peers = new TreeMap<>();
        Set<HostPort> seen = new HashSet<>();
        seen.add(self);
        for (String item : items) {
            String[] kv = item.split("=", 2);
            int id;
            try {
                id = Integer.parseInt(kv[0].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("-peers item '" + item + "' must be id=host:port with a numeric id");
            }
            if (id < 0) throw new IllegalArgumentException("-peers item '" + item + "': ids must be >= 0");
            if (id == selfId) {
                throw new IllegalArgumentException("-peers gives id " + id + ", which is this node's own -id; list only the other nodes");
            }
            HostPort hp = parseAddress(kv[1]);
            if (hp.equals(self)) {
                throw new IllegalArgumentException("-peers gives this node's own address " + self + " to id " + id);
            }
            if (!seen.add(hp)) throw new IllegalArgumentException("-peers lists " + hp + " twice");
            if (peers.put(id, hp) != null) throw new IllegalArgumentException("-peers lists id " + id + " twice");
        }
        return peers;
    }

    static HostPort parseAddress(String s) {
        try {
            return HostPort.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad address in -peers: " + e.getMessage());
        }
    }
}
