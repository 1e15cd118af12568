package dev.fairload.lb.examples.war;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example WAR in a real Tomcat 10.1 binary distribution (Maven Central's {@code org.apache.tomcat:tomcat:zip},
 * unpacked by the build), started as a child process with its own {@code CATALINA_BASE} on a free port: deployed
 * from a context descriptor naming two real backends, it balances across both, fails over when one dies, and is
 * undeployed (its listener closes the runtime). Tomcat is stopped by its process at the end.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class WarInTomcatIT {
    private static final String TOKEN = "example-token";

    @TempDir
    Path base;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private HttpServer backend1;
    private HttpServer backend2;
    private Process tomcat;

    @AfterEach
    void stop() throws Exception {
        if (tomcat != null) {
            tomcat.destroy(); // SIGTERM: Tomcat's shutdown hook stops it
            if (!tomcat.waitFor(60, TimeUnit.SECONDS)) {
                tomcat.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
        for (HttpServer b : new HttpServer[] {backend1, backend2}) {
            if (b != null) {
                b.stop(0);
            }
        }
    }

    @Test
    void war_deploysBalancesFailsOverAndUndeploys() throws Exception {
        backend1 = backend("b1");
        backend2 = backend("b2");
        int port = freePort();
        Path home = Path.of(System.getProperty("fairload.tomcatHome"));
        Path war = Path.of(System.getProperty("fairload.war"));
        assertThat(home.resolve("bin/bootstrap.jar")).exists();
        assertThat(war).exists();

        Path descriptor = catalinaBase(home, port, war);
        tomcat = startTomcat(home);
        String app = "http://127.0.0.1:" + port + "/fairload";

        // Deployed: both backends answer through the proxy, round robin.
        await().atMost(120, TimeUnit.SECONDS)
                .pollInterval(Duration.ofMillis(250))
                .until(() -> status(app + "/lb/hello") == 200);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = get(app + "/lb/hello");
            assertThat(r.statusCode()).isEqualTo(200);
            seen.add(r.body());
        }
        assertThat(seen).containsExactlyInAnyOrder("b1 /hello", "b2 /hello");

        // The admin API is there, behind its token.
        assertThat(get(app + "/api/servers").statusCode()).isEqualTo(401);
        HttpResponse<String> servers = http.send(
                HttpRequest.newBuilder(URI.create(app + "/api/servers"))
                        .header("Authorization", "Bearer " + TOKEN)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(servers.statusCode()).isEqualTo(200);
        assertThat(servers.body()).contains("\"port\":" + backend1.getAddress().getPort());

        // One backend dies: every request is answered by the other (a refused connection is retried).
        backend2.stop(0);
        backend2 = null;
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = get(app + "/lb/hello");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("b1 /hello");
        }

        // Undeployed (the descriptor removed): the application is gone and its listener closed the runtime.
        Files.delete(descriptor);
        await().atMost(120, TimeUnit.SECONDS)
                .pollInterval(Duration.ofMillis(500))
                .until(() -> status(app + "/lb/hello") == 404);
        Path console = base.resolve("logs/console.log");
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> Files.readString(console).contains("fairload example: closed"));
        String log = Files.readString(console);
        // With the WAR's SLF4J provider, Fairload's own log lines reach Tomcat's output.
        assertThat(log)
                .contains("fairload example: proxy on /fairload/lb/*")
                .contains("active health checks on")
                .doesNotContain("No SLF4J providers were found");
    }

    /** A CATALINA_BASE with the distribution's configuration on {@code port} (no shutdown port) and a descriptor. */
    private Path catalinaBase(Path home, int port, Path war) throws IOException {
        for (String dir : new String[] {"conf", "logs", "temp", "webapps", "work"}) {
            Files.createDirectories(base.resolve(dir));
        }
        try (Stream<Path> files = Files.list(home.resolve("conf"))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, base.resolve("conf").resolve(f.getFileName()));
                }
            }
        }
        Path serverXml = base.resolve("conf/server.xml");
        String xml = Files.readString(serverXml);
        assertThat(xml).contains("<Server port=\"8005\"", "<Connector port=\"8080\"");
        xml = xml.replace("<Server port=\"8005\"", "<Server port=\"-1\"")
                .replace("<Connector port=\"8080\"", "<Connector address=\"127.0.0.1\" port=\"" + port + "\"");
        Files.writeString(serverXml, xml);
        Path descriptor = base.resolve("conf/Catalina/localhost/fairload.xml");
        Files.createDirectories(descriptor.getParent());
        Files.writeString(
                descriptor,
                "<Context docBase=\"" + war.toAbsolutePath() + "\">\n"
                        + "  <Parameter name=\"fairload.backends\" override=\"false\" value=\"http://127.0.0.1:"
                        + backend1.getAddress().getPort() + ",http://127.0.0.1:"
                        + backend2.getAddress().getPort() + "\"/>\n"
                        + "  <Parameter name=\"fairload.adminToken\" override=\"false\" value=\"" + TOKEN + "\"/>\n"
                        + "</Context>\n");
        return descriptor;
    }

    private Process startTomcat(Path home) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String sep = System.getProperty("path.separator");
        return new ProcessBuilder(
                        java,
                        "-Xmx256m",
                        "-cp",
                        home.resolve("bin/bootstrap.jar") + sep + home.resolve("bin/tomcat-juli.jar"),
                        "-Dcatalina.home=" + home,
                        "-Dcatalina.base=" + base,
                        "-Djava.io.tmpdir=" + base.resolve("temp"),
                        "-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager",
                        "-Djava.util.logging.config.file=" + base.resolve("conf/logging.properties"),
                        "org.apache.catalina.startup.Bootstrap",
                        "start")
                .redirectErrorStream(true)
                .redirectOutput(base.resolve("logs/console.log").toFile())
                .start();
    }

    private HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The status of a GET, or -1 while Tomcat does not listen yet. */
    private int status(String url) throws InterruptedException {
        try {
            return get(url).statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    /** A backend answering {@code NAME PATH} on every path, {@code /health} included. */
    private static HttpServer backend(String name) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.createContext("/", exchange -> {
            byte[] body = (name + " " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (var out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
