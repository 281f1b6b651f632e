/**
 * The {@code raftkv} command: run a node (the report's {@code -id -port -peers} line), open the
 * interactive shell against a cluster, or start a whole local cluster with the shell attached.
 */
package io.raftkv.cli;
