/**
 * A linearizability checker for histories of the key-value store, for tests.
 *
 * <p>A {@link io.raftkv.linearizability.History} of completed {@link
 * io.raftkv.linearizability.Operation}s (JSON Lines on disk) goes into {@link
 * io.raftkv.linearizability.LinearizabilityChecker#check}, which answers LINEARIZABLE with a witness
 * order, NOT_LINEARIZABLE with the key and a small core of conflicting operations, or UNKNOWN when
 * its time budget ran out; it never guesses. The checker is split per key (linearizability is
 * local) and searches each key with the Wing &amp; Gong / Lowe algorithm, as Porcupine does.
 */
package io.raftkv.linearizability;
