package io.jrope;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Conversions of {@link DType} against {@link ExactRounding}, an independent computation: widening
 * every 16-bit pattern, and rounding float32 values to nearest even, including ties, NaN,
 * infinities, subnormals and overflow.
 */
class DTypeTest {
    private static final DType[] HALF_TYPES = {DType.FLOAT16, DType.BFLOAT16};

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16"})
    void widenMatchesDecodedBits(DType dtype) {
        for (int bits = 0; bits < 0x10000; bits++) {
            float widened = load(dtype, (short) bits);
            double decoded = decode(dtype, bits);
            if (Double.isNaN(decoded)) {
                String pattern = Integer.toHexString(bits);
                assertTrue(Float.isNaN(widened), () -> dtype + " bits 0x" + pattern + " must widen to NaN");
                continue;
            }
            if (Double.doubleToRawLongBits(widened) != Double.doubleToRawLongBits(decoded)) {
                fail(dtype + " bits 0x" + Integer.toHexString(bits) + " widen to " + widened + ", expected " + decoded);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16"})
    void storeOfWidenedValueKeepsBits(DType dtype) {
        for (int bits = 0; bits < 0x10000; bits++) {
            float widened = load(dtype, (short) bits);
            if (Float.isNaN(widened)) {
                continue;
            }
            int stored = store(dtype, widened) & 0xFFFF;
            if (stored != bits) {
                fail(dtype + " bits 0x" + Integer.toHexString(bits) + " (" + widened + ") store back as 0x"
                        + Integer.toHexString(stored));
            }
        }
    }

    @Test
    void roundingOfRandomFloatsIsCorrect() {
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DType.values()) {
            for (int i = 0; i < 200_000; i++) {
                float value = Float.intBitsToFloat(random.nextInt());
                assertRoundsCorrectly(dtype, value, TestSeeds.describe(seed));
            }
        }
    }

    /** Exact midpoints between neighbouring values, where ties go to the even significand. */
    @Test
    void tiesRoundToEven() {
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : HALF_TYPES) {
            int infinityBits = dtype == DType.FLOAT16 ? 0x7C00 : 0x7F80;
            for (int i = 0; i < 100_000; i++) {
                int bits = random.nextInt(infinityBits);
                double low = decode(dtype, bits);
                double high = decode(dtype, bits + 1);
                if (Double.isInfinite(high)) {
                    continue;
                }
                float midpoint = (float) ((low + high) / 2);
                assertEquals((low + high) / 2, midpoint, 0.0, () -> "midpoint must be exact in float32");
                assertRoundsCorrectly(dtype, midpoint, TestSeeds.describe(seed));
                assertRoundsCorrectly(dtype, -midpoint, TestSeeds.describe(seed));

                int roundedBits = store(dtype, midpoint) & 0xFFFF;
                assertEquals(0, roundedBits & 1,
                        () -> dtype + " tie " + midpoint + " must round to the even neighbour, got bits 0x"
                                + Integer.toHexString(roundedBits) + "; " + TestSeeds.describe(seed));
            }
        }
    }

    @Test
    void subnormalsRoundCorrectly() {
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : HALF_TYPES) {
            double smallestNormal = Math.scalb(1.0, ExactRounding.minExponent(dtype));
            for (int i = 0; i < 100_000; i++) {
                float value = (float) (random.nextDouble() * 1.5 * smallestNormal);
                assertRoundsCorrectly(dtype, random.nextBoolean() ? value : -value, TestSeeds.describe(seed));
            }
        }
    }

    @Test
    void overflowBoundaryIsCorrect() {
        for (DType dtype : HALF_TYPES) {
            double max = ExactRounding.maxFinite(dtype);
            double halfGap = ExactRounding.ulp(max, dtype) / 2;
            float tie = (float) (max + halfGap);
            float[] values = {(float) max, Math.nextDown(tie), tie, Math.nextUp(tie), Float.MAX_VALUE};
            for (float value : values) {
                assertRoundsCorrectly(dtype, value, "boundary values");
                assertRoundsCorrectly(dtype, -value, "boundary values");
            }
            assertEquals(Float.POSITIVE_INFINITY, dtype.round(tie), dtype + ": the tie above the largest finite value");
            assertEquals((float) max, dtype.round(Math.nextDown(tie)), dtype + ": just below that tie");
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void infinitiesAndZerosKeepSign(DType dtype) {
        float[] values = {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0.0f, -0.0f};
        for (float value : values) {
            assertEquals(Float.floatToRawIntBits(value), Float.floatToRawIntBits(dtype.round(value)),
                    () -> dtype + " must keep " + value);
        }
    }

    /** NaN stays NaN, including NaNs whose payload lies only in the low 16 bits that bfloat16 drops. */
    @ParameterizedTest
    @EnumSource(DType.class)
    void nanStaysNan(DType dtype) {
        int[] patterns = {0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7F80FFFF, 0x7FBFFFFF};
        for (int pattern : patterns) {
            float nan = Float.intBitsToFloat(pattern);
            assertTrue(Float.isNaN(dtype.round(nan)),
                    () -> dtype + " must keep NaN 0x" + Integer.toHexString(pattern) + " a NaN");
        }
    }

    @Test
    void bfloat16OfNanIsQuiet() {
        short bits = DType.floatToBfloat16(Float.intBitsToFloat(0x7F800001));
        assertEquals(0x0040, bits & 0x0040, "the quiet bit of the bfloat16 NaN");
    }

    @Test
    void byteSizesPerDtype() {
        assertEquals(4, DType.FLOAT32.byteSize(), "float32");
        assertEquals(2, DType.FLOAT16.byteSize(), "float16");
        assertEquals(2, DType.BFLOAT16.byteSize(), "bfloat16");
    }

    @Test
    void fromNameAcceptsLabelsAndAliases() {
        String[][] names = {{"float32", "f32", "float", " FLOAT32 "}, {"float16", "f16", "half"}, {"bfloat16", "bf16", "BF16"}};
        DType[] expected = {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};
        for (int i = 0; i < names.length; i++) {
            for (String name : names[i]) {
                assertEquals(expected[i], DType.fromName(name), "name '" + name + "'");
            }
            assertEquals(expected[i], DType.fromName(expected[i].label()), "label of " + expected[i]);
        }
    }

    @Test
    void fromNameRejectsUnknownName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DType.fromName("int8"));
        assertTrue(e.getMessage().contains("int8"), "message names the value: " + e.getMessage());
        assertTrue(e.getMessage().contains("float32, float16, bfloat16"), "message lists the valid names: " + e.getMessage());
    }

    // ---- helpers -----------------------------------------------------------------------------

    /** Checks round, store and floatToBfloat16 of {@code value} against {@link ExactRounding}. */
    private static void assertRoundsCorrectly(DType dtype, float value, String context) {
        if (Float.isNaN(value)) {
            assertTrue(Float.isNaN(dtype.round(value)), () -> dtype + " must keep NaN a NaN; " + context);
            return;
        }
        double expected = ExactRounding.round(value, dtype);
        float rounded = dtype.round(value);
        if (Double.doubleToRawLongBits(rounded) != Double.doubleToRawLongBits(expected)) {
            fail(dtype + ".round(" + value + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(value)) + ") is "
                    + rounded + ", correctly rounded " + expected + "; " + context);
        }
        if (dtype != DType.FLOAT32) {
            float stored = load(dtype, store(dtype, value));
            if (Double.doubleToRawLongBits(stored) != Double.doubleToRawLongBits(expected)) {
                fail(dtype + " store of " + value + " reads back " + stored + ", correctly rounded " + expected + "; "
                        + context);
            }
        }
    }

    private static float load(DType dtype, short bits) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(2);
            segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, bits);
            return dtype.load(segment, 0);
        }
    }

    private static short store(DType dtype, float value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(2);
            dtype.store(segment, 0, value);
            return segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0);
        }
    }

    /** Value of a 16-bit pattern from its fields: sign, biased exponent and fraction. */
    private static double decode(DType dtype, int bits) {
        int fractionBits = ExactRounding.precision(dtype) - 1;
        int exponentBits = 15 - fractionBits;
        int bias = (1 << (exponentBits - 1)) - 1;
        int fraction = bits & ((1 << fractionBits) - 1);
        int exponent = (bits >>> fractionBits) & ((1 << exponentBits) - 1);
        double sign = (bits & 0x8000) != 0 ? -1.0 : 1.0;
        if (exponent == (1 << exponentBits) - 1) {
            return fraction == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (exponent == 0) {
            return sign * Math.scalb((double) fraction, 1 - bias - fractionBits);
        }
        return sign * Math.scalb((double) ((1 << fractionBits) + fraction), exponent - bias - fractionBits);
    }
}
