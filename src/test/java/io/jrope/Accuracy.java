package io.jrope;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The accuracy rules every backend is held to, as assertions over whole tensors.
 *
 * <p>Against a float64 evaluation: float32 within {@value #FLOAT32_ULPS_VS_FLOAT64} ulp of
 * {@code max|x|} (times the attention factor); float16 and bfloat16 within 1 ulp of the correctly
 * rounded float64 result. Between two backends: float32 within {@value #FLOAT32_ULPS_BETWEEN_BACKENDS}
 * ulp of {@code max|x|}; float16 and bfloat16 within 1 ulp of the output dtype.
 *
 * <p>NOTE: the half-precision rules also accept a result that one rounding of a float32 value
 * inside the float32 bound can give. The rotation runs in float32, whose error is relative to
 * {@code max|x|}; when {@code u*c - v*s} cancels to a value far below {@code max|x|}, that error spans
 * many float16 or bfloat16 ulps of the small result, so no float32 kernel can meet "1 ulp" there.
 */
final class Accuracy {
    static final int FLOAT32_ULPS_VS_FLOAT64 = 4;
    static final int FLOAT32_ULPS_BETWEEN_BACKENDS = 2;

    private Accuracy() {
    }

    /**
     * Fails unless every element of {@code actual} is within the float64 accuracy target of
     * {@code expected} (row-major, from {@link Float64Rope}).
     *
     * @param maxAbsInput     {@code max|x|} of the input tensor
     * @param attentionFactor the factor the output was multiplied by
     */
    static void assertCloseToFloat64(Tensor actual, double[] expected, double maxAbsInput, double attentionFactor,
                                     String context) {
        DType dtype = actual.dtype();
        float[] values = actual.toFloatArray();
        double float32Bound = FLOAT32_ULPS_VS_FLOAT64 * Math.ulp((float) (maxAbsInput * attentionFactor));
        for (int i = 0; i < values.length; i++) {
            double exact = expected[i];
            double value = values[i];
            boolean ok = dtype == DType.FLOAT32
                    ? Math.abs(value - exact) <= float32Bound
                    : withinOneUlpOfRounded(value, exact, dtype) || isRoundedNear(value, exact, float32Bound, 1, dtype);
            if (!ok) {
                fail(context + ": element " + TestTensors.indexText(i, actual.shape()) + " of " + dtype + " is "
                        + value + ", float64 gives " + exact + " (correctly rounded " + ExactRounding.round(exact, dtype)
                        + "); allowed: " + ruleText(dtype, float32Bound, FLOAT32_ULPS_VS_FLOAT64, maxAbsInput));
            }
        }
    }

    /**
     * Fails unless every element of {@code actual} is within the parity tolerance of the same element
     * of {@code reference}, the output of the java backend for the same call.
     */
    static void assertCloseToReference(Tensor actual, Tensor reference, double maxAbsInput, double attentionFactor,
                                       String context) {
        DType dtype = actual.dtype();
        float[] values = actual.toFloatArray();
        float[] references = reference.toFloatArray();
        double float32Bound = FLOAT32_ULPS_BETWEEN_BACKENDS * Math.ulp((float) (maxAbsInput * attentionFactor));
        for (int i = 0; i < values.length; i++) {
            double value = values[i];
            double want = references[i];
            boolean ok = dtype == DType.FLOAT32
                    ? Math.abs(value - want) <= float32Bound
                    : withinOneUlp(value, want, dtype) || isRoundedNear(value, want, float32Bound, 2, dtype);
            if (!ok) {
                fail(context + ": element " + TestTensors.indexText(i, actual.shape()) + " of " + dtype + " is "
                        + value + ", the java backend gives " + want + "; allowed: "
                        + ruleText(dtype, float32Bound, FLOAT32_ULPS_BETWEEN_BACKENDS, maxAbsInput));
            }
        }
    }

    /** True if {@code value} is at most one ulp of {@code dtype} away from {@code exact} correctly rounded. */
    static boolean withinOneUlpOfRounded(double value, double exact, DType dtype) {
        return withinOneUlp(value, ExactRounding.round(exact, dtype), dtype);
    }

    /** True if the {@code dtype} values {@code a} and {@code b} are equal or neighbours. */
    static boolean withinOneUlp(double a, double b, DType dtype) {
        if (Double.isNaN(a) || Double.isNaN(b) || Double.isInfinite(a) || Double.isInfinite(b)) {
            return a == b;
        }
        return Math.abs(ExactRounding.ordinal(a, dtype) - ExactRounding.ordinal(b, dtype)) <= 1;
    }

    /**
     * True if {@code value} can come from {@code roundings} roundings to {@code dtype} of float32 values
     * within {@code bound} of {@code center}: it lies within the bound plus half a {@code dtype} ulp per
     * rounding.
     */
    private static boolean isRoundedNear(double value, double center, double bound, int roundings, DType dtype) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return false;
        }
        double halfUlp = ExactRounding.ulp(Math.abs(center) + bound, dtype) / 2;
        return Math.abs(value - center) <= bound + roundings * halfUlp;
    }

    private static String ruleText(DType dtype, double float32Bound, int ulps, double maxAbsInput) {
        if (dtype == DType.FLOAT32) {
            return "|error| <= " + float32Bound + " (" + ulps + " ulp of max|x| = " + maxAbsInput + ")";
        }
        return "1 ulp of " + dtype + ", or one rounding of a float32 value within " + float32Bound;
    }
}
