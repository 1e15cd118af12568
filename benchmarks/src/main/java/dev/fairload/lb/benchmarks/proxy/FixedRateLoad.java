package dev.fairload.lb.benchmarks.proxy;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Plain-HTTP GETs at a fixed rate, for the added-latency figures of {@code benchmarks/proxy/run.sh}.
 *
 * <p>wrk keeps a fixed number of requests in flight, which measures throughput. This driver sends request {@code i}
 * when it is due ({@code start + i / rate}) and measures its latency from the moment it was sent, or from the moment
 * it was due if the connection meant for it was still busy: a stall of the target shows up as latency instead of as
 * a lower rate (no coordinated omission, as in wrk2). Requests go round robin over a few keep-alive connections, each
 * served by one thread with blocking I/O, so the driver's own cost is a few microseconds per request.
 *
 * <pre>
 * java -cp benchmarks.jar dev.fairload.lb.benchmarks.proxy.FixedRateLoad URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]
 * </pre>
 *
 * <p>Prints one line: {@code requests=N errors=N rate=R p50_us=N p90_us=N p99_us=N p999_us=N max_us=N}; requests due
 * during the warm-up are sent but not counted.
 */
public final class FixedRateLoad {

    private FixedRateLoad() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: FixedRateLoad URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]");
            System.exit(2);
        }
        URI url = URI.create(args[0]);
        int rate = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        int connections = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        int warmupSeconds = args.length > 4 ? Integer.parseInt(args[4]) : 3;

        long interval = 1_000_000_000L / rate;
        long total = (long) rate * (seconds + warmupSeconds);
        long counted = (long) rate * seconds;
        long start = System.nanoTime() + 100_000_000L;
        long[][] latencies = new long[connections][];
        AtomicLong errors = new AtomicLong();
        Thread[] workers = new Thread[connections];
        for (int w = 0; w < connections; w++) {
            int first = w;
            long[] mine = new long[(int) (counted / connections + 1)];
            latencies[w] = mine;
            workers[w] = new Thread(
                    () -> {
                        Connection connection = new Connection(url);
                        int n = 0;
                        for (long i = first; i < total; i += connections) {
                            long due = start + i * interval;
                            long sent = System.nanoTime();
                            if (sent < due) {
                                LockSupport.parkNanos(due - sent);
                                sent = System.nanoTime();
                            } else {
                                sent = due;
                            }
                            boolean ok = connection.get();
                            long latency = System.nanoTime() - sent;
                            if (i >= total - counted) {
                                if (ok) {
                                    mine[n++] = latency;
                                } else {
                                    errors.incrementAndGet();
                                }
                            }
                        }
                        latencies[first] = Arrays.copyOf(mine, n);
                        connection.close();
                    },
                    "load-" + w);
            workers[w].start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        long[] all =
                Arrays.stream(latencies).flatMapToLong(Arrays::stream).sorted().toArray();
        System.out.println(String.format(
                Locale.ROOT,
                "requests=%d errors=%d rate=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d",
                all.length,
                errors.get(),
                rate,
                micros(all, 0.50),
                micros(all, 0.90),
                micros(all, 0.99),
                micros(all, 0.999),
                all.length == 0 ? 0 : all[all.length - 1] / 1000));
    }

    private static long micros(long[] sorted, double quantile) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1);
        return sorted[Math.max(0, index)] / 1000;
    }

    /** One keep-alive HTTP/1.1 connection; reconnects after an error or a {@code Connection: close}. */
    private static final class Connection {
        private final URI url;
        private final byte[] request;
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        Connection(URI url) {
            this.url = url;
            String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
            this.request = ("GET " + path + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort()
                            + "\r\nUser-Agent: fixed-rate-load\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
        }

        /** Sends one GET and reads the whole answer; true for a 2xx. */
        boolean get() {
            try {
                if (socket == null) {
                    socket = new Socket();
                    socket.setTcpNoDelay(true);
                    socket.setSoTimeout(10_000);
                    socket.connect(new InetSocketAddress(url.getHost(), url.getPort()), 5_000);
                    in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
                    out = socket.getOutputStream();
                }
                out.write(request);
                out.flush();
                String status = line();
                long length = -1;
                boolean chunked = false;
                boolean close = false;
                for (String header = line(); !header.isEmpty(); header = line()) {
                    String lower = header.toLowerCase(Locale.ROOT);
                    if (lower.startsWith("content-length:")) {
                        length = Long.parseLong(lower.substring(15).trim());
                    } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                        chunked = true;
                    } else if (lower.startsWith("connection:") && lower.contains("close")) {
                        close = true;
                    }
                }
                if (chunked) {
                    for (long size = Long.parseLong(line().split(";")[0].trim(), 16);
                            size > 0;
                            size = Long.parseLong(line().split(";")[0].trim(), 16)) {
                        skip(size);
                        line();
                    }
                    while (!line().isEmpty()) {
                        // trailers
                    }
                } else if (length > 0) {
                    skip(length);
                }
                if (close) {
                    close();
                }
                return status.length() > 9 && status.charAt(9) == '2';
            } catch (IOException | RuntimeException e) {
                close();
                return false;
            }
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder(64);
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new EOFException();
                }
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            return line.toString();
        }

        private void skip(long bytes) throws IOException {
            for (long left = bytes; left > 0; ) {
                long skipped = in.skip(left);
                if (skipped <= 0) {
                    if (in.read() < 0) {
                        throw new EOFException();
                    }
                    skipped = 1;
                }
                left -= skipped;
            }
        }

        void close() {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
                socket = null;
            }
        }
    }
}
