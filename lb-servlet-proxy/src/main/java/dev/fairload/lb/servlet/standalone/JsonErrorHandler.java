package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.servlet.admin.internal.AdminApi;
import dev.fairload.lb.servlet.internal.ErrorResponses;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error answers (a request Jetty rejects before a servlet sees it: malformed or ambiguous framing, an
 * ambiguous {@code %2F} in the path, an oversized header) as JSON instead of an HTML page: on an admin listener in
 * the admin API's envelope {@code {"success": false, "error": "..."}}, on the proxy's listeners in the proxy's
 * {@code {"error": "..."}}. The message is a fixed text per status: never the request, never a stack trace.
 * Thread-safe.
 */
final class JsonErrorHandler extends ErrorHandler {
    private final IntFunction<byte[]> body;

    private JsonErrorHandler(IntFunction<byte[]> body) {
        this.body = body;
    }

    /** For the admin listener. */
    static JsonErrorHandler admin() {
        return new JsonErrorHandler(code -> {
            String text = switch (code) {
                case 400 -> "request: malformed or ambiguous (rejected before routing)";
                case 404 -> "path: no such endpoint";
                case 405 -> "method: not allowed";
                case 413 -> "body: too large";
                default -> reason(code);
            };
            return AdminApi.error(code, text, Map.of()).body();
        });
    }

    /** For the proxy's listeners, in the shape of the proxy's own errors. */
    static JsonErrorHandler proxy() {
        return new JsonErrorHandler(code -> ErrorResponses.body(
                switch (code) {
                    case 400 -> ErrorResponses.BAD_REQUEST;
                    case 414 -> ErrorResponses.URI_TOO_LONG;
                    case 431 -> ErrorResponses.TOO_MANY_HEADERS;
                    default -> reason(code);
                }));
    }

    /** The status's reason phrase in sentence case ({@code "Method not allowed"}). */
    private static String reason(int code) {
        String phrase = HttpStatus.getMessage(code);
        if (phrase == null || phrase.isEmpty()) {
            return "Error " + code;
        }
        return phrase.charAt(0) + phrase.substring(1).toLowerCase(Locale.ROOT);
    }

    @Override
    protected void generateResponse(
            Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        byte[] bytes = body.apply(code);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }
}
