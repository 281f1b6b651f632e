package io.raftkv.raft;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A leader's servers whose removal it has just committed (thesis §4.2.2, §4.2.3), with the address
 * to reach them and how many more ticks it keeps sending to them.
 *
 * <p>A removed server learns that its removal is committed only from a leader's commit index, and
 * the leader stops counting it the moment the configuration without it is in the log. Were the
 * leader to stop sending to it at the commit, too, a removed server that had not yet acknowledged
 * the entry (it is not needed for the commit), or whose one last message was lost, would never
 * learn: it would keep its stale view and keep timing out and asking for pre-votes forever. So
 * the leader keeps replicating to it, as to any follower, for an election timeout after the
 * commit - enough heartbeats that one arrives unless the server is down or cut off, which is
 * harmless (pre-vote and the lease ignore it) - then forgets it. etcd instead keeps a removed
 * member in its tracker until the change is applied, and tells it it is gone at the transport
 * (HTTP 410); this keeps the rule in the protocol.
 *
 * <p>Invariant: every id here is in no configuration the leader uses, and has a {@link Progress}.
 */
final class Departures {
    private static final class Departure {
        final String address;
        int ticksLeft;

        Departure(String address, int ticksLeft) {
            this.address = address;
            this.ticksLeft = ticksLeft;
        }
    }

    private final Map<Integer, Departure> byId = new TreeMap<>();

    /** {@code id}'s removal just committed: keep sending to it at {@code address} for {@code ticks} ticks. */
    void begin(int id, String address, int ticks) {
        byId.putIfAbsent(id, new Departure(address, ticks));
    }

    /** {@code id} is a member again (added back during its departure): an ordinary peer from now on. */
    void cancel(int id) {
        byId.remove(id);
    }

    boolean contains(int id) {
        return byId.containsKey(id);
    }

    boolean isEmpty() {
        return byId.isEmpty();
    }

    /** The departing servers and their addresses, by id. */
    Map<Integer, String> addresses() {
        Map<Integer, String> out = new TreeMap<>();
        byId.forEach((id, d) -> out.put(id, d.address));
        return out;
    }

    /** One tick passed; returns the servers whose departure ended (no more messages go to them). */
    List<Integer> tick() {
        List<Integer> ended = new ArrayList<>();
        for (var it = byId.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (--e.getValue().ticksLeft > 0) continue;
            ended.add(e.getKey());
            it.remove();
        }
        return ended;
    }

    void clear() {
        byId.clear();
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("departing");
        byId.forEach((id, d) -> s.append(' ').append(id).append(" (").append(d.ticksLeft).append(" ticks)"));
        return s.toString();
    }
}
