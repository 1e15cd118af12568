package dev.fairload.lb.servlet.admin.internal;

import dev.fairload.lb.LoadBalancer;
import dev.fairload.lb.MetricsSnapshot;
import dev.fairload.lb.ServerStatus;
import dev.fairload.lb.event.LbEvent;
import dev.fairload.lb.event.LbEventListener;
import dev.fairload.lb.servlet.ProxyRuntime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the status page shows over time: one sample per interval (requests, failures, rate, error rate, p50 and p99
 * latency of that interval, requests in flight) for the last 15 minutes, the recent pool events (servers added and
 * removed, status changes with their reason, weight changes), and the recent failed requests.
 *
 * <p>Request path: each proxied request costs one {@link LongAdder} increment in a latency histogram (log buckets,
 * eight per doubling, so percentiles are within about 6%); a failed one also one atomic increment and one array write
 * in a ring. No lock, no allocation.
 *
 * <p>Sampling: {@link #sample(Instant)} is called once per interval by one thread (the admin servlet's scheduler, or
 * a test with its own clock). It reads the balancer's counters and the histogram, and keeps the difference since the
 * previous call. Memory is bounded: {@link #SAMPLES} samples, {@link #EVENTS} events, {@link #FAILED} failed
 * requests.
 *
 * <p>Thread-safe: samples and events are kept under this object's lock, never taken on the request path.
 */
public final class MetricsHistory implements ProxyRuntime.ExchangeListener, LbEventListener {
    /** Seconds between samples. */
    public static final int INTERVAL_SECONDS = 1;
    /** Samples kept: 15 minutes. */
    public static final int SAMPLES = 15 * 60 / INTERVAL_SECONDS;
    /** Pool events kept. */
    public static final int EVENTS = 200;
    /** Failed requests kept. */
    public static final int FAILED = 50;

    private static final int SUB_BUCKETS = 8;
    private static final int BUCKETS = 64 * SUB_BUCKETS;

    /** One interval. Latencies in milliseconds, null when the interval had no request. */
    public record Sample(
            long seq,
            Instant timestamp,
            long requests,
            long failedRequests,
            double requestsPerSecond,
            double errorRate,
            Double p50,
            Double p99,
            long activeConnections) {}

    /** One pool event; {@code from} and {@code to} are statuses or weights, null when they do not apply. */
    public record Event(
            long seq,
            Instant timestamp,
            String type,
            String serverId,
            String address,
            String from,
            String to,
            String reason) {}

    private final LoadBalancer lb;
    private final LongAdder[] histogram = new LongAdder[BUCKETS];
    private final long[] previousHistogram = new long[BUCKETS];
    private final AtomicReferenceArray<ProxyRuntime.Exchange> failed = new AtomicReferenceArray<>(FAILED);
    private final AtomicLong failedSequence = new AtomicLong();

    private final ArrayDeque<Sample> samples = new ArrayDeque<>(SAMPLES);
    private final ArrayDeque<Event> events = new ArrayDeque<>(EVENTS);
    private long sampleSeq;
    private long eventSeq;
    private long previousTotal = -1;
    private long previousFailed;
    private Instant previousAt;

    public MetricsHistory(LoadBalancer lb) {
        this.lb = lb;
        for (int i = 0; i < BUCKETS; i++) {
            histogram[i] = new LongAdder();
        }
    }

    // Request path ----------------------------------------------------------------------------------------------

    @Override
    public void onExchange(ProxyRuntime.Exchange exchange) {
        histogram[bucket(exchange.durationNanos() / 1000)].increment();
        if (exchange.status() >= 500 || exchange.status() < 100) {
            long seq = failedSequence.getAndIncrement();
            failed.set((int) (seq % FAILED), exchange);
        }
    }

    /** The bucket of a latency in microseconds: eight per power of two. */
    static int bucket(long micros) {
        if (micros < SUB_BUCKETS) {
            return (int) Math.max(micros, 0);
        }
        int exp = 63 - Long.numberOfLeadingZeros(micros);
        int sub = (int) (micros >>> (exp - 3)) & (SUB_BUCKETS - 1);
        return Math.min((exp - 2) * SUB_BUCKETS + sub, BUCKETS - 1);
    }

    /** The middle of a bucket, in microseconds. */
    static double bucketMiddle(int bucket) {
        if (bucket < SUB_BUCKETS) {
            return bucket + 0.5;
        }
        int exp = bucket / SUB_BUCKETS + 2;
        int sub = bucket % SUB_BUCKETS;
        double low = (double) (SUB_BUCKETS + sub) * Math.pow(2, exp - 3);
        return low + Math.pow(2, exp - 3) / 2;
    }

    // Events (the balancer's event thread) ---------------------------------------------------------------------

    @Override
    public void onEvent(LbEvent event) {
        String id = event.server().id();
        String address = event.server().authority();
        Event e;
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        synchronized (this) {
            long seq = ++eventSeq;
            if (event instanceof LbEvent.ServerAdded) {
                e = new Event(seq, now, "added", id, address, null, null, null);
            } else if (event instanceof LbEvent.ServerRemoved) {
                e = new Event(seq, now, "removed", id, address, null, null, null);
            } else if (event instanceof LbEvent.StatusChanged s) {
                e = new Event(seq, now, "status", id, address, name(s.from()), name(s.to()), s.reason());
            } else if (event instanceof LbEvent.WeightChanged w) {
                e = new Event(seq, now, "weight", id, address, String.valueOf(w.from()), String.valueOf(w.to()), null);
            } else {
                return;
            }
            if (events.size() == EVENTS) {
                events.removeFirst();
            }
            events.addLast(e);
        }
    }

    private static String name(ServerStatus status) {
        return status == null ? null : status.jsonName();
    }

    // Sampling --------------------------------------------------------------------------------------------------

    /** Takes one sample ending at {@code now}. Called by one thread at a time. */
    public synchronized void sample(Instant now) {
        MetricsSnapshot s = lb.metrics();
        long[] counts = new long[BUCKETS];
        long inInterval = 0;
        for (int i = 0; i < BUCKETS; i++) {
            long total = histogram[i].sum();
            counts[i] = total - previousHistogram[i];
            previousHistogram[i] = total;
            inInterval += counts[i];
        }
        if (previousTotal < 0) {
            // The first call only sets the baseline.
            previousTotal = s.totalRequests();
            previousFailed = s.failedRequests();
            previousAt = now;
            return;
        }
        long requests = Math.max(0, s.totalRequests() - previousTotal);
        long failures = Math.max(0, s.failedRequests() - previousFailed);
        double seconds = Math.max(Duration.between(previousAt, now).toMillis(), 1) / 1000.0;
        previousTotal = s.totalRequests();
        previousFailed = s.failedRequests();
        previousAt = now;
        Sample sample = new Sample(
                ++sampleSeq,
                now,
                requests,
                failures,
                Views.round3(requests / seconds),
                requests == 0 ? 0.0 : Views.round3((double) failures / requests),
                percentile(counts, inInterval, 0.50),
                percentile(counts, inInterval, 0.99),
                s.inFlight());
        if (samples.size() == SAMPLES) {
            samples.removeFirst();
        }
        samples.addLast(sample);
    }

    private static Double percentile(long[] counts, long total, double q) {
        if (total == 0) {
            return null;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Views.round3(bucketMiddle(i) / 1000.0);
            }
        }
        return Views.round3(bucketMiddle(counts.length - 1) / 1000.0);
    }

    // Reads -----------------------------------------------------------------------------------------------------

    /** The samples with a sequence number above {@code after}, oldest first. */
    public synchronized List<Sample> samples(long after) {
        List<Sample> out = new ArrayList<>();
        for (Sample s : samples) {
            if (s.seq() > after) {
                out.add(s);
            }
        }
        return out;
    }

    /** The events with a sequence number above {@code after}, newest first. */
    public synchronized List<Event> events(long after) {
        List<Event> out = new ArrayList<>();
        for (Iterator<Event> it = events.descendingIterator(); it.hasNext(); ) {
            Event e = it.next();
            if (e.seq() <= after) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    /** The most recent failed requests (5xx or no response), newest first. */
    public List<ProxyRuntime.Exchange> failedRequests() {
        long newest = failedSequence.get() - 1;
        List<ProxyRuntime.Exchange> out = new ArrayList<>(FAILED);
        for (long s = newest; s > newest - FAILED && s >= 0; s--) {
            ProxyRuntime.Exchange e = failed.get((int) (s % FAILED));
            if (e != null) {
                out.add(e);
            }
        }
        return out;
    }
}
