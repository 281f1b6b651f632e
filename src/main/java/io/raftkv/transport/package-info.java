/**
 * Peer RPCs over HTTP/1.1 with Netty: {@code POST /requestVote}, {@code POST /appendEntries} and
 * {@code POST /installSnapshot} on one persistent, pipelined connection per peer. Requests carry a
 * Raft message in the binary encoding of {@link io.raftkv.transport.MessageCodec}; the
 * HTTP response carries the peer's answer. Raft tolerates loss, so a message that cannot be sent
 * (peer down, too many outstanding) is dropped, never queued without bound.
 */
package io.raftkv.transport;
