package io.raftkv.server;

/**
 * The end of a node's log for the web view: the terms of the entries {@code start} ..
 * {@code start + terms.length - 1} (the last ones in the log; earlier ones may be in the
 * snapshot), read on the node's thread.
 */
record LogTail(long start, long[] terms) {
    static final LogTail EMPTY = new LogTail(1, new long[0]);
}
