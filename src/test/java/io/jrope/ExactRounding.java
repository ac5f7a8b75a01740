package io.jrope;

/**
 * Correct rounding of a double to each dtype, written apart from {@link DType} so that tests can
 * check it: scale the magnitude so that one unit in the last place of the target format is 1, round
 * with {@link Math#rint} (to nearest, ties to even), and scale back. Scaling by a power of two is
 * exact in double for every value these formats reach.
 */
final class ExactRounding {
    private ExactRounding() {
    }

    /** Significand bits (with the implicit bit) of {@code dtype}: 24, 11 or 8. */
    static int precision(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> 24;
            case FLOAT16 -> 11;
            case BFLOAT16 -> 8;
        };
    }

    /** Exponent of the smallest normal number of {@code dtype}: -126, -14 or -126. */
    static int minExponent(DType dtype) {
        return dtype == DType.FLOAT16 ? -14 : -126;
    }

    /** Exponent of the largest finite number of {@code dtype}: 127, 15 or 127. */
    static int maxExponent(DType dtype) {
        return dtype == DType.FLOAT16 ? 15 : 127;
    }

    /** Largest finite value of {@code dtype}. */
    static double maxFinite(DType dtype) {
        int p = precision(dtype);
        return (2.0 - Math.scalb(1.0, 1 - p)) * Math.scalb(1.0, maxExponent(dtype));
    }

    /** Rounds {@code value} to the nearest value of {@code dtype}, ties to even. Overflow gives an infinity. */
    static double round(double value, DType dtype) {
        if (Double.isNaN(value) || Double.isInfinite(value) || value == 0) {
            return value;
        }

        double magnitude = Math.abs(value);
        int ulpExponent = ulpExponent(magnitude, dtype);
        double units = Math.rint(Math.scalb(magnitude, -ulpExponent));
        double rounded = Math.scalb(units, ulpExponent);

        if (rounded > maxFinite(dtype)) {
            rounded = Double.POSITIVE_INFINITY;
        }
        return Math.copySign(rounded, value);
    }

    /** Spacing of {@code dtype} values at {@code |value|}: the gap to the next value away from zero. */
    static double ulp(double value, DType dtype) {
        return Math.scalb(1.0, ulpExponent(Math.abs(value), dtype));
    }

    /**
     * Index of a finite {@code dtype} value in the ordered sequence of all its values, with both
     * zeros at 0: neighbouring values differ by 1, so the difference of two indices counts ulps.
     */
    static long ordinal(double value, DType dtype) {
        if (value == 0) {
            return 0;
        }
        double magnitude = Math.abs(value);
        int ulpExponent = ulpExponent(magnitude, dtype);
        int p = precision(dtype);
        int min = minExponent(dtype);
        // Subnormals and the lowest normal binade share the smallest ulp, so their index is the
        // value in those units; each binade above adds 2^(p-1) values.
        long units = (long) Math.scalb(magnitude, -ulpExponent);
        long binade = ulpExponent - (min - (p - 1));
        long index = binade * (1L << (p - 1)) + units;
        return value < 0 ? -index : index;
    }

    private static int ulpExponent(double magnitude, DType dtype) {
        int exponent = magnitude == 0 ? minExponent(dtype) : Math.max(Math.getExponent(magnitude), minExponent(dtype));
        return exponent - (precision(dtype) - 1);
    }
}
