package dev.fairload.lb.servlet.admin.internal;

import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The state file: the servers and the configuration accepted through the admin API, as JSON.
 *
 * <pre>
 * {"version": 1, "savedAt": "...", "config": {ProxyConfig fields},
 *  "servers": [{"serverId", "host", "port", "weight", "healthCheckPath", "healthCheckInterval",
 *  "healthCheckFastInterval", "addedAt"}]}
 * </pre>
 *
 * <p>Writing is atomic and durable: the JSON goes to a temporary file in the same directory, which is forced to disk
 * ({@link FileChannel#force}), then renamed over the state file with an atomic move, and the directory is forced
 * too where the platform allows. A crash leaves either the old file or the new one, never a mix.
 *
 * <p>Reading is strict: anything unexpected (not JSON, wrong version, unknown or invalid fields, duplicate servers)
 * is a {@link CorruptStateException} and the caller must stop; the file is never rewritten by reading it.
 *
 * <p>Not thread-safe: callers serialize writes.
 */
public final class StateFile {
    static final int VERSION = 1;
    private static final Set<String> TOP_FIELDS = Set.of("version", "savedAt", "config", "servers");
    private static final Set<String> SERVER_FIELDS = Set.of(
            "serverId",
            "host",
            "port",
            "weight",
            "healthCheckPath",
            "healthCheckInterval",
            "healthCheckFastInterval",
            "addedAt");

    private final Path path;

    public StateFile(Path path) {
        this.path = path.toAbsolutePath();
    }

    public Path path() {
        return path;
    }

    /** What a state file holds. */
    public record State(ProxyConfig config, List<Server> servers) {}

    /** A state file that cannot be read back; says what is wrong, and that the file was left as it is. */
    public static final class CorruptStateException extends Exception {
        private static final long serialVersionUID = 1L;

        CorruptStateException(Path path, String what, Throwable cause) {
            super(
                    "state file " + path + " is corrupt: " + what
                            + "; it was left unchanged: repair it, or move it away to start from the configuration",
                    cause);
        }
    }

    /**
     * Reads the file.
     *
     * @return null if there is no file
     * @throws CorruptStateException if it cannot be read back whole
     * @throws IOException if it cannot be read at all (permissions)
     */
    public State load() throws IOException, CorruptStateException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            return decode(bytes);
        } catch (Json.MalformedJsonException
                | IllegalArgumentException
                | IllegalStateException
                | ClassCastException e) {
            throw new CorruptStateException(path, e.getMessage(), e);
        }
    }

    /** Writes {@code state} atomically and durably (see the class comment). */
    public void save(State state) throws IOException {
        byte[] bytes = Json.write(encode(state));
        Path dir = path.getParent();
        Path temp = Files.createTempFile(dir, "." + path.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch =
                    FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(true);
            }
            try {
                Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + path + " atomically on this file system", e);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
        forceDirectory(dir);
    }

    private static void forceDirectory(Path dir) {
        // Makes the rename itself durable on Linux; other platforms may refuse to open a directory, which is fine.
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort
        }
    }

    static Map<String, Object> encode(State state) {
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("version", VERSION);
        top.put("savedAt", Instant.now().toString());
        top.put("config", state.config().toMap());
        List<Object> servers = new ArrayList<>();
        for (Server s : state.servers()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("serverId", s.id());
            m.put("host", s.host());
            m.put("port", s.port());
            m.put("weight", s.weight());
            m.put("healthCheckPath", s.healthCheckPath().orElse(null));
            m.put(
                    "healthCheckInterval",
                    s.healthCheckInterval().map(Duration::toSeconds).orElse(null));
            m.put(
                    "healthCheckFastInterval",
                    s.healthCheckFastInterval().map(Duration::toSeconds).orElse(null));
            m.put("addedAt", s.addedAt().toString());
            servers.add(m);
        }
        top.put("servers", servers);
        return top;
    }

    static State decode(byte[] bytes) throws Json.MalformedJsonException {
        Map<String, Object> top = Json.parseObject(bytes);
        for (String key : top.keySet()) {
            if (!TOP_FIELDS.contains(key)) {
                throw new IllegalArgumentException("unknown field '" + key + "'");
            }
        }
        if (!Long.valueOf(VERSION).equals(top.get("version"))) {
            throw new IllegalArgumentException("version: " + top.get("version") + " (expected: " + VERSION + ")");
        }
        if (!(top.get("config") instanceof Map<?, ?> configMap)) {
            throw new IllegalArgumentException("config: missing or not an object");
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        configMap.forEach((k, v) -> fields.put((String) k, v));
        ProxyConfig config = ProxyConfig.builder().setAll(fields).build();
        if (!(top.get("servers") instanceof List<?> list)) {
            throw new IllegalArgumentException("servers: missing or not an array");
        }
        List<Server> servers = new ArrayList<>();
        Set<String> ids = new java.util.HashSet<>();
        Set<String> authorities = new java.util.HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String where = "servers[" + i + "]";
            if (!(list.get(i) instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException(where + ": not an object");
            }
            for (Object key : m.keySet()) {
                if (!SERVER_FIELDS.contains(key)) {
                    throw new IllegalArgumentException(where + ": unknown field '" + key + "'");
                }
            }
            try {
                Server.Builder b = Server.builder((String) m.get("host"), intValue(m.get("port"), "port"))
                        .id((String) m.get("serverId"))
                        .weight(intValue(m.get("weight"), "weight"))
                        .addedAt(Instant.parse((String) m.get("addedAt")));
                if (m.get("healthCheckPath") != null) {
                    b.healthCheckPath((String) m.get("healthCheckPath"));
                }
                if (m.get("healthCheckInterval") != null) {
                    b.healthCheckInterval(
                            Duration.ofSeconds(intValue(m.get("healthCheckInterval"), "healthCheckInterval")));
                }
                if (m.get("healthCheckFastInterval") != null) {
                    b.healthCheckFastInterval(
                            Duration.ofSeconds(intValue(m.get("healthCheckFastInterval"), "healthCheckFastInterval")));
                }
                Server s = b.build();
                if (!ids.add(s.id()) || !authorities.add(s.authority())) {
                    throw new IllegalArgumentException("listed twice");
                }
                servers.add(s);
            } catch (NullPointerException | DateTimeParseException e) {
                throw new IllegalArgumentException(where + ": missing or invalid field", e);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
        }
        return new State(config, servers);
    }

    private static int intValue(Object value, String field) {
        if (value instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) {
            return l.intValue();
        }
        throw new IllegalArgumentException(field + ": " + value + " (expected: an integer)");
    }
}
