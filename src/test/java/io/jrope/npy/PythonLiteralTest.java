package io.jrope.npy;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PythonLiteralTest {
    @Test
    void numpyHeaderDictParses() {
        Object parsed = PythonLiteral.parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 8, 16), }   ");
        assertEquals(Map.of("descr", "<f4", "fortran_order", false, "shape", List.of(1L, 8L, 16L)), parsed);
    }

    @Test
    void oneElementTupleParses() {
        assertEquals(List.of(32L), PythonLiteral.parse("(32,)"));
    }

    @Test
    void emptyTupleParses() {
        assertEquals(List.of(), PythonLiteral.parse("()"));
    }

    @Test
    void nestedListsParse() {
        Object parsed = PythonLiteral.parse("[('a', '<f4'), (\"b\", '<i8')]");
        assertEquals(List.of(List.of("a", "<f4"), List.of("b", "<i8")), parsed);
    }

    @Test
    void noneTrueAndNegativeParse() {
        assertNull(PythonLiteral.parse("None"));
        assertEquals(Boolean.TRUE, PythonLiteral.parse("True"));
        assertEquals(-12L, PythonLiteral.parse("-12"));
    }

    @Test
    void unknownWordIsRejected() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> PythonLiteral.parse("{'shape': Shape(3)}"));
        assertTrue(error.getMessage().contains("character 10"), error.getMessage());
    }

    @Test
    void unclosedDictIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> PythonLiteral.parse("{'descr': '<f4'"));
    }

    @Test
    void trailingTextIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> PythonLiteral.parse("(1, 2) (3,)"));
    }

    @Test
    void oversizedIntegerIsRejected() {
        String digits = "9".repeat(30);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> PythonLiteral.parse("(" + digits + ",)"));
        assertTrue(error.getMessage().contains("64 bits"), error.getMessage());
    }
}
