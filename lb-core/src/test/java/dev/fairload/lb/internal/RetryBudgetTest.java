package dev.fairload.lb.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RetryBudgetTest {

    @Test
    void tryAcquire_reserveAvailableAtStart() {
        RetryBudget budget = new RetryBudget(0.2, 3);

        assertThat(budget.tryAcquire()).isTrue();
        assertThat(budget.tryAcquire()).isTrue();
        assertThat(budget.tryAcquire()).isTrue();
        assertThat(budget.tryAcquire()).isFalse();
    }

    @Test
    void onRequest_earnsRatioOfARetry() {
        RetryBudget budget = new RetryBudget(0.2, 0);
        for (int i = 0; i < 4; i++) {
            budget.onRequest();
        }
        assertThat(budget.tryAcquire()).isFalse();

        budget.onRequest();

        assertThat(budget.tryAcquire()).isTrue();
        assertThat(budget.tryAcquire()).isFalse();
    }

    @Test
    void onRequest_balanceCappedAtReservePlusSavingsOfAThousandRequests() {
        RetryBudget budget = new RetryBudget(0.5, 2);
        for (int i = 0; i < 10_000; i++) {
            budget.onRequest();
        }

        assertThat(budget.available()).isEqualTo(2 + 500);
    }

    @Test
    void burstOfFailuresAfterHealthyStretch_retriedWithinSavings() {
        // 500 requests per second for two seconds, then the 64 requests waiting on a hung server time out together.
        RetryBudget budget = new RetryBudget(0.2, 10);
        for (int i = 0; i < 1000; i++) {
            budget.onRequest();
        }
        int retried = 0;
        for (int i = 0; i < 64; i++) {
            if (budget.tryAcquire()) {
                retried++;
            }
        }

        assertThat(retried).isEqualTo(64);
    }

    @Test
    void serviceFailingWholesale_afterHealthyStretch_retriesBoundedBySavingsPlusRatio() {
        RetryBudget budget = new RetryBudget(0.2, 10);
        for (int i = 0; i < 100_000; i++) {
            budget.onRequest();
        }
        int retries = 0;
        for (int call = 0; call < 10_000; call++) {
            budget.onRequest();
            for (int attempt = 0; attempt < 3 && budget.tryAcquire(); attempt++) {
                retries++;
            }
        }

        assertThat(retries).isBetween(2_200, 2_210);
    }

    @Test
    void steadyFailure_retriesBoundedByRatioPlusReserve() {
        RetryBudget budget = new RetryBudget(0.2, 10);
        int retries = 0;
        for (int call = 0; call < 10_000; call++) {
            budget.onRequest();
            for (int attempt = 0; attempt < 3 && budget.tryAcquire(); attempt++) {
                retries++;
            }
        }

        assertThat(retries).isBetween(2_000, 2_010);
    }

    @Test
    void release_returnsUnusedRetry() {
        RetryBudget budget = new RetryBudget(0.0, 1);
        assertThat(budget.tryAcquire()).isTrue();

        budget.release();

        assertThat(budget.tryAcquire()).isTrue();
        assertThat(budget.tryAcquire()).isFalse();
    }

    @Test
    void zeroRatioAndReserve_neverRetries() {
        RetryBudget budget = new RetryBudget(0.0, 0);
        budget.onRequest();

        assertThat(budget.tryAcquire()).isFalse();
    }
}
