package dev.fairload.lb.servlet.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PoolMaintenanceTest {
    private HttpServer server;

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = "ok".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    @Test
    void connectionsAreReusedThenClosedOnceIdlePastKeepAlive() throws IOException {
        try (PoolMaintenance maintenance = new PoolMaintenance("pool-maintenance-test")) {
            ConnectionPool pool = maintenance.newPool(8, 300, TimeUnit.MILLISECONDS);
            OkHttpClient client =
                    new OkHttpClient.Builder().connectionPool(pool).build();
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/";
            for (int i = 0; i < 3; i++) {
                try (Response r =
                        client.newCall(new Request.Builder().url(url).build()).execute()) {
                    assertThat(r.body().string()).isEqualTo("ok");
                }
            }
            assertThat(pool.connectionCount())
                    .as("one kept-alive connection, reused")
                    .isEqualTo(1);
            assertThat(pool.idleConnectionCount()).isEqualTo(1);

            // Evicted by the periodic housekeeping: keep-alive plus at most a few periods.
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.connectionCount() == 0);
            client.dispatcher().executorService().shutdown();
        }
    }

    @Test
    void closeStopsTheHousekeepingThreads() throws IOException {
        PoolMaintenance maintenance = new PoolMaintenance("pool-maintenance-close-test");
        ConnectionPool pool = maintenance.newPool(8, 1, TimeUnit.MINUTES);
        OkHttpClient client = new OkHttpClient.Builder().connectionPool(pool).build();
        try (Response r = client.newCall(new Request.Builder()
                        .url("http://127.0.0.1:" + server.getAddress().getPort() + "/")
                        .build())
                .execute()) {
            assertThat(r.code()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> maintenance.threadCount() > 0);
        pool.evictAll();
        maintenance.close();
        client.dispatcher().executorService().shutdown();
        await().atMost(Duration.ofSeconds(5)).until(() -> maintenance.threadCount() == 0);
    }
}
