/**
 * Real-process fault injection ({@code raftkv chaos}): concurrent clients with sessions record
 * every operation as a history (JSON Lines) while a nemesis kills ({@code kill -9}) and restarts
 * node processes, pauses them ({@code SIGSTOP}/{@code SIGCONT}) and cuts the network between
 * them with iptables rules on loopback. At the end the network is healed, every node restarted,
 * and the final state is checked: every acknowledged write present, exactly once and in order;
 * and the history, read back from its file, is checked for linearizability by {@link
 * io.raftkv.linearizability.LinearizabilityChecker}. {@link io.raftkv.chaos.Conclusion} combines
 * the checks into the verdict.
 *
 * <p>Contract: whatever happens (a failure, an exception, Ctrl-C), the firewall rules this
 * package added are removed and paused processes are continued; it never touches other rules.
 */
package io.raftkv.chaos;
