package dev.fairload.lb.servlet.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.fairload.lb.dns.Dnsmasq;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The standalone proxy with servers from DNS (a real dnsmasq on loopback). */
class StandaloneDiscoveryTest {
    @TempDir
    Path dir;

    private final HttpClient client =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<HttpServer> backends = new ArrayList<>();

    @AfterEach
    void stopBackends() {
        backends.forEach(b -> b.stop(0));
    }

    private int backend(String name) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = name.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        backends.add(server);
        return server.getAddress().getPort();
    }

    private StandaloneProxy start(String... yaml) throws Exception {
        List<String> lines = new ArrayList<>(List.of("host: 127.0.0.1", "port: 0", "adminPort: 0"));
        lines.add("healthCheckEnabled: false");
        lines.addAll(List.of(yaml));
        Path config = Files.writeString(dir.resolve("proxy.yaml"), String.join("\n", lines) + "\n");
        StandaloneProxy proxy = new StandaloneProxy(Settings.parse(new String[] {"--config", config.toString()}));
        proxy.start();
        return proxy;
    }

    private HttpResponse<String> send(String method, int port, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10));
        b = body == null
                ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofString(body));
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void srvDiscovery_serversShowTheirSource_cannotBeDeleted_weightCanBeChanged() throws Exception {
        int one = backend("one");
        int two = backend("two");
        try (Dnsmasq dns = new Dnsmasq(dir)) {
            dns.hosts("127.0.0.1 be.test");
            dns.srv("_http._tcp.app.test,be.test," + one + ",0,100", "_http._tcp.app.test,be.test," + two + ",0,100");
            dns.start();
            StandaloneProxy proxy = start(
                    "discovery:",
                    "  dns:",
                    "    name: _http._tcp.app.test",
                    "    type: SRV",
                    "    resolver: " + dns.address(),
                    "    minRefresh: 1",
                    "    maxRefresh: 5");
            try {
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> proxy.runtime().loadBalancer().pool().size() == 2);
                assertThat(send("GET", proxy.port(), "/", null).statusCode()).isEqualTo(200);

                HttpResponse<String> servers = send("GET", proxy.adminPort(), "/api/servers", null);
                assertThat(servers.body()).contains("\"source\":\"dns+srv://_http._tcp.app.test\"");
                String id = "127.0.0.1:" + one;

                HttpResponse<String> delete = send("DELETE", proxy.adminPort(), "/api/servers/" + id, null);
                assertThat(delete.statusCode()).isEqualTo(409);
                assertThat(delete.body()).contains("dns+srv://_http._tcp.app.test");
                assertThat(proxy.runtime().loadBalancer().pool().size()).isEqualTo(2);

                HttpResponse<String> weight =
                        send("PUT", proxy.adminPort(), "/api/servers/" + id + "/weight", "{\"weight\":7}");
                assertThat(weight.statusCode()).isEqualTo(200);
                assertThat(proxy.runtime()
                                .loadBalancer()
                                .pool()
                                .get(id)
                                .orElseThrow()
                                .server()
                                .weight())
                        .isEqualTo(7);
            } finally {
                proxy.stop();
            }
        }
    }

    @Test
    void resolverNotAnsweringAtStart_proxyStartsAnswers503ThenServes() throws Exception {
        int one = backend("one");
        try (Dnsmasq dns = new Dnsmasq(dir)) { // not started yet
            StandaloneProxy proxy = new StandaloneProxy(Settings.parse(new String[] {
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--discover",
                "dns://be.test:" + one,
                "--dns-server",
                dns.address()
            }));
            proxy.start();
            try {
                assertThat(send("GET", proxy.port(), "/", null).statusCode()).isEqualTo(503);
                dns.hosts("127.0.0.1 be.test");
                dns.start();
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> send("GET", proxy.port(), "/", null).statusCode() == 200);
            } finally {
                proxy.stop();
            }
        }
    }

    @Test
    void badDiscoveryOptions_exitTwoWithOneLineNamingTheOption() {
        assertThat(runMain("--discover", "dns+srv://bad name"))
                .isEqualTo("fairload: --discover: name: 'bad name' (expected: a DNS name such as api.example)");
        assertThat(runMain("--discover", "http://x.test"))
                .isEqualTo("fairload: --discover: 'http://x.test' (expected: dns+srv://NAME or dns://NAME:PORT)");
        assertThat(runMain("--discover", "dns://x.test"))
                .isEqualTo("fairload: --discover: 'dns://x.test' (expected: dns+srv://NAME or dns://NAME:PORT)");
        assertThat(runMain("--discover", "dns+srv://x.test", "--dns-server", "127.0.0.1:99999"))
                .isEqualTo("fairload: --dns-server: '127.0.0.1:99999' (expected: HOST:PORT, such as 127.0.0.1:53)");
    }

    @Test
    void badDiscoveryYaml_refusedNamingTheField() throws Exception {
        assertThatThrownBy(() -> parse("discovery:\n  dns:\n    name: x.test\n    type: MX\n"))
                .hasMessageEndingWith("discovery.dns.type: 'MX' (expected: A or SRV)");
        assertThatThrownBy(() -> parse("discovery:\n  dns:\n    name: x.test\n    type: A\n"))
                .hasMessageEndingWith("discovery.dns.port: missing or not an integer (expected: 1-65535 for type A)");
        assertThatThrownBy(() -> parse("discovery:\n  dns:\n    name: x.test\n    type: SRV\n    resolver: 'a:b:c'\n"))
                .hasMessageEndingWith("discovery.dns: resolver: 'a:b:c' (expected: HOST:PORT, such as 127.0.0.1:53)");
        assertThatThrownBy(() -> parse("discovery:\n  dns:\n    name: x.test\n    type: SRV\n    maxRefresh: 0\n"))
                .hasMessageEndingWith("discovery.dns.maxRefresh: 0 (expected: 1-86400 seconds)");
        Settings ok = parse("discovery:\n  dns:\n    name: api.test\n    port: 8080\n    resolver: 127.0.0.1:5353\n");
        assertThat(ok.discovery).isEqualTo(new DiscoverySpec(false, "api.test", 8080, "127.0.0.1:5353", 1, 300));
    }

    private Settings parse(String yaml) throws Exception {
        Path file = dir.resolve("d.yaml");
        Files.writeString(file, yaml);
        return Settings.parse(new String[] {"--config", file.toString()});
    }

    /** Runs the launcher with bad options: expects exit 2 and returns the first line of its error output. */
    private static String runMain(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true));
        assertThat(status).isEqualTo(Main.EXIT_USAGE);
        return err.toString(StandardCharsets.UTF_8).lines().findFirst().orElse("");
    }
}
