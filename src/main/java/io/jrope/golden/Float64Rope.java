package io.jrope.golden;

import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;

import java.util.Arrays;

/**
 * RoPE evaluated in double precision: the yardstick for the accuracy targets.
 *
 * <p>Computes the formula from the parameters of a {@link Rope}, independently of any backend:
 * {@code w_i = base^(-2i/dims)} (or {@code 1/freqs[i]}), {@code p = scale * pos(b, t)},
 * {@code theta = p * w_i} (taken exactly: the double product plus its rounding error), then
 * {@code (u cos - v sin, u sin + v cos)} with cos and sin multiplied by the attention factor, and {@code sin} negated for the inverse. Every step is a double; the only
 * float rounding is the one already in the input values.
 */
public final class Float64Rope {
    private Float64Rope() {
    }

    /**
     * Returns the rotated logical contents of {@code x}, row-major, one double per element.
     *
     * @throws IllegalArgumentException if {@code dims} exceeds the feature axis, {@code x} has fewer
     *                                  than 2 axes, or the positions do not fit the shape
     */
    public static double[] evaluate(Rope rope, Tensor x, Positions positions) {
        long[] shape = x.shape();
        if (shape.length < 2) {
            throw new IllegalArgumentException("x must have at least 2 axes, got shape " + Arrays.toString(shape));
        }
        int ndim = shape.length;
        long features = shape[ndim - 1];
        long tokens = shape[ndim - 2];
        long batch = ndim >= 3 ? shape[0] : 1;
        int dims = rope.dims();
        if (dims > features) {
            throw new IllegalArgumentException("dims must be at most D=" + features + ", got " + dims);
        }
        positions.checkFits(batch, tokens);

        float[] values = x.toFloatArray();
        double[] result = new double[values.length];
        if (values.length == 0) {
            return result;
        }
        double[] w = inverseFrequencies(rope);
        double factor = rope.attentionFactor();
        double sign = rope.isInverse() ? -1.0 : 1.0;
        int half = dims / 2;
        int rowLength = (int) features;
        long rows = values.length / features;
        long rowsPerBatch = rows / batch;

        for (long row = 0; row < rows; row++) {
            long b = ndim >= 3 ? row / rowsPerBatch : 0;
            long t = row % tokens;
            double position = (double) positions.positionOf(b, t);
            double p = rope.scale() * position;
            double pError = Math.fma(rope.scale(), position, -p);
            int start = (int) (row * rowLength);
            for (int i = 0; i < half; i++) {
                // The exact angle is theta + e: the double product and its rounding error.
                double theta = p * w[i];
                double e = Math.fma(p, w[i], -theta) + pError * w[i];
                double shrink = 1.0 - 0.5 * e * e;
                double c = factor * (Math.cos(theta) * shrink - Math.sin(theta) * e);
                double s = sign * factor * (Math.sin(theta) * shrink + Math.cos(theta) * e);
                int first = start + (rope.traditional() ? 2 * i : i);
                int second = start + (rope.traditional() ? 2 * i + 1 : i + half);
                double u = values[first];
                double v = values[second];
                result[first] = u * c - v * s;
                result[second] = u * s + v * c;
            }
            for (int f = dims; f < rowLength; f++) {
                result[start + f] = values[start + f];
            }
        }
        return result;
    }

    /**
     * Computes {@code w_i} in double: {@code base^(-2i/dims)}, or {@code 1/freqs[i]} when periods are
     * given. With a scaling preset it takes the preset's frequencies, which have tests of their own.
     */
    static double[] inverseFrequencies(Rope rope) {
        if (rope.scaling() != null) {
            return rope.inverseFrequencies();
        }
        int half = rope.dims() / 2;
        float[] freqs = rope.freqs();
        double[] w = new double[half];
        for (int i = 0; i < half; i++) {
            w[i] = freqs != null ? 1.0 / freqs[i] : Math.pow(rope.base(), -2.0 * i / rope.dims());
        }
        return w;
    }
}
