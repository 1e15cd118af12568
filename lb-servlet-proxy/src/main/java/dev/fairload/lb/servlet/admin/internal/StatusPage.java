package dev.fairload.lb.servlet.admin.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The status page's static files: {@code index.html}, {@code status.css} and {@code status.js} from this package's
 * resources, and uPlot from its WebJar. Served without a token (they hold no data; the page asks for the token and
 * sends it with every API call), at {@code /api/ui/} wherever the admin servlet is mounted, and at {@code /} where
 * the servlet also gets that path (the standalone admin listener).
 *
 * <p>Headers: the right content type with charset, {@code Cache-Control: no-cache} with a strong {@code ETag} (the
 * browser revalidates and gets {@code 304} while the jar is unchanged), a Content-Security-Policy that allows only
 * this origin (no inline script or style, no framing), {@code nosniff} and no referrer.
 *
 * <p>Immutable and thread-safe; the files are read once, when built.
 */
public final class StatusPage {
    /** The path prefix of the page's files within the servlet context. */
    public static final String PREFIX = "/api/ui/";

    static final String UPLOT_VERSION = "1.6.30";
    private static final String UPLOT = "META-INF/resources/webjars/uplot/" + UPLOT_VERSION + "/dist/";

    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
            + " connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /** What to answer; {@code headers} carry {@code Content-Length} when it is not the body's length (HEAD). */
    public record File(int status, Map<String, String> headers, byte[] body) {}

    private record Resource(String contentType, byte[] body, String etag) {}

    private final Map<String, Resource> files = new LinkedHashMap<>();

    public StatusPage() {
        String own = "/" + StatusPage.class.getPackageName().replace('.', '/') + "/status/";
        byte[] index = read(own + "index.html");
        files.put("index.html", resource("text/html; charset=utf-8", index));
        files.put("status.css", resource("text/css; charset=utf-8", read(own + "status.css")));
        files.put("status.js", resource("text/javascript; charset=utf-8", read(own + "status.js")));
        files.put("favicon.svg", resource("image/svg+xml", read(own + "favicon.svg")));
        files.put("uPlot.min.css", resource("text/css; charset=utf-8", read("/" + UPLOT + "uPlot.min.css")));
        files.put(
                "uPlot.iife.min.js",
                resource("text/javascript; charset=utf-8", read("/" + UPLOT + "uPlot.iife.min.js")));
        // The page at "/" (standalone admin listener) finds its files one level down.
        String html = new String(index, StandardCharsets.UTF_8)
                .replace("href=\"", "href=\"api/ui/")
                .replace("src=\"", "src=\"api/ui/");
        files.put("/", resource("text/html; charset=utf-8", html.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The answer for a path within the servlet context, or null if the path is not one of the page's.
     *
     * @param ifNoneMatch the request's {@code If-None-Match}, or null
     */
    public File serve(String path, String method, String ifNoneMatch) {
        Resource r;
        if (path.equals("/")) {
            r = files.get("/");
        } else if (path.equals("/api/ui")) {
            return new File(301, Map.of("Location", "ui/", "Cache-Control", "no-cache"), new byte[0]);
        } else if (path.startsWith(PREFIX)) {
            String name = path.substring(PREFIX.length());
            r = files.get(name.isEmpty() ? "index.html" : name);
            if (r == null) {
                return null;
            }
        } else {
            return null;
        }
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return new File(405, Map.of("Allow", "GET, HEAD"), new byte[0]);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", r.contentType);
        headers.put("Cache-Control", "no-cache");
        headers.put("ETag", r.etag);
        headers.put("Content-Security-Policy", CSP);
        headers.put("X-Content-Type-Options", "nosniff");
        headers.put("Referrer-Policy", "no-referrer");
        headers.put("X-Frame-Options", "DENY");
        if (ifNoneMatch != null && matches(ifNoneMatch, r.etag)) {
            return new File(304, headers, new byte[0]);
        }
        // HEAD: the length GET would send, without the body.
        headers.put("Content-Length", String.valueOf(r.body.length));
        return new File(200, headers, method.equals("HEAD") ? new byte[0] : r.body);
    }

    private static boolean matches(String ifNoneMatch, String etag) {
        for (String candidate : ifNoneMatch.split(",")) {
            String c = candidate.strip();
            if (c.equals("*") || c.equals(etag) || c.equals("W/" + etag)) {
                return true;
            }
        }
        return false;
    }

    private static Resource resource(String type, byte[] body) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(body);
            return new Resource(type, body, "\"" + HexFormat.of().formatHex(digest, 0, 12) + "\"");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] read(String resource) {
        try (InputStream in = StatusPage.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("status page: resource " + resource + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
