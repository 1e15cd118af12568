package dev.fairload.lb.health;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.Server;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** A real HTTP server on 127.0.0.1 whose answers a test switches: a status, a body, or no answer at all. */
final class Backend implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-backend");
        t.setDaemon(true);
        return t;
    });
    private final CountDownLatch release = new CountDownLatch(1);
    private volatile int status = 200;
    private volatile String body = "ok";
    private volatile boolean hang;
    final AtomicInteger requests = new AtomicInteger();

    Backend() throws IOException {
        this(0);
    }

    /** A backend on a given port of 127.0.0.1 (0 for any free one). */
    Backend(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 100);
        server.setExecutor(executor);
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            try (exchange) {
                if (hang) {
                    release.await();
                    return;
                }
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(status, bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    Backend answer(int status, String body) {
        this.status = status;
        this.body = body;
        this.hang = false;
        return this;
    }

    Backend hang() {
        this.hang = true;
        return this;
    }

    int port() {
        return server.getAddress().getPort();
    }

    Server.Builder serverBuilder(String id) {
        return Server.builder("127.0.0.1", port()).id(id);
    }

    Server server(String id) {
        return serverBuilder(id).build();
    }

    @Override
    public void close() {
        release.countDown();
        server.stop(0);
        executor.shutdownNow();
    }
}
