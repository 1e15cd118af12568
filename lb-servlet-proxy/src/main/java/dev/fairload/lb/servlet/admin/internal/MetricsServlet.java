package dev.fairload.lb.servlet.admin.internal;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /metrics}: the Prometheus text exposition (format 0.0.4) produced by {@code scrape}, behind the same
 * bearer token as the admin API. Other methods get 405; errors use the admin API's JSON envelope. Thread-safe; each
 * scrape costs what the supplier costs.
 */
public final class MetricsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final Logger log = LoggerFactory.getLogger(MetricsServlet.class);

    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final transient Access access;
    private final transient Supplier<String> scrape;

    public MetricsServlet(Access access, Supplier<String> scrape) {
        this.access = access;
        this.scrape = scrape;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        AdminApi.Answer error = null;
        try {
            access.authenticate(request.getHeader("Authorization"));
            if (!request.getMethod().equals("GET")) {
                error = AdminApi.error(405, "method: expected GET", Map.of("Allow", "GET"));
            }
        } catch (ApiException e) {
            error = AdminApi.error(e.status(), e.getMessage(), e.headers());
        }
        if (error == null) {
            byte[] body;
            try {
                body = scrape.get().getBytes(StandardCharsets.UTF_8);
            } catch (RuntimeException e) {
                log.warn("metrics scrape failed", e);
                error = AdminApi.error(500, "internal error", Map.of());
                body = null;
            }
            if (body != null) {
                response.setStatus(200);
                response.setContentType(CONTENT_TYPE);
                response.setHeader("Cache-Control", "no-store");
                response.setContentLength(body.length);
                response.getOutputStream().write(body);
                return;
            }
        }
        response.setStatus(error.status());
        error.headers().forEach(response::setHeader);
        response.setContentType("application/json");
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(error.body().length);
        response.getOutputStream().write(error.body());
    }
}
