package io.raftkv.transport;

/**
 * Told how long each AppendEntries took from its write to a peer until the peer's answer arrived
 * (the follower's log write included), on the connection's event loop. For metrics: must be cheap.
 */
@FunctionalInterface
public interface RoundTripObserver {
    RoundTripObserver NONE = (peer, nanos) -> {};

    void appendEntriesRoundTrip(int peer, long nanos);
}
