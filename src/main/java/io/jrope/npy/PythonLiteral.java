package io.jrope.npy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parser for the subset of Python literal syntax that NumPy writes into a {@code .npy} header:
 * dicts, tuples, lists, quoted strings, integers, {@code True}, {@code False} and {@code None}.
 *
 * <p>Values map to {@code Map<String, Object>} (insertion order kept), {@code List<Object>} for
 * tuples and lists, {@link String}, {@link Long}, {@link Boolean} and {@code null}. Headers written by
 * Python 2 NumPy carry an {@code L} suffix on integers, which is accepted.
 */
final class PythonLiteral {
    private final String text;
    private int position;

    private PythonLiteral(String text) {
        this.text = text;
    }

    /**
     * Parses {@code text} as one literal followed only by whitespace.
     *
     * @throws IllegalArgumentException naming the character position and what was expected there
     */
    static Object parse(String text) {
        PythonLiteral parser = new PythonLiteral(text);
        Object value = parser.value();
        parser.skipWhitespace();
        if (parser.position != text.length()) {
            throw parser.error("end of the literal");
        }
        return value;
    }

    private Object value() {
        skipWhitespace();
        if (position >= text.length()) {
            throw error("a value");
        }
        char c = text.charAt(position);
        return switch (c) {
            case '{' -> dict();
            case '(' -> sequence('(', ')');
            case '[' -> sequence('[', ']');
            case '\'', '"' -> string();
            default -> {
                if (c == '-' || c == '+' || Character.isDigit(c)) {
                    yield integer();
                }
                yield keyword();
            }
        };
    }

    private Map<String, Object> dict() {
        Map<String, Object> map = new LinkedHashMap<>();
        position++;
        while (true) {
            skipWhitespace();
            if (consume('}')) {
                return map;
            }
            Object key = value();
            if (!(key instanceof String name)) {
                throw error("a quoted dict key");
            }
            skipWhitespace();
            if (!consume(':')) {
                throw error("':' after the key '" + name + "'");
            }
            map.put(name, value());
            skipWhitespace();
            if (consume('}')) {
                return map;
            }
            if (!consume(',')) {
                throw error("',' or '}'");
            }
        }
    }

    private List<Object> sequence(char open, char close) {
        List<Object> items = new ArrayList<>();
        position++;
        while (true) {
            skipWhitespace();
            if (consume(close)) {
                return items;
            }
            items.add(value());
            skipWhitespace();
            if (consume(close)) {
                return items;
            }
            if (!consume(',')) {
                throw error("',' or '" + close + "' to close the '" + open + "'");
            }
        }
    }

    private String string() {
        char quote = text.charAt(position++);
        StringBuilder builder = new StringBuilder();
        while (position < text.length()) {
            char c = text.charAt(position++);
            if (c == quote) {
                return builder.toString();
            }
            if (c == '\\' && position < text.length()) {
                c = text.charAt(position++);
            }
            builder.append(c);
        }
        throw error("the closing " + quote);
    }

    private Long integer() {
        int start = position;
        if (text.charAt(position) == '-' || text.charAt(position) == '+') {
            position++;
        }
        while (position < text.length() && Character.isDigit(text.charAt(position))) {
            position++;
        }
        String digits = text.substring(start, position);
        if (position < text.length() && (text.charAt(position) == 'L' || text.charAt(position) == 'l')) {
            position++;
        }
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            position = start;
            throw error("an integer that fits in 64 bits");
        }
    }

    private Object keyword() {
        int start = position;
        while (position < text.length() && Character.isLetter(text.charAt(position))) {
            position++;
        }
        String word = text.substring(start, position);
        return switch (word) {
            case "True" -> Boolean.TRUE;
            case "False" -> Boolean.FALSE;
            case "None" -> null;
            default -> {
                position = start;
                throw error("a dict, tuple, list, string, integer, True, False or None");
            }
        };
    }

    private boolean consume(char expected) {
        if (position < text.length() && text.charAt(position) == expected) {
            position++;
            return true;
        }
        return false;
    }

    private void skipWhitespace() {
        while (position < text.length() && Character.isWhitespace(text.charAt(position))) {
            position++;
        }
    }

    private IllegalArgumentException error(String expected) {
        String found = position < text.length() ? "'" + text.charAt(position) + "'" : "the end";
        return new IllegalArgumentException("expected " + expected + " at character " + position + ", found " + found);
    }
}
