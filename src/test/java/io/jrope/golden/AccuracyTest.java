package io.jrope.golden;

import io.jrope.DType;
import io.jrope.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.math.BigDecimal;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AccuracyTest {
    /**
     * Values just above a midpoint between two neighbours of the half dtype, by less than half a float32
     * ulp: rounding through float32 to nearest lands exactly on the midpoint and then rounds to even, which
     * is wrong whenever the even neighbour is the lower one.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16"})
    void roundToOddAvoidsDoubleRounding(DType dtype) {
        SplittableRandom random = new SplittableRandom(11);
        int naiveWrong = 0;
        for (int trial = 0; trial < 2000; trial++) {
            float lower = dtype.round((float) random.nextDouble(0.01, 100.0));
            float upper = nextUp(dtype, lower);
            double midpoint = ((double) lower + upper) / 2;
            double sign = random.nextBoolean() ? 1 : -1;
            double value = sign * (midpoint + Math.ulp(midpoint) * 4);

            float expected = (float) (sign * upper);
            float viaOdd = dtype.round(Accuracy.roundToOdd(value));
            assertEquals(expected, viaOdd, "correct rounding of " + value + " to " + dtype);
            assertEquals(exactlyRounded(dtype, value), viaOdd, "BigDecimal rounding of " + value);
            if (dtype.round((float) value) != expected) {
                naiveWrong++;
            }
        }
        assertTrue(naiveWrong > 0, "the cases never trip plain double rounding, so they test nothing");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16"})
    void roundToOddMatchesExactRounding(DType dtype) {
        SplittableRandom random = new SplittableRandom(12);
        for (int trial = 0; trial < 20_000; trial++) {
            double value = random.nextDouble(-300.0, 300.0) * Math.pow(2, random.nextInt(-20, 5));
            assertEquals(exactlyRounded(dtype, value), dtype.round(Accuracy.roundToOdd(value)),
                    "rounding of " + value + " to " + dtype);
        }
    }

    @Test
    void halfDistanceCountsRepresentableSteps() {
        float twoUp = nextUp(DType.FLOAT16, nextUp(DType.FLOAT16, 1.0f));
        assertEquals(0.0, Accuracy.halfUlpDistance(DType.FLOAT16, 1.0f, 1.0));
        assertEquals(2.0, Accuracy.halfUlpDistance(DType.FLOAT16, twoUp, 1.0));
        assertEquals(2.0, Accuracy.halfUlpDistance(DType.FLOAT16, -twoUp, -1.0));
        assertEquals(Double.POSITIVE_INFINITY, Accuracy.halfUlpDistance(DType.BFLOAT16, Float.NaN, 1.0));
    }

    @Test
    void halfDistanceCrossesZero() {
        float smallest = Float.float16ToFloat((short) 1);
        assertEquals(2.0, Accuracy.halfUlpDistance(DType.FLOAT16, smallest, -smallest));
    }

    @Test
    void float32UnitIsUlpOfMaxInput() {
        double maxAbsInput = 3.0;
        float unit = Math.ulp(3.0f);
        try (Tensor actual = Tensor.copyOf(new float[] {1.0f + 2 * unit, 2.0f}, DType.FLOAT32, 2)) {
            Accuracy accuracy = Accuracy.measure(actual, new double[] {1.0, 2.0}, maxAbsInput);
            assertEquals(2.0, accuracy.ulps(), 1e-12);
            assertTrue(accuracy.meetsTarget());
        }
    }

    @Test
    void float32ErrorAboveTargetFails() {
        float unit = Math.ulp(3.0f);
        try (Tensor actual = Tensor.copyOf(new float[] {1.0f + 8 * unit}, DType.FLOAT32, 1)) {
            Accuracy accuracy = Accuracy.measure(actual, new double[] {1.0}, 3.0);
            assertEquals(8.0, accuracy.ulps(), 1e-12);
            assertFalse(accuracy.meetsTarget());
        }
    }

    @Test
    void nanOutputFails() {
        try (Tensor actual = Tensor.copyOf(new float[] {Float.NaN}, DType.FLOAT32, 1)) {
            Accuracy accuracy = Accuracy.measure(actual, new double[] {1.0}, 1.0);
            assertEquals(Double.POSITIVE_INFINITY, accuracy.maxAbsError());
            assertFalse(accuracy.meetsTarget());
        }
    }

    @Test
    void maxAbsDifferenceFlagsNan() {
        assertEquals(0.5, Accuracy.maxAbsDifference(new float[] {1f, 2f}, new float[] {1.5f, 2f}));
        assertEquals(Double.POSITIVE_INFINITY, Accuracy.maxAbsDifference(new float[] {Float.NaN}, new float[] {0f}));
    }

    /** Returns the neighbour above a positive value of {@code dtype}. */
    private static float nextUp(DType dtype, float value) {
        if (dtype == DType.FLOAT16) {
            return Float.float16ToFloat((short) (Float.floatToFloat16(value) + 1));
        }
        return DType.bfloat16ToFloat((short) (DType.floatToBfloat16(value) + 1));
    }

    /** Rounds {@code value} to {@code dtype} by comparing exact decimal distances, ties to even. */
    private static float exactlyRounded(DType dtype, double value) {
        float guess = dtype.round((float) value);
        float best = guess;
        BigDecimal exact = new BigDecimal(value);
        BigDecimal bestDistance = exact.subtract(new BigDecimal(guess)).abs();
        for (int step = -1; step <= 1; step += 2) {
            float candidate = neighbour(dtype, guess, step);
            BigDecimal distance = exact.subtract(new BigDecimal(candidate)).abs();
            int order = distance.compareTo(bestDistance);
            if (order < 0 || (order == 0 && isEven(dtype, candidate))) {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    private static float neighbour(DType dtype, float value, int step) {
        short raw = dtype == DType.FLOAT16 ? Float.floatToFloat16(value) : DType.floatToBfloat16(value);
        int bits = raw & 0xFFFF;
        int magnitude = bits & 0x7FFF;
        int sign = bits & 0x8000;
        int ordered = sign != 0 ? -magnitude : magnitude;
        int next = ordered + step;
        int nextBits = next < 0 ? 0x8000 | -next : next;
        short nextRaw = (short) nextBits;
        return dtype == DType.FLOAT16 ? Float.float16ToFloat(nextRaw) : DType.bfloat16ToFloat(nextRaw);
    }

    private static boolean isEven(DType dtype, float value) {
        int bits = dtype == DType.FLOAT16 ? Float.floatToFloat16(value) : DType.floatToBfloat16(value);
        return (bits & 1) == 0;
    }
}
