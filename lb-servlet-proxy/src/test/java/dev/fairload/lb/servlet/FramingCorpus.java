package dev.fairload.lb.servlet;

import java.util.ArrayList;
import java.util.List;

/**
 * Requests whose framing or syntax different HTTP parsers could read differently (request smuggling, RFC 9112
 * sections 2.2, 3, 5, 6 and 7.1), for the proxy to refuse or to forward unambiguously whatever container it runs in.
 * Targets start with a prefix, so that the same requests reach a proxy mounted under a path.
 */
public final class FramingCorpus {
    private FramingCorpus() {}

    /**
     * One raw request.
     *
     * @param name the request with CR, LF, NUL and tab made visible
     * @param request the bytes to send (ISO-8859-1)
     * @param malformedBody the headers are valid and the body is not, so forwarding may begin before it is found
     */
    public record Case(String name, String request, boolean malformedBody) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The target of the request hidden behind some of the cases; no backend may ever see it. */
    public static String smuggledTarget(String prefix) {
        return prefix + "/smuggled";
    }

    /**
     * Every case; those whose body is malformed behind valid headers come last, since a backend may still be entering
     * its handler for one of them when the next case runs.
     */
    public static List<Case> cases(String prefix) {
        String smuggled = "GET " + smuggledTarget(prefix) + " HTTP/1.1\r\nHost: h\r\n\r\n";
        String root = "GET " + prefix + "/ HTTP/1.1\r\n";
        List<Case> cases = new ArrayList<>();
        Builder c = new Builder(prefix, cases);
        // Content-Length and Transfer-Encoding together, in both orders
        c.post("Content-Length: 5\r\nTransfer-Encoding: chunked", "0\r\n\r\n" + smuggled);
        c.post("Transfer-Encoding: chunked\r\nContent-Length: 5", "0\r\n\r\n" + smuggled);
        c.post("Content-Length: 0\r\nTransfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n");
        // Content-Length values that are not one plain decimal number
        c.post("Content-Length: 5\r\nContent-Length: 6", "hello!");
        c.post("Content-Length: 5\r\nContent-Length: 5", "hello");
        c.post("Content-Length: 5, 6", "hello!");
        c.post("Content-Length: 5, 5", "hello");
        c.post("Content-Length: +5", "hello");
        c.post("Content-Length: -5", "hello");
        c.post("Content-Length: 0x5", "hello");
        c.post("Content-Length: 5 5", "hello");
        c.post("Content-Length: 1_0", "helloworld");
        c.post("Content-Length: 99999999999999999999999", "hello");
        c.post("Content-Length: 9223372036854775808", "hello");
        c.post("Content-Length:", "hello");
        c.post("Content-Length : 5", "hello");
        c.post("Content-Length: 5\u0000", "hello");
        // Transfer-Encoding that is not exactly chunked
        c.post("Transfer-Encoding: xchunked", "5\r\nhello\r\n0\r\n\r\n");
        c.post("Transfer-Encoding: chunked, identity", "5\r\nhello\r\n0\r\n\r\n");
        c.post("Transfer-Encoding: identity", "hello");
        c.post("Transfer-Encoding: gzip", "hello");
        c.post("Transfer-Encoding: chunked, chunked", "5\r\nhello\r\n0\r\n\r\n");
        c.post("Transfer-Encoding: chunked\r\nTransfer-Encoding: x", "5\r\nhello\r\n0\r\n\r\n");
        c.post("Transfer-Encoding : chunked", "5\r\nhello\r\n0\r\n\r\n");
        c.post("X-Pad: a\r\n Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n");
        c.raw("POST " + prefix + "/upload HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n");
        // header syntax
        c.raw(root + "Host: h\r\nX-Folded: a\r\n b\r\n\r\n");
        c.raw("GET " + prefix + "/ HTTP/1.1\nHost: h\nX-Bare: lf\n\n");
        c.raw(root + "Host: h\r\nX-Bare: lf\n\r\n");
        c.raw(root + "Host: h\r\nX-Bare: a\rb\r\n\r\n");
        c.raw(root + "Host: h\r\nX-Nul: a\u0000b\r\n\r\n");
        c.raw(root + "Host: h\r\n: empty-name\r\n\r\n");
        c.raw(root + "Host: h\r\nNoColon\r\n\r\n");
        c.raw(root + "Host: h\r\nX Space: v\r\n\r\n");
        c.raw(root + "Host: h\r\nX(Paren): v\r\n\r\n");
        c.raw(root + " Host: h\r\n\r\n");
        // request line and Host
        c.raw(root + "\r\n");
        c.raw(root + "Host: a\r\nHost: b\r\n\r\n");
        c.raw(root + "Host: h:port\r\n\r\n");
        c.raw("GET " + prefix + "/a b HTTP/1.1\r\nHost: h\r\n\r\n");
        c.raw("GET " + prefix + "/ HTTP/1.1 extra\r\nHost: h\r\n\r\n");
        c.raw("GET " + prefix + "/ HTTP/9.9\r\nHost: h\r\n\r\n");
        c.raw("G\u0000T " + prefix + "/ HTTP/1.1\r\nHost: h\r\n\r\n");
        // chunk syntax, found only once forwarding began
        c.chunked("0x5\r\nhello\r\n0\r\n\r\n");
        c.chunked("+5\r\nhello\r\n0\r\n\r\n");
        c.chunked("-5\r\nhello\r\n0\r\n\r\n");
        c.chunked("fffffffffffffffff1\r\nhello\r\n0\r\n\r\n");
        c.chunked("g\r\nhello\r\n0\r\n\r\n");
        c.chunked("5\r\nhelloXX\r\n0\r\n\r\n");
        c.chunked("5\r\nhello0\r\n\r\n");
        c.chunked("5\nhello\r\n0\r\n\r\n");
        c.chunked("5\r\nhello\n0\r\n\r\n");
        return List.copyOf(cases);
    }

    private record Builder(String prefix, List<Case> cases) {
        void post(String framing, String body) {
            raw("POST " + prefix + "/upload HTTP/1.1\r\nHost: h\r\n" + framing + "\r\n\r\n" + body);
        }

        void chunked(String body) {
            add("POST " + prefix + "/upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body, true);
        }

        void raw(String request) {
            add(request, false);
        }

        private void add(String request, boolean malformedBody) {
            String name = request.replace("\r", "\\r")
                    .replace("\n", "\\n")
                    .replace("\u0000", "\\0")
                    .replace("\t", "\\t");
            cases.add(new Case(name, request, malformedBody));
        }
    }
}
