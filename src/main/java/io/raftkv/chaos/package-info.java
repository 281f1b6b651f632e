/**
 * Real-process fault injection ({@code raftkv chaos}): concurrent clients with sessions record
 * every operation as a history (JSON Lines) while a nemesis kills ({@code kill -9}) and restarts
 * node processes, pauses them ({@code SIGSTOP}/{@code SIGCONT}) and cuts the network between
 * them with iptables rules on loopback. At the end the network is healed, every node restarted,
 * and the final state is checked: every acknowledged write present, exactly once and in order.
 *
 * <p>Contract: whatever happens (a failure, an exception, Ctrl-C), the firewall rules this
 * package added are removed and paused processes are continued; it never touches other rules.
 * Linearizability of the history is checked by the test-scope checker, not here.
 */
package io.raftkv.chaos;
