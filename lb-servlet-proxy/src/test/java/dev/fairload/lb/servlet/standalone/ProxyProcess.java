package dev.fairload.lb.servlet.standalone;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The standalone jar as a child process; stops only the process it started. */
final class ProxyProcess implements AutoCloseable {
    private static final Pattern READY =
            Pattern.compile("listening on http://[^:]+:(\\d+)/ \\(admin https?://[^:]+:(\\d+)/\\)");

    final Process process;
    private final Path log;
    int port;
    int adminPort;

    private ProxyProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Everything the process printed so far (stdout and stderr), by line. */
    List<String> lines() {
        try {
            return Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return List.of();
        }
    }

    static Path jar() {
        Path jar = Path.of("target", "lb-proxy.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("run `mvn package` first: " + jar.toAbsolutePath() + " is missing");
        }
        return jar;
    }

    /** Starts the jar with {@code -Xmx256m} and these options; stdout and stderr are merged. */
    static ProxyProcess start(String... options) throws IOException {
        return start(java.util.Map.of(), options);
    }

    /** {@link #start(String...)} with extra environment variables. */
    static ProxyProcess start(java.util.Map<String, String> env, String... options) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-jar");
        command.add(jar().toString());
        command.addAll(List.of(options));
        // Output goes to a file rather than a pipe: nothing is lost when the process exits or halts.
        Path log = Files.createTempFile("lb-proxy-", ".log");
        log.toFile().deleteOnExit();
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        Process p = builder.start();
        return new ProxyProcess(p, log);
    }

    /** Starts and waits for the ready line. */
    static ProxyProcess started(String... options) throws Exception {
        return started(java.util.Map.of(), options);
    }

    /** {@link #started(String...)} with extra environment variables. */
    static ProxyProcess started(java.util.Map<String, String> env, String... options) throws Exception {
        ProxyProcess p = start(env, options);
        p.awaitReady();
        return p;
    }

    void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (String line : lines()) {
                Matcher m = READY.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                    adminPort = Integer.parseInt(m.group(2));
                    return;
                }
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("proxy exited with " + process.exitValue() + ": " + lines());
            }
            process.waitFor(100, TimeUnit.MILLISECONDS);
        }
        throw new IllegalStateException("proxy not ready in 30 s: " + lines());
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** Waits for the process to exit and returns its status. */
    int awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("proxy did not exit: " + lines());
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(40, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
