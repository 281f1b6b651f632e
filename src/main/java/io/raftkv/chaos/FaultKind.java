package io.raftkv.chaos;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/** The faults the nemesis injects; {@code --faults} names them. */
public enum FaultKind {
    /** {@code kill -9} a node (the leader every other time), start it again a little later. */
    KILL("kill"),
    /** {@code kill -STOP} a node (the leader every other time), {@code kill -CONT} it a little later. */
    PAUSE("pause"),
    /** Cut a minority of nodes (holding the leader every other time) from the majority, both ways. */
    PARTITION("partition"),
    /** Cut every node from every other: no majority anywhere until it heals. */
    PARTITION_FULL("partition-full"),
    /**
     * Remove a node (the leader every other time) from the membership; at the repair add it back
     * as a learner and promote it once it has caught up (Raft thesis ch. 4). Its data is kept.
     */
    MEMBERSHIP("membership"),
    /** Move the leadership to another node (thesis §3.10). */
    TRANSFER("transfer");

    private final String flagName;

    FaultKind(String flagName) {
        this.flagName = flagName;
    }

    public String flagName() {
        return flagName;
    }

    public boolean needsFirewall() {
        return this == PARTITION || this == PARTITION_FULL;
    }

    /** All of them, as {@code --faults} takes them. */
    public static String allNames() {
        return EnumSet.allOf(FaultKind.class).stream().map(FaultKind::flagName).collect(Collectors.joining(","));
    }

    /** Parses {@code kill,pause,partition,partition-full}; throws {@link IllegalArgumentException} with the valid names. */
    public static Set<FaultKind> parseList(String list) {
        Set<FaultKind> kinds = EnumSet.noneOf(FaultKind.class);
        for (String part : list.split(",")) {
            String name = part.trim().toLowerCase(Locale.ROOT);
            if (name.isEmpty()) continue;
            if (name.equals("none")) continue;
            FaultKind k = null;
            for (FaultKind f : values()) if (f.flagName.equals(name)) k = f;
            if (k == null) throw new IllegalArgumentException("unknown fault '" + part.trim() + "'; the faults are " + allNames()
                    + " (or none)");
            kinds.add(k);
        }
        return kinds;
    }

    public static String names(Set<FaultKind> kinds) {
        return kinds.isEmpty() ? "none" : kinds.stream().map(FaultKind::flagName).collect(Collectors.joining(","));
    }
}
