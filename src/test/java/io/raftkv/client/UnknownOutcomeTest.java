package io.raftkv.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.Test;

/** A write whose earlier attempt was sent and lost keeps saying so, whatever its last attempt met. */
class UnknownOutcomeTest {
    private static final HostPort NODE = new HostPort("127.0.0.1", 9);

    @Test
    void aLaterConnectFailureDoesNotHideAnEarlierLostSend() {
        KvResult tls = new KvResult(0, RaftKvClient.error("cannot connect to 127.0.0.1:9: TLS handshake failed (x)"), NODE, 1);
        assertThat(RaftKvClient.withUnknownOutcome(tls).error().orElseThrow())
                .startsWith("cannot connect to 127.0.0.1:9: TLS handshake failed (x)")
                .endsWith("an earlier attempt was sent and lost: the outcome is unknown");
    }

    @Test
    void anAnswerOrAnAlreadyUnknownOutcomeIsLeftAsItIs() {
        KvResult lost = new KvResult(0, RaftKvClient.error("connection to 127.0.0.1:9 failed (reset); the outcome is unknown"), NODE, 1);
        assertThat(RaftKvClient.withUnknownOutcome(lost)).isSameAs(lost);
        KvResult answered = new KvResult(503, RaftKvClient.error("no leader"), NODE, 1);
        assertThat(RaftKvClient.withUnknownOutcome(answered)).isSameAs(answered);
    }

    @Test
    void atTheDeadlineARefusedCertificateIsReportedUnlessAWriteMayHaveBeenApplied() {
        KvResult tls = RaftKvClient.tlsRefused(NODE, "PKIX path building failed", 1);
        KvResult timeout = new KvResult(0, RaftKvClient.error("cannot connect to 127.0.0.1:9: connect timed out"), NODE, 1);
        assertThat(RaftKvClient.atDeadline(timeout, tls, true, false)).isSameAs(tls);
        assertThat(RaftKvClient.atDeadline(timeout, tls, false, false)).isSameAs(tls);
        assertThat(RaftKvClient.atDeadline(timeout, tls, true, true).error().orElseThrow())
                .contains("connect timed out").endsWith("the outcome is unknown");
        assertThat(RaftKvClient.atDeadline(timeout, null, false, true)).isSameAs(timeout); // a read: nothing to apply
        assertThat(RaftKvClient.atDeadline(null, null, true, false)).isNull();
    }
}
