package io.jrope.golden;

import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Properties of the float64 evaluation that follow from the formula, checked without a backend. */
class Float64RopeTest {
    private static final long[] SHAPE = {2, 3, 5, 16};

    @Test
    void positionZeroIsIdentity() {
        try (Tensor x = random(SHAPE, 1)) {
            double[] rotated = Float64Rope.evaluate(Rope.of(16), x.slice(2, 0, 1), Positions.zero());
            assertArrayEquals(widen(x.slice(2, 0, 1).toFloatArray()), rotated, 0.0);
        }
    }

    @Test
    void rotationKeepsPairNorms() {
        Rope rope = Rope.of(16).withBase(500);
        try (Tensor x = random(SHAPE, 2)) {
            float[] input = x.toFloatArray();
            double[] rotated = Float64Rope.evaluate(rope, x, Positions.offset(37));
            for (int row = 0; row < input.length / 16; row++) {
                for (int i = 0; i < 8; i++) {
                    int u = row * 16 + i;
                    int v = u + 8;
                    double before = Math.hypot(input[u], input[v]);
                    assertEquals(before, Math.hypot(rotated[u], rotated[v]), 1e-12 * Math.max(1, before),
                            "norm of pair " + i + " in row " + row);
                }
            }
        }
    }

    @Test
    void inverseUndoesForward() {
        Rope rope = Rope.of(16).withTraditional(true).withScale(0.5);
        try (Tensor x = random(SHAPE, 3)) {
            double[] forward = Float64Rope.evaluate(rope, x, Positions.offsets(4, -9));
            float[] rounded = new float[forward.length];
            for (int i = 0; i < rounded.length; i++) {
                rounded[i] = (float) forward[i];
            }
            try (Tensor y = Tensor.copyOf(rounded, DType.FLOAT32, SHAPE)) {
                double[] back = Float64Rope.evaluate(rope.inverse(), y, Positions.offsets(4, -9));
                assertArrayEquals(widen(x.toFloatArray()), back, 1e-5);
            }
        }
    }

    @Test
    void pairAngleMatchesFormula() {
        double base = 10000;
        int dims = 8;
        long position = 123;
        float[] values = new float[dims];
        values[2] = 1.0f;
        try (Tensor x = Tensor.copyOf(values, DType.FLOAT32, 1, dims)) {
            double[] rotated = Float64Rope.evaluate(Rope.of(dims).withBase(base),
                    x, Positions.ofTokens(position));
            double theta = position * Math.pow(base, -2.0 * 2 / dims);
            assertEquals(Math.cos(theta), rotated[2], 1e-15);
            assertEquals(Math.sin(theta), rotated[2 + dims / 2], 1e-15);
        }
    }

    @Test
    void featuresPastDimsPassThrough() {
        try (Tensor x = random(SHAPE, 4)) {
            double[] rotated = Float64Rope.evaluate(Rope.of(6), x, Positions.offset(1000));
            float[] input = x.toFloatArray();
            for (int row = 0; row < input.length / 16; row++) {
                for (int f = 6; f < 16; f++) {
                    assertEquals(input[row * 16 + f], rotated[row * 16 + f], 0.0, "feature " + f + " of row " + row);
                }
            }
        }
    }

    @Test
    void infinitePeriodDoesNotRotate() {
        float[] periods = {Float.POSITIVE_INFINITY, 1.0f};
        try (Tensor x = random(new long[] {1, 3, 4}, 5)) {
            double[] rotated = Float64Rope.evaluate(Rope.of(4).withFreqs(periods), x, Positions.offset(50));
            float[] input = x.toFloatArray();
            for (int row = 0; row < 3; row++) {
                assertEquals(input[row * 4], rotated[row * 4], 0.0);
                assertEquals(input[row * 4 + 2], rotated[row * 4 + 2], 0.0);
            }
        }
    }

    @Test
    void dimsAboveFeaturesIsRejected() {
        try (Tensor x = random(new long[] {1, 2, 4}, 6)) {
            assertThrows(IllegalArgumentException.class, () -> Float64Rope.evaluate(Rope.of(8), x, Positions.zero()));
        }
    }

    private static Tensor random(long[] shape, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long count = 1;
        for (long extent : shape) {
            count *= extent;
        }
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return Tensor.copyOf(values, DType.FLOAT32, shape);
    }

    private static double[] widen(float[] values) {
        double[] widened = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            widened[i] = values[i];
        }
        return widened;
    }
}
