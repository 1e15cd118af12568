package dev.fairload.lb.servlet.standalone;

import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.jr.ob.JSON;
import dev.fairload.lb.Server;
import dev.fairload.lb.servlet.ProxyConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the standalone launcher runs with: the YAML file's settings, then the command line's on top.
 *
 * <p>The YAML file holds the launcher's own keys ({@link #LAUNCHER_KEYS}) and any {@link ProxyConfig} field at the
 * top level, for example:
 *
 * <pre>
 * port: 8080
 * adminPort: 8081
 * algorithm: least_connections
 * maxRetries: 2
 * sessionPersistence: true
 * backends:
 *   - http://10.0.0.1:8080
 *   - url: http://10.0.0.2:8080
 *     weight: 3
 * </pre>
 */
final class Settings {
    /** The keys of a backend entry in YAML. */
    private static final List<String> BACKEND_KEYS =
            List.of("url", "weight", "id", "healthCheckPath", "healthCheckInterval", "healthCheckFastInterval");

    static final List<String> LAUNCHER_KEYS = List.of(
            "host",
            "port",
            "adminHost",
            "adminPort",
            "adminToken",
            "adminOnProxyPort",
            "backends",
            "state",
            "demo",
            "drainTimeout",
            "adminTls",
            "discovery");

    /** Environment variable holding the admin API's bearer token; overrides {@code adminToken} in the file. */
    static final String TOKEN_ENV = "LB_ADMIN_TOKEN";

    static final String USAGE = String.join(
            "\n",
            "Usage: java -jar lb-proxy.jar [options]",
            "  --config FILE         YAML configuration (launcher keys and proxy config fields)",
            "  --port N              proxy port (default 8080; 0 picks a free port)",
            "  --host ADDRESS        proxy bind address (default 0.0.0.0)",
            "  --admin-port N        admin API port on 127.0.0.1 (default 8081; 0 picks a free port)",
            "  --backend URL         a backend, http://host:port or https://host:port (repeatable)",
            "  --discover URI        servers from DNS: dns+srv://NAME (SRV records) or dns://NAME:PORT (A/AAAA)",
            "  --dns-server H:P      the DNS server --discover asks (default: the system's)",
            "  --algorithm NAME      " + String.join(", ", dev.fairload.lb.Strategy.names()),
            "  --state FILE          state file for servers and config changed through the admin API",
            "  --drain-timeout SEC   how long SIGTERM waits for requests in flight (default 30)",
            "  --tls-cert FILE       turn TLS termination on with this certificate (PEM chain, .p12, or a directory)",
            "  --tls-key FILE        its private key (PEM), or the .p12 keystore's password file",
            "  --tls-port N          HTTPS port (default 8443)",
            "  --admin-tls           serve the admin API over TLS with the same certificate",
            "  --demo                start three local demo backends and balance over them",
            "  --help                this text",
            "Environment: LB_ADMIN_TOKEN  bearer token required by the admin API (except GET /api/health)");

    String host = "0.0.0.0";
    int port = 8080;
    String adminHost = "127.0.0.1";
    int adminPort = 8081;
    /** Bearer token of the admin API, or null; never printed. */
    String adminToken;
    /** Whether the admin API is also served under /api/* of the proxy port. */
    boolean adminOnProxyPort;

    final List<Server> backends = new ArrayList<>();
    Path state;
    boolean demo;
    boolean adminTls;
    /** Schemes of the backends given ({@code http}, {@code https}). */
    private final java.util.Set<String> backendSchemes = new java.util.TreeSet<>();

    int drainTimeoutSeconds = 30;
    ProxyConfig config = ProxyConfig.defaults();
    boolean help;
    /** Servers from DNS besides the fixed ones, or null. */
    DiscoverySpec discovery;

    /** Parses the command line (and the file it names). */
    static Settings parse(String[] args) throws UsageException {
        Settings s = new Settings();
        // The file comes first whatever its position, so the command line overrides it.
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config")) {
                s.loadFile(Path.of(value(args, i)));
            }
        }
        String envToken = System.getenv(TOKEN_ENV);
        if (envToken != null && !envToken.isEmpty()) {
            s.adminToken = envToken;
        }
        Map<String, Object> overrides = new LinkedHashMap<>();
        String tlsOptionWithoutTls = null;
        List<Server> cliBackends = new ArrayList<>();
        String discover = null;
        String dnsServer = null;
        List<String> cliSchemes = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--config" -> i++;
                case "--port" -> s.port = port("--port", value(args, i++));
                case "--host" -> s.host = value(args, i++);
                case "--admin-port" -> s.adminPort = port("--admin-port", value(args, i++));
                case "--backend" -> {
                    String url = value(args, i++);
                    cliBackends.add(backend("--backend", url, 1));
                    cliSchemes.add(scheme(url));
                }
                case "--tls-cert" -> {
                    overrides.put("sslCertPath", value(args, i++));
                    overrides.put("sslTermination", true);
                }
                case "--tls-key" -> {
                    overrides.put("sslKeyPath", value(args, i++));
                    tlsOptionWithoutTls = "--tls-key";
                }
                case "--tls-port" -> {
                    String text = value(args, i++);
                    int tlsPort;
                    try {
                        tlsPort = Integer.parseInt(text);
                    } catch (NumberFormatException e) {
                        tlsPort = -1;
                    }
                    if (tlsPort < 1 || tlsPort > 65535) {
                        throw new UsageException("--tls-port: '" + text + "' (expected: 1-65535)");
                    }
                    overrides.put("sslPort", tlsPort);
                    tlsOptionWithoutTls = "--tls-port";
                }
                case "--admin-tls" -> s.adminTls = true;
                case "--algorithm" -> overrides.put("algorithm", value(args, i++));
                case "--state" -> s.state = Path.of(value(args, i++));
                case "--drain-timeout" -> s.drainTimeoutSeconds = drain("--drain-timeout", value(args, i++));
                case "--demo" -> s.demo = true;
                case "--discover" -> discover = value(args, i++);
                case "--dns-server" -> {
                    dnsServer = value(args, i++);
                    try {
                        dev.fairload.lb.dns.DnsServerSource.Builder.parseResolver(dnsServer);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException(
                                "--dns-server: '" + dnsServer + "' (expected: HOST:PORT, such as" + " 127.0.0.1:53)");
                    }
                }
                case "--help", "-h" -> s.help = true;
                default -> throw new UsageException("unknown option: " + arg);
            }
        }
        if (discover != null) {
            s.discovery = DiscoverySpec.parseUri("--discover", discover, dnsServer);
        } else if (dnsServer != null) {
            if (s.discovery == null) {
                throw new UsageException("--dns-server: no discovery to use it for (expected: --discover too, or"
                        + " discovery: in --config)");
            }
            DiscoverySpec d = s.discovery;
            s.discovery = new DiscoverySpec(
                    d.srv(), d.name(), d.port(), dnsServer, d.minRefreshSeconds(), d.maxRefreshSeconds());
        }
        if (!cliBackends.isEmpty()) {
            s.backends.clear();
            s.backends.addAll(cliBackends);
            s.backendSchemes.clear();
            s.backendSchemes.addAll(cliSchemes);
        }
        if (s.demo) {
            s.backendSchemes.add("http");
        }
        if (s.backendSchemes.size() > 1) {
            throw new UsageException("backends: http and https mixed (expected: one scheme for all backends)");
        }
        if (s.backendSchemes.contains("https")) {
            overrides.put("upstreamTls", true);
        } else if (s.backendSchemes.contains("http")
                && s.config.upstreamTls()
                && !overrides.containsKey("upstreamTls")) {
            throw new UsageException("backends: http:// URLs (expected: https:// when upstreamTls is true)");
        }
        try {
            s.config = s.config.toBuilder().setAll(overrides).build();
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            throw new UsageException(message.startsWith("ssl") ? message : "--" + message);
        }
        if (tlsOptionWithoutTls != null && !s.config.sslTermination()) {
            throw new UsageException(tlsOptionWithoutTls
                    + ": TLS termination is off (expected: --tls-cert too, or sslTermination: true in --config)");
        }
        s.validate();
        return s;
    }

    private void validate() throws UsageException {
        if (port != 0 && port == adminPort) {
            throw new UsageException("--admin-port: " + adminPort + " (expected: different from --port)");
        }
        for (int i = 0; i < backends.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (backends.get(i).authority().equals(backends.get(j).authority())) {
                    throw new UsageException("backend: " + backends.get(i).authority() + " given twice");
                }
            }
        }
        if (state != null) {
            Path parent = state.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new UsageException("--state: " + state + " (expected: a file in an existing directory)");
            }
        }
    }

    private void loadFile(Path file) throws UsageException {
        Map<String, Object> map;
        try (InputStream in = Files.newInputStream(file)) {
            Object any = JSON.builder(new YAMLFactory()).build().anyFrom(in);
            if (any == null) {
                return; // an empty file
            }
            if (!(any instanceof Map<?, ?> m)) {
                throw new UsageException("--config: " + file + ": expected a mapping of keys to values");
            }
            map = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                map.put(String.valueOf(e.getKey()), e.getValue());
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            String why = e.getOriginalMessage() == null
                    ? e.getClass().getSimpleName()
                    : e.getOriginalMessage().lines().findFirst().orElse("").strip();
            throw new UsageException("--config: " + file + ": not valid YAML" + where + ": " + why, e);
        } catch (IOException e) {
            throw new UsageException("--config: cannot read " + file + ": " + e.getMessage(), e);
        }
        Map<String, Object> proxyFields = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : map.entrySet()) {
            String key = e.getKey();
            Object v = e.getValue();
            String where = "--config " + file + ": " + key;
            switch (key) {
                case "host" -> host = string(where, v);
                case "port" -> port = port(where, integer(where, v));
                case "adminHost" -> adminHost = string(where, v);
                case "adminPort" -> adminPort = port(where, integer(where, v));
                case "adminToken" -> {
                    // A secret: never echoed, not even in error messages.
                    if (!(v instanceof String token)) {
                        throw new UsageException(where + ": (not shown) (expected: a string)");
                    }
                    adminToken = token;
                }
                case "adminOnProxyPort" -> adminOnProxyPort = bool(where, v);
                case "state" -> state = Path.of(string(where, v));
                case "demo" -> demo = bool(where, v);
                case "drainTimeout" -> drainTimeoutSeconds = drain(where, integer(where, v));
                case "backends" -> {
                    backends.addAll(backends(where, v));
                    for (Object item : (List<?>) v) {
                        Object url = item instanceof Map<?, ?> m ? m.get("url") : item;
                        backendSchemes.add(scheme(String.valueOf(url)));
                    }
                }
                case "adminTls" -> adminTls = bool(where, v);
                case "discovery" -> discovery = DiscoverySpec.parseYaml(where, v);
                default -> {
                    if (!ProxyConfig.FIELDS.contains(key)) {
                        List<String> known = new ArrayList<>(LAUNCHER_KEYS);
                        known.addAll(ProxyConfig.FIELDS);
                        throw new UsageException(
                                where + ": unknown key (expected one of: " + String.join(", ", known) + ")");
                    }
                    proxyFields.put(key, v);
                }
            }
        }
        try {
            config = ProxyConfig.builder().setAll(proxyFields).build();
        } catch (IllegalArgumentException e) {
            throw new UsageException("--config " + file + ": " + e.getMessage(), e);
        }
    }

    private static List<Server> backends(String where, Object value) throws UsageException {
        if (!(value instanceof List<?> list)) {
            throw new UsageException(where + ": expected a list of URLs or {url, weight} entries");
        }
        List<Server> out = new ArrayList<>();
        for (Object item : list) {
            if (item instanceof String url) {
                out.add(backend(where, url, 1));
            } else if (item instanceof Map<?, ?> m) {
                for (Object k : m.keySet()) {
                    if (!BACKEND_KEYS.contains(String.valueOf(k))) {
                        throw new UsageException(where + ": unknown key '" + k + "' (expected: "
                                + String.join(", ", BACKEND_KEYS) + ")");
                    }
                }
                String url = string(where + ".url", m.get("url"));
                int weight = m.containsKey("weight") ? integer(where + ".weight", m.get("weight")) : 1;
                Server server = backend(where, url, weight);
                try {
                    Server.Builder b = server.toBuilder();
                    if (m.containsKey("id")) {
                        b.id(string(where + ".id", m.get("id")));
                    }
                    if (m.containsKey("healthCheckPath")) {
                        b.healthCheckPath(string(where + ".healthCheckPath", m.get("healthCheckPath")));
                    }
                    if (m.containsKey("healthCheckInterval")) {
                        b.healthCheckInterval(Duration.ofSeconds(
                                integer(where + ".healthCheckInterval", m.get("healthCheckInterval"))));
                    }
                    if (m.containsKey("healthCheckFastInterval")) {
                        b.healthCheckFastInterval(Duration.ofSeconds(
                                integer(where + ".healthCheckFastInterval", m.get("healthCheckFastInterval"))));
                    }
                    server = b.build();
                } catch (IllegalArgumentException e) {
                    throw new UsageException(where + ": " + e.getMessage(), e);
                }
                out.add(server);
            } else {
                throw new UsageException(
                        where + ": expected a URL or {" + String.join(", ", BACKEND_KEYS) + "}, got " + item);
            }
        }
        return out;
    }

    static Server backend(String where, String url, int weight) throws UsageException {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new UsageException(where + ": '" + url + "' (expected: http://host:port or https://host:port)", e);
        }
        if (!("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
                || uri.getHost() == null
                || uri.getPort() < 0
                || (uri.getRawPath() != null
                        && !uri.getRawPath().isEmpty()
                        && !uri.getRawPath().equals("/"))
                || uri.getRawQuery() != null
                || uri.getRawUserInfo() != null) {
            throw new UsageException(where + ": '" + url + "' (expected: http://host:port or https://host:port)");
        }
        try {
            return Server.builder(uri.getHost(), uri.getPort()).weight(weight).build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(where + ": " + e.getMessage(), e);
        }
    }

    private static String scheme(String url) {
        return url.regionMatches(true, 0, "https:", 0, 6) ? "https" : "http";
    }

    private static String value(String[] args, int i) throws UsageException {
        if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
            throw new UsageException(args[i] + ": missing value");
        }
        return args[i + 1];
    }

    private static int port(String where, String text) throws UsageException {
        try {
            return port(where, Integer.parseInt(text));
        } catch (NumberFormatException e) {
            throw new UsageException(where + ": '" + text + "' (expected: 0-65535)", e);
        }
    }

    private static int port(String where, int port) throws UsageException {
        if (port < 0 || port > 65535) {
            throw new UsageException(where + ": " + port + " (expected: 0-65535)");
        }
        return port;
    }

    private static int drain(String where, String text) throws UsageException {
        try {
            return drain(where, Integer.parseInt(text));
        } catch (NumberFormatException e) {
            throw new UsageException(where + ": '" + text + "' (expected: 0-3600 seconds)", e);
        }
    }

    private static int drain(String where, int seconds) throws UsageException {
        if (seconds < 0 || seconds > 3600) {
            throw new UsageException(where + ": " + seconds + " (expected: 0-3600 seconds)");
        }
        return seconds;
    }

    private static String string(String where, Object v) throws UsageException {
        if (v instanceof String s) {
            return s;
        }
        throw new UsageException(where + ": " + v + " (expected: a string)");
    }

    private static int integer(String where, Object v) throws UsageException {
        if (v instanceof Integer i) {
            return i;
        }
        throw new UsageException(where + ": " + v + " (expected: an integer)");
    }

    private static boolean bool(String where, Object v) throws UsageException {
        if (v instanceof Boolean b) {
            return b;
        }
        throw new UsageException(where + ": " + v + " (expected: true or false)");
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "port=%d admin=%s:%d backends=%d demo=%s",
                port,
                adminHost,
                adminPort,
                backends.size(),
                demo);
    }
}
