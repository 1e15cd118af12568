package dev.fairload.lb.servlet.admin.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Which paths are the status page's, and the headers its files are served with. */
class StatusPageTest {
    private final StatusPage page = new StatusPage();

    @Test
    void pageAtRootAndUnderApiUi_filesFoundFromEither() {
        String root = new String(page.serve("/", "GET", null).body(), StandardCharsets.UTF_8);
        String ui = new String(page.serve("/api/ui/", "GET", null).body(), StandardCharsets.UTF_8);
        assertThat(root).contains("src=\"api/ui/status.js\"", "href=\"api/ui/status.css\"");
        assertThat(ui).contains("src=\"status.js\"", "href=\"status.css\"");
        assertThat(root).doesNotContain("<script>", "style=\"", "http://", "https://");
        assertThat(page.serve("/api/ui", "GET", null).status()).isEqualTo(301);
        assertThat(page.serve("/api/ui", "GET", null).headers()).containsEntry("Location", "ui/");
    }

    @Test
    void contentTypesCachingAndPolicy() {
        assertThat(page.serve("/api/ui/status.js", "GET", null).headers())
                .containsEntry("Content-Type", "text/javascript; charset=utf-8");
        assertThat(page.serve("/api/ui/status.css", "GET", null).headers())
                .containsEntry("Content-Type", "text/css; charset=utf-8");
        assertThat(page.serve("/api/ui/uPlot.iife.min.js", "GET", null).body()).hasSizeGreaterThan(10_000);
        StatusPage.File html = page.serve("/api/ui/", "GET", null);
        assertThat(html.headers())
                .containsEntry("Content-Type", "text/html; charset=utf-8")
                .containsEntry("Cache-Control", "no-cache")
                .containsEntry("X-Content-Type-Options", "nosniff")
                .containsEntry("X-Frame-Options", "DENY")
                .containsEntry("Content-Security-Policy", StatusPage.CSP);
        assertThat(StatusPage.CSP).contains("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'");
        String etag = html.headers().get("ETag");
        assertThat(etag).matches("\"[0-9a-f]{24}\"");
        assertThat(page.serve("/api/ui/", "GET", etag).status()).isEqualTo(304);
        assertThat(page.serve("/api/ui/", "GET", "W/" + etag).status()).isEqualTo(304);
        assertThat(page.serve("/api/ui/", "GET", "\"other\"").status()).isEqualTo(200);
        assertThat(page.serve("/api/ui/status.js", "GET", etag).status()).isEqualTo(200);
    }

    @Test
    void otherPathsAndMethods() {
        assertThat(page.serve("/api/servers", "GET", null)).isNull();
        assertThat(page.serve("/api/ui/nope.js", "GET", null)).isNull();
        assertThat(page.serve("/api/ui/../servers", "GET", null)).isNull();
        assertThat(page.serve("/index.html", "GET", null)).isNull();
        StatusPage.File post = page.serve("/api/ui/", "POST", null);
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.headers()).containsEntry("Allow", "GET, HEAD");
        StatusPage.File head = page.serve("/", "HEAD", null);
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(head.headers())
                .containsEntry(
                        "Content-Length",
                        String.valueOf(page.serve("/", "GET", null).body().length));
    }
}
