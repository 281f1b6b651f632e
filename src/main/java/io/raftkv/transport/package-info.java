/**
 * Peer RPCs over HTTP/1.1 with Netty: {@code POST /requestVote} and {@code POST /appendEntries}
 * on one persistent, pipelined connection per peer. Requests carry a Raft message as JSON; the
 * HTTP response carries the peer's answer. Raft tolerates loss, so a message that cannot be sent
 * (peer down, too many outstanding) is dropped, never queued without bound.
 */
package io.raftkv.transport;
