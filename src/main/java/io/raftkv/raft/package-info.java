/**
 * The Raft consensus core: pure and deterministic.
 *
 * <p>{@link io.raftkv.raft.RaftNode} has no threads, sockets, files, wall clock or unseeded randomness.
 * Its inputs are {@code tick()}, {@code step(Message)}, {@code propose(byte[])} and
 * {@code proposeConfChange(ConfChange)}; its output is a {@link io.raftkv.raft.Ready} that the
 * caller must handle in order - persist the hard state and entries, then send the messages, then
 * apply the committed entries - and acknowledge with {@code advance(ready)}. Section numbers in
 * comments refer to the Raft paper (Ongaro and Ousterhout, 2014) and, where they say "thesis", to
 * Ongaro's dissertation.
 *
 * <p><b>Membership changes</b> (thesis ch. 4) are single-server changes (§4.1), not joint
 * consensus (§4.3): a {@link io.raftkv.raft.ConfChange} adds one learner, promotes one learner or
 * removes one member, so any majority of the configuration before a change overlaps any majority
 * of the one after, and one configuration entry suffices. It is simpler (one kind of entry, one
 * quorum rule), it is what etcd and LogCabin implemented first, and add / promote / remove one at a
 * time covers growing, shrinking and replacing servers. The rules:
 * <ul>
 *   <li>a {@link io.raftkv.raft.Configuration} (voters and learners, with addresses the core
 *       carries but never interprets) travels as a CONFIG {@link io.raftkv.raft.Entry} and in
 *       snapshots; every server uses the newest in its log, committed or not, and falls back to
 *       the previous one when a conflicting suffix is truncated (§4.1);</li>
 *   <li>one change at a time: the leader refuses a change while the previous one is uncommitted,
 *       and - Ongaro's 2015 fix (raft-dev, "bug in single-server membership changes") - until it
 *       has committed an entry of its own term (its no-op), else two changes made by leaders of
 *       different terms can have disjoint majorities ({@code MembershipScenarios});</li>
 *   <li>learners (§4.2.1) receive entries and snapshots but count in no quorum (commit, votes,
 *       check-quorum, ReadIndex: {@link io.raftkv.raft.Configuration#countsTowardQuorum}), never
 *       campaign and are never asked for votes; the leader promotes one only when it is within
 *       {@code RaftConfig.maxLearnerLagEntries} of its log;</li>
 *   <li>a leader that removes itself keeps leading without counting itself until the change
 *       commits, then steps down (§4.2.2); a server removed by an uncommitted change may still
 *       campaign, without counting its own vote (Figure 4.6); once it knows its removal committed
 *       it never campaigns, and pre-vote and the lease keep one that never learned it harmless
 *       (§4.2.3);</li>
 *   <li>servers process RPCs without consulting their configuration (§4.1): whose answers count is
 *       decided where they are counted.</li>
 * </ul>
 * A node started with the original static voter list uses it as its bootstrap configuration until
 * its log or snapshot holds one; a node started with no voters joins an existing cluster.
 */
package io.raftkv.raft;
