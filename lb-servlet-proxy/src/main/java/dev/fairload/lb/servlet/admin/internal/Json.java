package dev.fairload.lb.servlet.admin.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Strict JSON for the admin API, on jackson-core's streaming parser: UTF-8 only (no byte order mark), duplicate keys
 * rejected, nesting at most {@value #MAX_DEPTH} deep, nothing after the value. Values become {@link Map} (in key
 * order), {@link List}, {@link String}, {@link Long} (integers), {@link BigInteger} (integers beyond a long), {@link
 * Double}, {@link Boolean} and null. Writing goes through jackson-jr, maps in their iteration order.
 *
 * <p>Error messages never echo the input beyond a field name chosen by us or the parser's position.
 */
public final class Json {
    static final int MAX_DEPTH = 32;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxStringLength(64 * 1024)
                    .maxNumberLength(100)
                    .build())
            .build();
    private static final JSON WRITER = JSON.std.with(JSON.Feature.WRITE_NULL_PROPERTIES);

    private Json() {}

    /** Thrown for a body that is not one well-formed JSON value; the message says what is wrong, not the input. */
    public static final class MalformedJsonException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedJsonException(String message) {
            super(message);
        }
    }

    /** Parses one JSON value from UTF-8 bytes. */
    public static Object parse(byte[] body) throws MalformedJsonException {
        if (body.length == 0) {
            throw new MalformedJsonException("body: empty (expected: a JSON object)");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedJsonException("body: not valid UTF-8");
        }
        if (text.startsWith("\uFEFF")) {
            throw new MalformedJsonException("body: starts with a byte order mark (expected: plain UTF-8 JSON)");
        }
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new MalformedJsonException("body: empty (expected: a JSON object)");
            }
            Object value = read(p, first);
            if (p.nextToken() != null) {
                throw new MalformedJsonException(
                        "body: unexpected content after the JSON value at " + where(p.currentLocation()));
            }
            return value;
        } catch (StreamConstraintsException e) {
            throw new MalformedJsonException("body: too deeply nested or too long (expected: at most " + MAX_DEPTH
                    + " levels, strings up to 64 KiB)");
        } catch (JsonParseException e) {
            String what = e.getOriginalMessage();
            if (what != null && what.startsWith("Duplicate field")) {
                throw new MalformedJsonException("body: duplicate field " + quoteField(what));
            }
            throw new MalformedJsonException("body: malformed JSON at " + where(e.getLocation()));
        } catch (IOException e) {
            throw new MalformedJsonException("body: malformed JSON");
        }
    }

    /** Parses a JSON object; anything else is malformed. */
    public static Map<String, Object> parseObject(byte[] body) throws MalformedJsonException {
        Object value = parse(body);
        if (!(value instanceof Map)) {
            throw new MalformedJsonException("body: " + typeName(value) + " (expected: a JSON object)");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) value;
        return map;
    }

    /** Writes {@code value} (maps, lists, strings, numbers, booleans, null) as UTF-8 JSON. */
    public static byte[] write(Object value) {
        try {
            return WRITER.asBytes(value);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    /** The JSON type of a parsed value, for messages: object, array, string, number, boolean or null. */
    public static String typeName(Object value) {
        if (value == null) {
            return "null";
        } else if (value instanceof Map) {
            return "an object";
        } else if (value instanceof List) {
            return "an array";
        } else if (value instanceof String) {
            return "a string";
        } else if (value instanceof Number) {
            return "a number";
        } else if (value instanceof Boolean) {
            return "a boolean";
        }
        return value.getClass().getSimpleName();
    }

    private static Object read(JsonParser p, JsonToken token) throws IOException {
        switch (token) {
            case START_OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                    String name = p.currentName();
                    map.put(name, read(p, p.nextToken()));
                }
                return map;
            }
            case START_ARRAY -> {
                List<Object> list = new ArrayList<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    list.add(read(p, t));
                }
                return list;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT -> {
                return switch (p.getNumberType()) {
                    case INT, LONG -> p.getLongValue();
                    default -> p.getBigIntegerValue();
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE -> {
                return Boolean.TRUE;
            }
            case VALUE_FALSE -> {
                return Boolean.FALSE;
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new JsonParseException(p, "unexpected token");
        }
    }

    private static String where(com.fasterxml.jackson.core.JsonLocation location) {
        if (location == null) {
            return "an unknown position";
        }
        return "line " + location.getLineNr() + ", column " + location.getColumnNr();
    }

    private static String quoteField(String parserMessage) {
        // Jackson says: Duplicate field 'name'. Keep the name only if it is short and plain.
        int a = parserMessage.indexOf('\'');
        int b = parserMessage.indexOf('\'', a + 1);
        if (a >= 0 && b > a && b - a <= 65) {
            String name = parserMessage.substring(a + 1, b);
            if (name.chars().allMatch(c -> c > ' ' && c < 127 && c != '"' && c != '\\')) {
                return "'" + name + "'";
            }
        }
        return "(name not shown)";
    }
}
