package dev.fairload.lb.servlet.standalone;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A backend on raw sockets whose behaviour a test switches at any time: answer normally, hang (accept and never
 * answer), answer 500 to everything, reset connections in the middle of the response body, or answer at one byte
 * per second. {@link #kill()} closes the listener and every connection; {@link #restart()} listens on the same port
 * again. It records which POST request ids reached it.
 *
 * <p>Every thread it starts is a daemon thread of its own executor, stopped by {@link #close()}.
 */
final class FaultBackend implements AutoCloseable {
    enum Mode {
        OK,
        HANG,
        ERROR_500,
        RESET_MID_RESPONSE,
        SLOW,
        /** Answers normally after 20 ms, and after 600 ms for paths under {@code /long/}. */
        DELAY
    }

    final String name;
    private final int port;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fault-backend");
        t.setDaemon(true);
        return t;
    });
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    /**
     * Ids (X-Request-Id) of POSTs that reached this backend: recorded once their head is read, before the body, since
     * a POST whose body is on its way when the backend dies was sent to it all the same (and must not be retried).
     */
    final Set<String> postsReceived = ConcurrentHashMap.newKeySet();
    /** POSTs whose id this backend had already received: a POST sent twice. */
    final java.util.concurrent.atomic.AtomicInteger postsReceivedTwice =
            new java.util.concurrent.atomic.AtomicInteger();

    final AtomicLong requests = new AtomicLong();
    /** Requests by the first segment of their path ("/items", "/long", "/health"...). */
    private final Map<String, LongAdder> requestsByPrefix = new ConcurrentHashMap<>();

    /** {@link System#nanoTime()} of the last {@link #kill()}, or 0. */
    volatile long killedAtNanos;

    private volatile Mode mode = Mode.OK;
    private volatile ServerSocket listener;

    FaultBackend(String name) throws IOException {
        this(name, 0);
    }

    private FaultBackend(String name, int port) throws IOException {
        this.name = name;
        this.listener = listen(port);
        this.port = listener.getLocalPort();
        accept(listener);
    }

    int port() {
        return port;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    void mode(Mode mode) {
        this.mode = mode;
    }

    /** Closes the listener and every open connection: connections are refused until {@link #restart()}. */
    void kill() {
        killedAtNanos = System.nanoTime();
        ServerSocket l = listener;
        listener = null;
        closeQuietly(l);
        for (Socket s : connections) {
            closeQuietly(s);
        }
        connections.clear();
    }

    /** Listens on the same port again, answering normally. */
    void restart() throws IOException {
        mode = Mode.OK;
        ServerSocket l = listen(port);
        listener = l;
        accept(l);
    }

    private static ServerSocket listen(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
        return s;
    }

    private void accept(ServerSocket l) {
        threads.execute(() -> {
            while (!l.isClosed()) {
                try {
                    Socket s = l.accept();
                    connections.add(s);
                    threads.execute(() -> serve(s));
                } catch (IOException | RuntimeException e) {
                    return; // closed, or the executor stopped
                }
            }
        });
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                requests.incrementAndGet();
                String[] lines = head.split("\r\n");
                String method = lines[0].split(" ")[0];
                String path = lines[0].split(" ")[1];
                requestsByPrefix
                        .computeIfAbsent(firstSegment(path), k -> new LongAdder())
                        .increment();
                long length = 0;
                boolean chunked = false;
                String id = null;
                for (int i = 1; i < lines.length; i++) {
                    int colon = lines[i].indexOf(':');
                    String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
                    String value = lines[i].substring(colon + 1).trim();
                    switch (name) {
                        case "content-length" -> length = Long.parseLong(value);
                        case "transfer-encoding" ->
                            chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                        case "x-request-id" -> id = value;
                        default -> {}
                    }
                }
                if ("POST".equals(method) && id != null && !postsReceived.add(id)) {
                    postsReceivedTwice.incrementAndGet();
                }
                if (chunked) {
                    readChunked(in);
                } else if (in.readNBytes(Math.toIntExact(length)).length < length) {
                    return; // the body did not arrive whole
                }
                Mode m = mode;
                byte[] body = (name + " " + method + " " + path + "\n").getBytes(StandardCharsets.US_ASCII);
                switch (m) {
                    case OK -> write(out, 200, body);
                    case DELAY -> {
                        TimeUnit.MILLISECONDS.sleep(path.startsWith("/long/") ? 600 : 20);
                        write(out, 200, body);
                    }
                    case ERROR_500 -> write(out, 500, body);
                    case HANG -> {
                        while (mode == Mode.HANG && !socket.isClosed()) {
                            TimeUnit.MILLISECONDS.sleep(50);
                        }
                        return; // close without an answer once released
                    }
                    case RESET_MID_RESPONSE -> {
                        if (path.startsWith("/health")) {
                            write(out, 200, body);
                            break;
                        }
                        out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + (body.length + 1000) + "\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                        out.write(body);
                        out.flush();
                        socket.setSoLinger(true, 0);
                        return; // closing with linger 0 sends RST
                    }
                    case SLOW -> {
                        byte[] all = response(200, body);
                        for (byte b : all) {
                            if (mode != Mode.SLOW) {
                                return;
                            }
                            out.write(b);
                            out.flush();
                            TimeUnit.SECONDS.sleep(1);
                        }
                    }
                }
            }
        } catch (IOException e) {
            // connection closed by the peer or by kill()
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            connections.remove(socket);
        }
    }

    /** Requests received whose path's first segment is {@code prefix}, for example "/long". */
    long requestsTo(String prefix) {
        LongAdder n = requestsByPrefix.get(prefix);
        return n == null ? 0 : n.sum();
    }

    private static String firstSegment(String path) {
        int end = path.indexOf('/', 1);
        int query = path.indexOf('?');
        if (end < 0 || (query >= 0 && query < end)) {
            end = query;
        }
        return end < 0 ? path : path.substring(0, end);
    }

    private static void write(OutputStream out, int status, byte[] body) throws IOException {
        out.write(response(status, body));
        out.flush();
    }

    private static byte[] response(int status, byte[] body) {
        String reason = status == 200 ? "OK" : "Internal Server Error";
        byte[] head = ("HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/plain\r\nContent-Length: "
                        + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    /** The request line and headers, or null at the end of the stream. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                    ? state + 1
                    : (b == '\r' ? 1 : 0);
        }
        String s = head.toString(StandardCharsets.US_ASCII);
        return s.substring(0, s.length() - 4);
    }

    private static void readChunked(InputStream in) throws IOException {
        while (true) {
            String line = readLine(in);
            int size = Integer.parseInt(line.split(";")[0].trim(), 16);
            if (size == 0) {
                while (!readLine(in).isEmpty()) {
                    // trailers
                }
                return;
            }
            in.readNBytes(size);
            readLine(in);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                sb.append((char) b);
            }
        }
        if (b < 0) {
            throw new SocketException("end of stream");
        }
        return sb.toString();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing is all that matters
            }
        }
    }

    @Override
    public void close() {
        mode = Mode.OK;
        kill();
        threads.shutdownNow();
    }
}
