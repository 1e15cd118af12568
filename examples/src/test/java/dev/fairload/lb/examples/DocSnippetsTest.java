package dev.fairload.lb.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Java snippets of the docs are taken from example classes and tests that compile and run in the build: each
 * {@code ```java} block of README.md and of every {@code docs/*.md} page follows a {@code <!-- snippet: PATH -->}
 * comment naming its source (relative to the page), and every line of the block appears in that source, in the
 * same order (whitespace aside; a line that is only {@code ...} stands for elided code). A block that is not meant
 * to run as shown (a signature, an excerpt) says so with {@code <!-- not a snippet: WHY -->}. A snippet edited in
 * the docs but not in the example, an example changed under its snippet, or a new unmarked Java block fails here.
 */
class DocSnippetsTest {
    private static final Path ROOT = Path.of("..");
    private static final Path DOCS = ROOT.resolve("docs");
    private static final String SNIPPET = "<!-- snippet: ";

    record Snippet(String page, int line, Path source, List<String> lines) {}

    @Test
    void everyJavaBlock_ofTheDocs_isMarked_andEverySnippetComesFromTestedCode() throws IOException {
        List<Snippet> snippets = new ArrayList<>();
        for (Path page : pages()) {
            snippets.addAll(snippets(page));
        }
        assertThat(snippets).hasSizeGreaterThanOrEqualTo(16);
        for (Snippet s : snippets) {
            assertThat(s.source())
                    .as("%s:%d names %s", s.page(), s.line(), s.source())
                    .isRegularFile();
            String source = squeeze(Files.readString(s.source(), StandardCharsets.UTF_8));
            int from = 0;
            for (String line : s.lines()) {
                String wanted = squeeze(line);
                if (wanted.isEmpty() || wanted.equals("...")) {
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

    /** README.md and every Markdown page of docs/. */
    private static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>();
        pages.add(ROOT.resolve("README.md"));
        try (Stream<Path> docs = Files.list(DOCS)) {
            docs.filter(p -> p.getFileName().toString().endsWith(".md"))
                    .sorted()
                    .forEach(pages::add);
        }
        return pages;
    }

    private static List<Snippet> snippets(Path page) throws IOException {
        List<String> lines = Files.readAllLines(page, StandardCharsets.UTF_8);
        List<Snippet> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).equals("```java")) {
                continue;
            }
            String marker = i > 0 ? lines.get(i - 1).strip() : "";
            assertThat(marker)
                    .as(
                            "%s:%d: a Java block without <!-- snippet: PATH --> or <!-- not a snippet: WHY --> before it",
                            page, i + 1)
                    .matches("<!-- (snippet|not a snippet): \\S.* -->");
            int j = i + 1;
            List<String> body = new ArrayList<>();
            while (!lines.get(j).equals("```")) {
                body.add(lines.get(j++));
            }
            if (marker.startsWith(SNIPPET)) {
                Path source =
                        page.resolveSibling(marker.substring(SNIPPET.length(), marker.length() - " -->".length()));
                out.add(new Snippet(page.getFileName().toString(), i + 1, source.normalize(), body));
            }
            i = j;
        }
        return out;
    }

    private static String squeeze(String text) {
        return text.replaceAll("\\s+", "");
    }
}
