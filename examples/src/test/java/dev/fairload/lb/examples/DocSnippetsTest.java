package dev.fairload.lb.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Java snippets of the docs are taken from example classes that compile and run in the build: each {@code
 * ```java} block of a checked page follows a {@code <!-- snippet: PATH -->} comment naming its source, and every
 * line of the block appears in that source, in the same order (whitespace aside). A snippet edited in the docs but
 * not in the example, or an example changed under its snippet, fails here.
 */
class DocSnippetsTest {
    private static final Path DOCS = Path.of("..", "docs");
    /** Pages whose every Java snippet must name its source. */
    private static final List<String> CHECKED = List.of("proxy.md");

    record Snippet(String page, int line, Path source, List<String> lines) {}

    @Test
    void everyJavaSnippet_ofTheCheckedPages_comesFromATestedExample() throws IOException {
        List<Snippet> snippets = new ArrayList<>();
        for (String page : CHECKED) {
            snippets.addAll(snippets(page));
        }
        assertThat(snippets).hasSizeGreaterThanOrEqualTo(3);
        for (Snippet s : snippets) {
            assertThat(s.source())
                    .as("%s:%d names %s", s.page(), s.line(), s.source())
                    .isRegularFile();
            String source = squeeze(Files.readString(s.source(), StandardCharsets.UTF_8));
            int from = 0;
            for (String line : s.lines()) {
                String wanted = squeeze(line);
                if (wanted.isEmpty()) {
                    continue;
                }
                int at = source.indexOf(wanted, from);
                assertThat(at)
                        .as(
                                "%s:%d: '%s' is not in %s (after the snippet's previous line)",
                                s.page(), s.line(), line.strip(), s.source())
                        .isNotNegative();
                from = at + wanted.length();
            }
        }
    }

    private static List<Snippet> snippets(String page) throws IOException {
        List<String> lines = Files.readAllLines(DOCS.resolve(page), StandardCharsets.UTF_8);
        List<Snippet> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).equals("```java")) {
                continue;
            }
            String marker = i > 0 ? lines.get(i - 1).strip() : "";
            assertThat(marker)
                    .as("%s:%d: a Java snippet without <!-- snippet: PATH --> before it", page, i + 1)
                    .startsWith("<!-- snippet: ")
                    .endsWith(" -->");
            Path source = DOCS.resolve(marker.substring("<!-- snippet: ".length(), marker.length() - " -->".length()));
            List<String> body = new ArrayList<>();
            int j = i + 1;
            while (!lines.get(j).equals("```")) {
                body.add(lines.get(j++));
            }
            out.add(new Snippet(page, i + 1, source.normalize(), body));
            i = j;
        }
        return out;
    }

    private static String squeeze(String text) {
        return text.replaceAll("\\s+", "");
    }
}
