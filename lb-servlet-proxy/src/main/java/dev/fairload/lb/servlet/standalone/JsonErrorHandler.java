package dev.fairload.lb.servlet.standalone;

import dev.fairload.lb.servlet.admin.internal.AdminApi;
import java.nio.ByteBuffer;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error answers on an admin listener (a request Jetty rejects before the admin servlet sees it, such as
 * an ambiguous {@code %2F} in the path), in the admin API's envelope {@code {"success": false, "error": "..."}}
 * instead of an HTML page. The message is a fixed text per status: never the request, never a stack trace. Thread-safe.
 */
final class JsonErrorHandler extends ErrorHandler {
    @Override
    protected void generateResponse(
            Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        String text = switch (code) {
            case 400 -> "request: malformed or ambiguous (rejected before routing)";
            case 404 -> "path: no such endpoint";
            case 405 -> "method: not allowed";
            case 413 -> "body: too large";
            default -> {
                String reason = HttpStatus.getMessage(code);
                yield reason == null ? "error " + code : reason;
            }
        };
        byte[] body = AdminApi.error(code, text, Map.of()).body();
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
