package dev.fairload.lb.servlet;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Sends raw bytes over one connection and reads until the server closes it (or 10 s pass). */
public final class RawHttp {
    private RawHttp() {}

    public static String exchange(int port, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            return readResponse(socket.getInputStream(), request.startsWith("HEAD "));
        }
    }

    /** Reads one whole response, or what arrives before the connection closes or 10 s of silence. */
    public static String readResponse(InputStream in) throws IOException {
        return readResponse(in, false);
    }

    public static String readResponse(InputStream in, boolean head) throws IOException {
        {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                int n;
                while (!complete(out.toString(StandardCharsets.ISO_8859_1), head) && (n = in.read(buf)) != -1) {
                    out.write(buf, 0, n);
                }
            } catch (SocketTimeoutException | java.net.SocketException e) {
                // whatever arrived is the answer
            }
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** Whether a whole response (headers, and a body framed by Content-Length or chunks) has arrived. */
    private static boolean complete(String text, boolean headOnly) {
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        if (headOnly) {
            return true;
        }
        String head = text.substring(0, end).toLowerCase(java.util.Locale.ROOT);
        String body = text.substring(end + 4);
        int cl = head.indexOf("\r\ncontent-length:");
        if (cl >= 0) {
            int eol = head.indexOf("\r\n", cl + 2);
            long length = Long.parseLong(
                    head.substring(cl + 17, eol < 0 ? head.length() : eol).strip());
            return body.length() >= length;
        }
        if (head.contains("\r\ntransfer-encoding: chunked")) {
            return (body.startsWith("0\r\n") || body.contains("\r\n0\r\n")) && body.endsWith("\r\n\r\n");
        }
        return head.startsWith("http/1.1 1") ? false : status(text) == 204 || status(text) == 304;
    }

    /**
     * True when the server closes the connection after a response (end of stream or reset) instead of reading another
     * request on it; false when it stays open until the socket's read timeout.
     */
    public static boolean closedAfterResponse(InputStream in) throws IOException {
        try {
            byte[] rest = in.readAllBytes(); // returns at end of stream; times out while the connection stays open
            return !new String(rest, StandardCharsets.ISO_8859_1).contains("HTTP/1.1 200");
        } catch (java.net.SocketException e) {
            return true; // reset
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    public static int status(String response) {
        if (!response.startsWith("HTTP/1.1 ") && !response.startsWith("HTTP/1.0 ")) {
            return -1;
        }
        return Integer.parseInt(response.substring(9, 12));
    }
}
