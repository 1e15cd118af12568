package dev.fairload.lb.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SetCookieTest {
    private static final long NOW = 1_780_000_000_000L; // 2026

    private static String value(String setCookie) {
        return SetCookie.value(setCookie, "SID", NOW);
    }

    @Test
    void value_ignoresAttributesAndOtherCookies() {
        assertThat(value("SID=xyz; Path=/; HttpOnly")).isEqualTo("xyz");
        assertThat(value(" SID = xyz ")).isEqualTo("xyz");
        assertThat(value("SID=\"quoted\"; Secure")).isEqualTo("quoted");
        assertThat(value("OTHER=xyz; SID=no")).isNull();
        assertThat(value("SIDX=xyz")).isNull();
        assertThat(value("sid=xyz")).isNull(); // cookie names are case-sensitive
        assertThat(value("no equals sign")).isNull();
    }

    @Test
    void value_deletedIsEmpty() {
        assertThat(value("SID=")).isEmpty();
        assertThat(value("SID=\"\"")).isEmpty();
        assertThat(value("SID=x; Max-Age=0")).isEmpty();
        assertThat(value("SID=x; max-age=000")).isEmpty();
        assertThat(value("SID=x; Max-Age=-5")).isEmpty();
        assertThat(value("SID=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT")).isEmpty();
        assertThat(value("SID=x; expires=Thu, 01-Jan-1970 00:00:00 GMT; Path=/"))
                .isEmpty();
    }

    @Test
    void value_keptWhenNotExpired() {
        assertThat(value("SID=x; Max-Age=60")).isEqualTo("x");
        assertThat(value("SID=x; Expires=Fri, 31 Dec 9999 23:59:59 GMT")).isEqualTo("x");
        // Max-Age takes precedence over Expires (RFC 6265 section 5.3).
        assertThat(value("SID=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60"))
                .isEqualTo("x");
        // An unparseable Max-Age or Expires is ignored, as browsers ignore it.
        assertThat(value("SID=x; Max-Age=soon")).isEqualTo("x");
        assertThat(value("SID=x; Expires=yesterday")).isEqualTo("x");
    }
}
