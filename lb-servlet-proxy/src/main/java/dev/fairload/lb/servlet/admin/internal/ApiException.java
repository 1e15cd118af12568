package dev.fairload.lb.servlet.admin.internal;

import java.util.Map;

/**
 * A client's mistake or a refusal, answered with {@code status} and the error envelope {@code {"success": false,
 * "error": message}}. Carries extra response headers (such as {@code Allow} or {@code WWW-Authenticate}).
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final transient Map<String, String> headers;

    public ApiException(int status, String message) {
        this(status, message, Map.of());
    }

    public ApiException(int status, String message, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.headers = Map.copyOf(headers);
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }
}
