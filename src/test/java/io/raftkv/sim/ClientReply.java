package io.raftkv.sim;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * A node's answer to a {@link ClientRequest}, mirroring the HTTP API: {@code status} 200, 404,
 * 409 or 503; {@code value} the key's value (get, or a put/append applied now); {@code duplicate}
 * a session retry answered from the session table; {@code clientId} of a registration;
 * {@code retryable} on a 503 means the write was certainly not applied; {@code leader} is the
 * node that served it (present on 200/404/409 only, as in the HTTP body's "leader").
 * For a cas or txn {@code succeeded} says whether its comparison held, and {@code value} is then
 * the key's value a failed one reported (empty: absent); for a delete, {@code value} is the count.
 */
record ClientReply(int status, Optional<String> value, boolean duplicate, long clientId, boolean sessionExpired,
                   boolean retryable, OptionalInt leader, String error, Optional<Boolean> succeeded) {
    ClientReply(int status, Optional<String> value, boolean duplicate, long clientId, boolean sessionExpired,
                boolean retryable, OptionalInt leader, String error) {
        this(status, value, duplicate, clientId, sessionExpired, retryable, leader, error, Optional.empty());
    }

    static ClientReply unavailable(boolean retryable, String why) {
        return new ClientReply(503, Optional.empty(), false, 0, false, retryable, OptionalInt.empty(), why);
    }

    boolean ok() {
        return status == 200;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder().append(status);
        value.ifPresent(v -> s.append(" value=").append(v));
        succeeded.ifPresent(ok -> s.append(ok ? " succeeded" : " failed"));
        if (duplicate) s.append(" duplicate");
        if (clientId != 0) s.append(" clientId=").append(clientId);
        if (status == 503) s.append(retryable ? " retryable" : " unknown");
        if (error != null) s.append(" (").append(error).append(")");
        return s.toString();
    }
}
