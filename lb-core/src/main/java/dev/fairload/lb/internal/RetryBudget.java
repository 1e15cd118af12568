package dev.fairload.lb.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Caps retries at a share of requests, so a failing service sees at most {@code 1 + ratio} times its normal
 * traffic instead of {@code 1 + maxRetries} times (the retry storm that Finagle's and Envoy's retry budgets and
 * gRPC's retry throttling exist to prevent).
 *
 * <p>Design: a token bucket counted in thousandths of a retry. Every request deposits {@code ratio} of a token;
 * every retry, of any kind, withdraws a whole one. The bucket starts with {@code reserve} tokens, so a new or quiet
 * client may still retry a few requests in a row, and holds at most {@code reserve} plus what the last {@value
 * #SAVINGS_REQUESTS} requests earn ({@code ratio * 1000}, 200 at the default 20 %). Over any stretch of requests
 * retries stay at most {@code reserve + ratio * (requests + 1000)}. No clock is involved, so the bound holds
 * whatever the request rate.
 *
 * <p>Why the savings: failures come in bursts. A server that hangs makes every request waiting on it time out
 * together (up to the per-server in-flight limit, 256 by default), a moment after a healthy stretch in which
 * nearly every request succeeded. A bucket capped at the reserve alone (10) let only 10 of those be retried and
 * failed the rest to the clients although retries were a small share of the traffic; the savings let a burst of
 * that size through while a service failing wholesale still sees at most about {@code 1 + ratio} times its
 * traffic once they are spent.
 *
 * <p>Concurrency: one {@link AtomicLong}. A deposit into a full bucket is a single volatile read, which is the
 * steady state of a healthy service; otherwise deposits and withdrawals are CAS loops.
 */
public final class RetryBudget {
    private static final long UNITS_PER_RETRY = 1000;
    /** Requests whose deposits a full bucket holds beyond the reserve. */
    static final int SAVINGS_REQUESTS = 1000;

    private final long depositUnits;
    private final long capacityUnits;
    private final AtomicLong balance;

    public RetryBudget(double ratio, int reserve) {
        this.depositUnits = Math.round(ratio * UNITS_PER_RETRY);
        this.capacityUnits = Math.max(reserve, 1) * UNITS_PER_RETRY + depositUnits * SAVINGS_REQUESTS;
        this.balance = new AtomicLong(reserve * UNITS_PER_RETRY);
    }

    /** Records one request (not retries): earns {@code ratio} of a retry. */
    public void onRequest() {
        if (depositUnits == 0) {
            return;
        }
        long current;
        long next;
        do {
            current = balance.get();
            if (current >= capacityUnits) {
                return;
            }
            next = Math.min(capacityUnits, current + depositUnits);
        } while (!balance.compareAndSet(current, next));
    }

    /** Takes one retry from the budget; false if the budget is spent. */
    public boolean tryAcquire() {
        long current;
        do {
            current = balance.get();
            if (current < UNITS_PER_RETRY) {
                return false;
            }
        } while (!balance.compareAndSet(current, current - UNITS_PER_RETRY));
        return true;
    }

    /** Gives back a retry taken by {@link #tryAcquire()} that was not made after all. */
    public void release() {
        balance.accumulateAndGet(UNITS_PER_RETRY, (current, units) -> Math.min(capacityUnits, current + units));
    }

    /** Whole retries available now (for tests and diagnostics). */
    public long available() {
        return balance.get() / UNITS_PER_RETRY;
    }

    @Override
    public String toString() {
        return "RetryBudget{available=" + balance.get() / (double) UNITS_PER_RETRY + "}";
    }
}
