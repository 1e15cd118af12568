package dev.fairload.lb.okhttp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairload.lb.PickContext;
import java.util.List;
import okhttp3.Request;
import org.junit.jupiter.api.Test;

class StickyKeysTest {
    private static final CallSettings KEYS = new CallSettings(false, "X-Session", "SID", "X-User", "uid");
    private static final CallSettings NO_KEYS = new CallSettings(false, null, null, null, null);

    @Test
    void cookieValue_findsNamedCookieAmongOthers() {
        List<String> headers = List.of("a=1; SID=abc; b=2", "c=3");

        assertThat(StickyKeys.cookieValue(headers, "SID")).isEqualTo("abc");
        assertThat(StickyKeys.cookieValue(headers, "c")).isEqualTo("3");
        assertThat(StickyKeys.cookieValue(headers, "S")).isNull();
        assertThat(StickyKeys.cookieValue(List.of("SID=\"quoted\""), "SID")).isEqualTo("quoted");
        assertThat(StickyKeys.cookieValue(List.of("SID="), "SID")).isNull();
    }

    @Test
    void context_headerBeforeCookie() {
        Request request = new Request.Builder()
                .url("http://orders/")
                .header("X-Session", "from-header")
                .header("Cookie", "SID=from-cookie; uid=u1")
                .build();

        PickContext context = StickyKeys.context(request, KEYS);

        assertThat(context.sessionKey()).isEqualTo("from-header");
        assertThat(context.hashKey()).isEqualTo("u1");
    }

    @Test
    void context_tagTakesPrecedence() {
        PickContext tag = PickContext.builder()
                .sessionKey("tagged")
                .clientAddress("10.0.0.9")
                .build();
        Request request = new Request.Builder()
                .url("http://orders/")
                .header("X-Session", "from-header")
                .header("X-User", "u2")
                .tag(PickContext.class, tag)
                .build();

        PickContext context = StickyKeys.context(request, KEYS);

        assertThat(context.sessionKey()).isEqualTo("tagged");
        assertThat(context.clientAddress()).isEqualTo("10.0.0.9");
        assertThat(context.hashKey()).isEqualTo("u2");
    }

    @Test
    void context_withoutKeysIsTagOrEmpty() {
        Request plain = new Request.Builder().url("http://orders/").build();
        PickContext tag = PickContext.builder().hashKey("k").build();

        assertThat(StickyKeys.context(plain, NO_KEYS)).isSameAs(PickContext.empty());
        assertThat(StickyKeys.context(plain, KEYS)).isSameAs(PickContext.empty());
        assertThat(StickyKeys.context(
                        plain.newBuilder().tag(PickContext.class, tag).build(), NO_KEYS))
                .isSameAs(tag);
    }
}
