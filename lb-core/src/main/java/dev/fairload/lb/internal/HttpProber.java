package dev.fairload.lb.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plain-http health probes on one selector thread, with one kept-alive connection per server.
 *
 * <p>Why not the JDK {@code HttpClient} here: measured on the project's 2-core machine, it spent 165-260 us of CPU
 * per check at 10,000 servers (its idle-connection list is walked on every request, and each exchange goes
 * through a long chain of futures), so 10,000 servers at a 1 s interval needed more than both cores. A health
 * check needs one request line and a status: this class does that in a few microseconds. https checks still use
 * the JDK client ({@link ActiveChecker}).
 *
 * <p>Protocol: {@code GET path HTTP/1.1} with {@code Host} and {@code User-Agent}. The answer's status line
 * decides; the body is read as framed by {@code Content-Length}, chunked encoding or the end of the connection,
 * keeping at most {@link #MAX_BODY} bytes for the body check. A connection is reused when the answer was framed
 * and did not ask to close; a reused connection that fails before any byte of the answer is retried once on a
 * fresh one, since the server may have closed it while idle.
 *
 * <p>Threads: every channel operation runs on the selector thread; {@link #probe} only enqueues. Timeouts are
 * timers on the balancer's scheduler that enqueue a cancellation.
 */
final class HttpProber implements AutoCloseable {
    static final int MAX_BODY = 64 * 1024;
    private static final Logger log = LoggerFactory.getLogger(HttpProber.class);

    /** The outcome of a probe: a status (and the body kept, if asked for), or an error in words. */
    record Result(int status, String body, String error) {}

    /** One server's connection, owned by the selector thread. */
    static final class Connection {
        SocketChannel channel;
    }

    private final Selector selector;
    private final Thread thread;
    private final ScheduledExecutorService scheduler;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;

    HttpProber(String name, ScheduledExecutorService scheduler) {
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new IllegalStateException("cannot open a selector for health checks", e);
        }
        this.scheduler = scheduler;
        this.thread = new Thread(this::loop, "fairload-" + name + "-health-io");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Sends one check; {@code done} is called exactly once, on the selector thread, with the result.
     *
     * @param keepBody whether the body is wanted (up to {@link #MAX_BODY} bytes)
     */
    void probe(
            Connection connection,
            String host,
            int port,
            String path,
            long timeoutNanos,
            boolean keepBody,
            Consumer<Result> done) {
        Probe probe = new Probe(connection, host, port, path, keepBody, done);
        try {
            probe.timer =
                    scheduler.schedule(() -> submit(() -> probe.fail("timeout")), timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            done.accept(new Result(0, null, "closing"));
            return;
        }
        submit(probe::start);
    }

    /** Closes a server's connection (when it leaves the pool). */
    void release(Connection connection) {
        submit(() -> closeQuietly(connection));
    }

    private void submit(Runnable task) {
        tasks.add(task);
        selector.wakeup();
    }

    private void loop() {
        while (running) {
            try {
                selector.select(1_000);
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    task.run();
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    Probe probe = (Probe) key.attachment();
                    if (key.isValid()) {
                        probe.ready(key);
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException | RuntimeException e) {
                log.warn("health-check selector failed; continuing", e);
            }
        }
    }

    private static void closeQuietly(Connection connection) {
        SocketChannel channel = connection.channel;
        connection.channel = null;
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
    }

    /** One request and its answer. Touched only on the selector thread (but for {@link #timer}). */
    private final class Probe {
        final Connection connection;
        final String host;
        final int port;
        final boolean keepBody;
        final Consumer<Result> done;
        final ByteBuffer request;
        volatile ScheduledFuture<?> timer;
        boolean finished;
        boolean reused;
        ByteBuffer in = ByteBuffer.allocate(1024);
        int headerEnd = -1;
        int status;
        long contentLength = -1;
        boolean chunked;
        boolean closeAfter;
        int chunkPos; // parse position within the chunked body

        Probe(Connection connection, String host, int port, String path, boolean keepBody, Consumer<Result> done) {
            this.connection = connection;
            this.host = host;
            this.port = port;
            this.keepBody = keepBody;
            this.done = done;
            String hostHeader = host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
            this.request = ByteBuffer.wrap(("GET " + path + " HTTP/1.1\r\nHost: " + hostHeader
                            + "\r\nUser-Agent: fairload-health-check\r\nAccept: */*\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
        }

        void start() {
            if (finished) {
                return;
            }
            try {
                SocketChannel channel = connection.channel;
                reused = channel != null && channel.isOpen();
                if (!reused) {
                    channel = SocketChannel.open();
                    channel.configureBlocking(false);
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    connection.channel = channel;
                    if (!channel.connect(new InetSocketAddress(host, port))) {
                        channel.register(selector, SelectionKey.OP_CONNECT, this);
                        return;
                    }
                }
                write(channel);
            } catch (IOException | RuntimeException e) {
                failed(e);
            }
        }

        void ready(SelectionKey key) {
            if (finished) {
                key.cancel();
                return;
            }
            SocketChannel channel = (SocketChannel) key.channel();
            try {
                if (key.isConnectable()) {
                    channel.finishConnect();
                    write(channel);
                } else if (key.isWritable()) {
                    write(channel);
                } else if (key.isReadable()) {
                    read(channel);
                }
            } catch (IOException | RuntimeException e) {
                failed(e);
            }
        }

        private void write(SocketChannel channel) throws IOException {
            channel.write(request);
            channel.register(selector, request.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ, this);
        }

        private void read(SocketChannel channel) throws IOException {
            if (!in.hasRemaining()) {
                if (headerEnd < 0) {
                    if (in.capacity() >= MAX_BODY) {
                        fail("answer headers too large");
                        return;
                    }
                    grow(MAX_BODY);
                } else if (keepBody || chunked) {
                    if (in.capacity() < headerEnd + MAX_BODY + 16) {
                        grow(headerEnd + MAX_BODY + 16);
                    } else {
                        // Enough of the body to judge: drop the rest with the connection.
                        closeAfter = true;
                        finish();
                        return;
                    }
                } else {
                    // A body nobody reads: count it and reuse the space after the head.
                    skipped += in.position() - headerEnd;
                    in.position(headerEnd);
                }
            }
            int n = channel.read(in);
            if (n < 0) {
                if (headerEnd < 0) {
                    throw new ClosedChannelException();
                }
                // A close-delimited body ends here (or the server gave up mid-body: judged on the status).
                closeAfter = true;
                finish();
                return;
            }
            if (headerEnd < 0 && !parseHead()) {
                return;
            }
            if (bodyComplete()) {
                finish();
            }
        }

        private void grow(int max) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.min(in.capacity() * 2, max));
            in.flip();
            bigger.put(in);
            in = bigger;
        }

        /** Parses the status line and the framing headers once the head is complete; false if not yet. */
        private boolean parseHead() {
            byte[] a = in.array();
            int limit = in.position();
            for (int i = 3; i < limit; i++) {
                if (a[i] == '\n' && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r') {
                    headerEnd = i + 1;
                    break;
                }
            }
            if (headerEnd < 0) {
                return false;
            }
            String head = new String(a, 0, headerEnd, StandardCharsets.ISO_8859_1);
            String[] lines = head.split("\r\n");
            String[] statusLine = lines[0].split(" ", 3);
            if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) {
                throw new IllegalStateException("not an HTTP/1.x answer");
            }
            status = Integer.parseInt(statusLine[1]);
            closeAfter = statusLine[0].equals("HTTP/1.0");
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon <= 0) {
                    continue;
                }
                String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = lines[i].substring(colon + 1).trim().toLowerCase(Locale.ROOT);
                switch (name) {
                    case "content-length" -> contentLength = Long.parseLong(value);
                    case "transfer-encoding" -> chunked = value.endsWith("chunked");
                    case "connection" -> closeAfter |= value.contains("close");
                    default -> {}
                }
            }
            if (status < 200 || status == 204 || status == 304) {
                contentLength = 0;
            }
            chunkPos = headerEnd;
            return true;
        }

        private boolean bodyComplete() {
            int limit = in.position();
            if (chunked) {
                return chunkedComplete(limit);
            }
            if (contentLength >= 0) {
                return skipped + (limit - headerEnd) >= contentLength;
            }
            // No framing: the body runs until the server closes.
            return false;
        }

        private long skipped; // body bytes dropped when the buffer was reused for a body not kept

        /** Walks chunk sizes over the buffered body; true at the terminating zero-size chunk and its blank line. */
        private boolean chunkedComplete(int limit) {
            byte[] a = in.array();
            while (true) {
                int lineEnd = -1;
                for (int i = chunkPos; i + 1 < limit; i++) {
                    if (a[i] == '\r' && a[i + 1] == '\n') {
                        lineEnd = i;
                        break;
                    }
                }
                if (lineEnd < 0) {
                    return false;
                }
                String sizeText = new String(a, chunkPos, lineEnd - chunkPos, StandardCharsets.ISO_8859_1);
                int semicolon = sizeText.indexOf(';');
                long size = Long.parseLong((semicolon >= 0 ? sizeText.substring(0, semicolon) : sizeText).trim(), 16);
                if (size == 0) {
                    // Trailers, then an empty line; health answers have none, so look for the final CRLF.
                    return lineEnd + 4 <= limit;
                }
                long next = lineEnd + 2 + size + 2;
                if (next > limit) {
                    return false;
                }
                chunkPos = (int) next;
            }
        }

        private void finish() {
            String body = null;
            if (keepBody) {
                int end = Math.min(in.position(), headerEnd + MAX_BODY);
                body = new String(in.array(), headerEnd, Math.max(0, end - headerEnd), StandardCharsets.UTF_8);
            }
            if (closeAfter || (!chunked && contentLength < 0)) {
                closeQuietly(connection);
            } else {
                SelectionKey key = connection.channel.keyFor(selector);
                if (key != null) {
                    key.interestOps(0);
                }
            }
            complete(new Result(status, body, null));
        }

        private void failed(Exception e) {
            boolean nothingReceived = headerEnd < 0 && in.position() == 0;
            if (reused && nothingReceived && !finished) {
                // The server closed the idle connection: try once more on a fresh one.
                closeQuietly(connection);
                reused = false;
                in.clear();
                request.rewind();
                start();
                return;
            }
            fail(describe(e));
        }

        void fail(String error) {
            if (finished) {
                return;
            }
            closeQuietly(connection);
            complete(new Result(0, null, error));
        }

        private void complete(Result result) {
            if (finished) {
                return;
            }
            finished = true;
            ScheduledFuture<?> t = timer;
            if (t != null) {
                t.cancel(false);
            }
            try {
                done.accept(result);
            } catch (RuntimeException e) {
                log.warn("health-check result handler failed", e);
            }
        }
    }

    static String describe(Throwable e) {
        if (e instanceof ConnectException) {
            return "connection refused";
        }
        if (e instanceof ClosedChannelException) {
            return "connection closed";
        }
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (SelectionKey key : selector.keys()) {
            try {
                key.channel().close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
