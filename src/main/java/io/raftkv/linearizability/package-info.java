/**
 * A linearizability checker for histories of the key-value store, used by {@code raftkv
 * check-history}, {@code raftkv chaos} and the tests.
 *
 * <p>A {@link io.raftkv.linearizability.History} of completed {@link
 * io.raftkv.linearizability.Operation}s (JSON Lines on disk, the format {@code raftkv chaos}
 * writes; a malformed line is a {@link io.raftkv.linearizability.HistoryFormatException} naming
 * the line) goes into {@link io.raftkv.linearizability.LinearizabilityChecker#check}, which answers
 * LINEARIZABLE with a witness order, NOT_LINEARIZABLE with the key and a shrunk counterexample, or
 * UNKNOWN when its time budget ran out; it never guesses. The checker is split per key
 * (linearizability is local) and searches each key with the Wing &amp; Gong / Lowe algorithm, as
 * Porcupine does. {@link io.raftkv.linearizability.CheckReport} words a verdict for people.
 *
 * <p>Contract: pure computation on the history it is given, on the calling thread; no I/O but
 * reading and writing history files, and no clock but the budget's deadline and the time a check
 * took. The tests keep an independent brute-force oracle and the histories that prove the checker
 * has teeth.
 */
package io.raftkv.linearizability;
