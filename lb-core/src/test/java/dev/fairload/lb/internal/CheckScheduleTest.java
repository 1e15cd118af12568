package dev.fairload.lb.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When the next active check of a server comes, for each state it can be in. */
class CheckScheduleTest {
    private static final long INTERVAL = 30_000;
    private static final long FAST = 1_000;

    @Test
    void settlingServer_unknownDownOrBetweenStates_isCheckedAtTheFastInterval() {
        for (int checks : new int[] {1, 2, 50}) {
            assertThat(ActiveChecker.nextDelayMillis(true, checks, INTERVAL, FAST, 0.1, 0.0))
                    .isEqualTo(FAST);
            assertThat(ActiveChecker.nextDelayMillis(true, checks, INTERVAL, FAST, 0.1, 0.999))
                    .isBetween(900L, FAST);
        }
    }

    @Test
    void healthyServer_secondCheckSpreadOverTheSecondHalfOfItsInterval_thenEveryInterval() {
        assertThat(ActiveChecker.nextDelayMillis(false, 1, INTERVAL, FAST, 0.1, 0.0))
                .isEqualTo(15_000);
        assertThat(ActiveChecker.nextDelayMillis(false, 1, INTERVAL, FAST, 0.1, 0.999))
                .isBetween(29_000L, INTERVAL);
        assertThat(ActiveChecker.nextDelayMillis(false, 7, INTERVAL, FAST, 0.1, 0.0))
                .isEqualTo(INTERVAL);
        assertThat(ActiveChecker.nextDelayMillis(false, 7, INTERVAL, FAST, 0.1, 0.999))
                .isBetween(27_000L, INTERVAL);
    }

    @Test
    void tinyIntervals_neverGiveAZeroDelay() {
        assertThat(ActiveChecker.nextDelayMillis(true, 3, 1, 1, 0.5, 0.999)).isEqualTo(1);
        assertThat(ActiveChecker.nextDelayMillis(false, 3, 1, 1, 0.5, 0.999)).isEqualTo(1);
    }
}
