package io.raftkv.linearizability;

/**
 * A doubly linked list of the nodes {@code 1..size} in that order, between a head {@code 0} and a
 * tail {@code size + 1}. A removed node keeps its own links, so removals undone in the reverse
 * order put every node back exactly where it was (Knuth's "dancing links"): the backtracking
 * search removes an operation's nodes when it linearizes it and restores them when it backs out.
 */
final class DancingLinks {
    private final int[] next;
    private final int[] prev;
    final int tail;

    DancingLinks(int size) {
        tail = size + 1;
        next = new int[size + 2];
        prev = new int[size + 2];
        for (int node = 0; node <= tail; node++) {
            next[node] = node + 1;
            prev[node] = node - 1;
        }
    }

    int first() {
        return next[0];
    }

    int next(int node) {
        return next[node];
    }

    void remove(int node) {
        next[prev[node]] = next[node];
        prev[next[node]] = prev[node];
    }

    /** Undoes {@link #remove} of {@code node}; only valid for the most recent removal not yet undone. */
    void restore(int node) {
        next[prev[node]] = node;
        prev[next[node]] = node;
    }
}
