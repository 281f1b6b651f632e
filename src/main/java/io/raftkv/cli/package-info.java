/**
 * The {@code raftkv} command: run a node (the report's {@code -id -port -peers} line), open the
 * interactive shell against a cluster, start a whole local cluster with the shell attached, load
 * it ({@code bench}), inject faults ({@code chaos}) and check a history for linearizability
 * ({@code check-history}).
 */
package io.raftkv.cli;
