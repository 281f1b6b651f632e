package io.raftkv.chaos;

import org.junit.jupiter.api.Test;

import java.util.EnumSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FaultKindTest {
    @Test
    void membershipAndTransferAreFaultsThatNeedNoFirewall() {
        assertThat(FaultKind.parseList("membership, transfer,kill"))
                .isEqualTo(EnumSet.of(FaultKind.MEMBERSHIP, FaultKind.TRANSFER, FaultKind.KILL));
        assertThat(FaultKind.MEMBERSHIP.needsFirewall()).isFalse();
        assertThat(FaultKind.TRANSFER.needsFirewall()).isFalse();
        assertThatThrownBy(() -> FaultKind.parseList("members")).hasMessageContaining("membership,transfer");
    }
}
