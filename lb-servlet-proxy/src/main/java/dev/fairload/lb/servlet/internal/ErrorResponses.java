package dev.fairload.lb.servlet.internal;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The proxy's own answers, in the brief's JSON shape {@code {"error":"..."}}. Messages are fixed texts. */
public final class ErrorResponses {
    public static final String BAD_REQUEST = "Bad request";
    public static final String NO_SERVER = "No healthy servers available";
    public static final String OVERLOADED = "Server capacity exceeded, retry later";
    public static final String URI_TOO_LONG = "URI too long";
    public static final String TOO_MANY_HEADERS = "Request header fields too large";
    public static final String BAD_GATEWAY = "Bad gateway";
    public static final String GATEWAY_TIMEOUT = "Gateway timeout";

    private ErrorResponses() {}

    /**
     * The body {@code {"error": message}}.
     *
     * @param message a fixed text without quotes or backslashes (never client or upstream input)
     */
    public static byte[] body(String message) {
        return ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Writes {@code {"error": message}} with {@code status}, unless the response is already committed.
     *
     * @param message a fixed text without quotes or backslashes (never client or upstream input)
     */
    public static void send(HttpServletResponse response, int status, String message) throws IOException {
        if (response.isCommitted()) {
            return;
        }
        byte[] body = body(message);
        response.setStatus(status);
        response.setContentType("application/json");
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
