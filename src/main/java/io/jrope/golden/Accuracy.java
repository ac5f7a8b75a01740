package io.jrope.golden;

import io.jrope.DType;
import io.jrope.Tensor;

/**
 * Distance of a computed tensor from its float64 evaluation, in the units of jrope's accuracy targets.
 *
 * <ul>
 *   <li>float32 output: the max abs error divided by {@code ulp(max|x|)}, the float32 spacing at the
 *       largest input magnitude; target at most 4.</li>
 *   <li>float16 and bfloat16 output: the max number of representable values between each output
 *       element and the correctly rounded float64 result; target at most 1.</li>
 * </ul>
 *
 * @param dtype       dtype of the measured output
 * @param maxAbsError max over elements of {@code |actual - exact|}; infinite if an output is NaN
 * @param ulps        the error in the dtype's unit described above
 * @param targetUlps  the accuracy target in the same unit
 */
public record Accuracy(DType dtype, double maxAbsError, double ulps, double targetUlps) {
    /** Target for float32 outputs, in ulp of max|x|. */
    public static final double FLOAT32_TARGET_ULPS = 4.0;
    /** Target for float16 and bfloat16 outputs, in ulps of the output dtype. */
    public static final double HALF_TARGET_ULPS = 1.0;

    /** True when the error is within the target. */
    public boolean meetsTarget() {
        return ulps <= targetUlps;
    }

    /**
     * Measures {@code actual} against {@code exact}.
     *
     * @param exact       the float64 evaluation, row-major, one value per element of {@code actual}
     * @param maxAbsInput max |x| over the input; sets the float32 unit
     */
    public static Accuracy measure(Tensor actual, double[] exact, double maxAbsInput) {
        float[] values = actual.toFloatArray();
        if (values.length != exact.length) {
            throw new IllegalArgumentException("exact must have one value per element (" + values.length + "), got "
                    + exact.length);
        }
        DType dtype = actual.dtype();
        double maxAbsError = 0;
        double ulps = 0;
        for (int i = 0; i < values.length; i++) {
            double error = Math.abs(values[i] - exact[i]);
            maxAbsError = Double.isNaN(error) ? Double.POSITIVE_INFINITY : Math.max(maxAbsError, error);
            if (dtype != DType.FLOAT32) {
                ulps = Math.max(ulps, halfUlpDistance(dtype, values[i], exact[i]));
            }
        }
        if (dtype == DType.FLOAT32) {
            ulps = maxAbsError / Math.ulp((float) maxAbsInput);
            return new Accuracy(dtype, maxAbsError, ulps, FLOAT32_TARGET_ULPS);
        }
        return new Accuracy(dtype, maxAbsError, ulps, HALF_TARGET_ULPS);
    }

    /** Max |a - b| over two equally long arrays; infinite if a pair contains a NaN. */
    public static double maxAbsDifference(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("arrays must have the same length, got " + a.length + " and "
                    + b.length);
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double difference = Math.abs((double) a[i] - b[i]);
            max = Double.isNaN(difference) ? Double.POSITIVE_INFINITY : Math.max(max, difference);
        }
        return max;
    }

    /** Max |x| over the logical elements of {@code x}. */
    public static double maxAbs(Tensor x) {
        double max = 0;
        for (float value : x.toFloatArray()) {
            max = Math.max(max, Math.abs(value));
        }
        return max;
    }

    /**
     * Counts the representable values of {@code dtype} (float16 or bfloat16) between {@code actual}
     * and {@code exact} rounded correctly to that dtype; infinite for a NaN on either side.
     */
    static double halfUlpDistance(DType dtype, float actual, double exact) {
        if (Float.isNaN(actual) || Double.isNaN(exact)) {
            return Float.isNaN(actual) && Double.isNaN(exact) ? 0 : Double.POSITIVE_INFINITY;
        }
        int actualBits = halfBits(dtype, actual);
        int roundedBits = halfBits(dtype, roundToOdd(exact));
        return Math.abs(ordered(actualBits) - ordered(roundedBits));
    }

    /**
     * Rounds a double to float32 with round-to-odd: an inexact result gets an odd significand.
     * Rounding that float once more to nearest at 8 or 11 bits gives the correctly rounded value, since
     * 24 bits exceed 11 + 2 and so no double rounding can occur.
     */
    static float roundToOdd(double value) {
        float nearest = (float) value;
        if ((double) nearest == value || Float.isInfinite(nearest) || (Float.floatToRawIntBits(nearest) & 1) != 0) {
            return nearest;
        }
        return (double) nearest > value ? Math.nextDown(nearest) : Math.nextUp(nearest);
    }

    private static int halfBits(DType dtype, float value) {
        short bits = dtype == DType.FLOAT16 ? Float.floatToFloat16(value) : DType.floatToBfloat16(value);
        return bits & 0xFFFF;
    }

    /** Maps 16-bit sign-magnitude patterns to integers whose order and spacing follow the values. */
    private static int ordered(int bits) {
        int magnitude = bits & 0x7FFF;
        return (bits & 0x8000) != 0 ? -magnitude : magnitude;
    }
}
