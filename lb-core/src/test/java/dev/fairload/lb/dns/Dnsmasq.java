package dev.fairload.lb.dns;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real DNS server for tests: Debian's dnsmasq on 127.0.0.1 and a free port, answering from a hosts file (A
 * records, re-read on SIGHUP) and SRV records given on its command line (changed by a restart on the same port).
 * Records have a TTL of 1 s.
 */
public final class Dnsmasq implements AutoCloseable {
    private final Path hostsFile;
    private final Path logFile;
    private final int port;
    private List<String> srvRecords = List.of();
    private Process process;

    public Dnsmasq(Path directory) throws IOException {
        String binary = binary();
        if (binary == null) {
            fail("dnsmasq is not installed: these tests need Debian's dnsmasq (apt-get install -y dnsmasq; .ci/run"
                    + " installs it)");
        }
        this.hostsFile = directory.resolve("hosts");
        this.logFile = directory.resolve("dnsmasq.log");
        Files.writeString(hostsFile, "");
        this.port = freePort();
    }

    private static String binary() {
        for (String candidate : new String[] {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"}) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        return null;
    }

    /** A port free for both UDP and TCP on 127.0.0.1 right now. */
    private static int freePort() throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        for (int attempt = 0; attempt < 50; attempt++) {
            try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
                int candidate = udp.getLocalPort();
                try (ServerSocket tcp = new ServerSocket(candidate, 1, loopback)) {
                    return candidate;
                } catch (IOException busy) {
                    // Try another.
                }
            }
        }
        throw new IOException("no port free for both UDP and TCP");
    }

    public String address() {
        return "127.0.0.1:" + port;
    }

    /** Replaces the hosts file ("ADDRESS NAME" lines) and makes a running dnsmasq re-read it. */
    public void hosts(String... lines) throws IOException, InterruptedException {
        Files.writeString(hostsFile, String.join("\n", lines) + "\n");
        if (process != null && process.isAlive()) {
            Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start();
            if (!hup.waitFor(10, TimeUnit.SECONDS) || hup.exitValue() != 0) {
                fail("could not send SIGHUP to dnsmasq " + process.pid());
            }
        }
    }

    /** Replaces the SRV records ("NAME,TARGET,PORT,PRIORITY,WEIGHT"), restarting dnsmasq if it runs. */
    public void srv(String... records) throws IOException, InterruptedException {
        srvRecords = List.of(records);
        if (process != null) {
            stop();
            start();
        }
    }

    public void start() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                binary(),
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-negcache",
                "--pid-file",
                "--log-facility=" + logFile,
                "--port=" + port,
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--local-ttl=1",
                "--addn-hosts=" + hostsFile));
        if ("root".equals(System.getProperty("user.name"))) {
            command.add("--user=root");
        }
        srvRecords.forEach(r -> command.add("--srv-host=" + r));
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .start();
        // Ready when it answers on TCP (it binds UDP and TCP together).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (java.net.Socket probe = new java.net.Socket()) {
                probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                return;
            } catch (IOException notYet) {
                if (!process.isAlive() || System.nanoTime() - deadline > 0) {
                    fail("dnsmasq did not start: " + Files.readString(logFile));
                }
                process.waitFor(20, TimeUnit.MILLISECONDS);
            }
        }
    }

    public void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
