package io.jrope;

import java.util.function.LongBinaryOperator;

/**
 * The RoPE formula evaluated in float64, written apart from the library: the exact value that the
 * accuracy targets are measured against.
 *
 * <p>Inverse frequencies {@code w_i = base^(-2i/dims)} or {@code 1/freqs[i]}, angle
 * {@code theta = scale * pos * w_i} (negated for the inverse), and per pair {@code (u, v)}:
 * {@code u' = m (u cos - v sin)}, {@code v' = m (u sin + v cos)}, with {@code m} the attention factor.
 * Features {@code dims..D-1} keep their value. Everything after reading the input is double.
 *
 * @param dims            rotated features
 * @param traditional     pairs {@code (2i, 2i+1)} if true, {@code (i, i + dims/2)} if false
 * @param base            base of the inverse frequencies; ignored when {@code freqs} is set
 * @param freqs           periods, or null to use {@code base}
 * @param scale           multiplies every position
 * @param inverse         rotate by {@code -theta}
 * @param attentionFactor multiplies cos and sin
 */
record Float64Rope(int dims, boolean traditional, double base, float[] freqs, double scale, boolean inverse,
                   double attentionFactor) {

    /** Builds the float64 twin of {@code rope} from its public parameters. */
    static Float64Rope of(Rope rope) {
        return new Float64Rope(rope.dims(), rope.traditional(), rope.base(), rope.freqs(), rope.scale(),
                rope.isInverse(), rope.attentionFactor());
    }

    /** Inverse frequency of pair {@code i}, in radians per position. */
    double inverseFrequency(int i) {
        if (freqs != null) {
            return 1.0 / freqs[i];
        }
        return Math.pow(base, -(double) (2 * i) / dims);
    }

    /**
     * Returns {@code x} rotated, in row-major order of its shape.
     *
     * @param position position of token {@code t} in batch row {@code b}, before {@code scale}. For a
     *                 2-D tensor, {@code b} is 0.
     */
    double[] apply(Tensor x, LongBinaryOperator position) {
        long[] shape = x.shape();
        int ndim = shape.length;
        int features = Math.toIntExact(shape[ndim - 1]);
        float[] input = x.toFloatArray();
        double[] output = new double[input.length];
        int half = dims / 2;

        long[] index = new long[ndim];
        for (int row = 0; row * (long) features < input.length; row++) {
            long b = ndim >= 3 ? index[0] : 0;
            long t = index[ndim - 2];
            double exactPosition = (double) position.applyAsLong(b, t);
            double p = scale * exactPosition;
            double pError = Math.fma(scale, exactPosition, -p);
            int start = row * features;
            for (int i = 0; i < half; i++) {
                int first = start + (traditional ? 2 * i : i);
                int second = start + (traditional ? 2 * i + 1 : i + half);
                // The angle of the exact product (p + pError) * w: theta plus the error term e.
                double w = inverseFrequency(i);
                double theta = p * w;
                double e = Math.fma(p, w, -theta) + pError * w;
                double cosExact = Math.cos(theta) * (1 - 0.5 * e * e) - Math.sin(theta) * e;
                double sinExact = Math.sin(theta) * (1 - 0.5 * e * e) + Math.cos(theta) * e;
                double c = attentionFactor * cosExact;
                double s = (inverse ? -attentionFactor : attentionFactor) * sinExact;
                double u = input[first];
                double v = input[second];
                output[first] = u * c - v * s;
                output[second] = u * s + v * c;
            }
            for (int f = dims; f < features; f++) {
                output[start + f] = input[start + f];
            }
            nextRow(index, shape);
        }
        return output;
    }

    /** Same as {@link #apply(Tensor, LongBinaryOperator)} with token {@code t} of every row at {@code offset + t}. */
    double[] apply(Tensor x, long offset) {
        return apply(x, (b, t) -> offset + t);
    }

    private static void nextRow(long[] index, long[] shape) {
        for (int axis = shape.length - 2; axis >= 0; axis--) {
            if (++index[axis] < shape[axis]) {
                return;
            }
            index[axis] = 0;
        }
    }
}
