package io.jrope;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * cos and sin near position 2^31 against the exact angle, reduced in 60-digit decimal arithmetic.
 * A double product {@code p * w} alone is off by up to 1.2e-7 rad there, two float32 ulps of cos.
 */
class ExactAngleTest {
    private static final MathContext DIGITS = new MathContext(60, RoundingMode.HALF_EVEN);
    private static final BigDecimal TWO_PI = new BigDecimal(
            "6.28318530717958647692528676655900576839433879875021164194988918461563281257241799725606965");
    /** Bound on |cos error| and |sin error|: one float32 ulp of 1.0, twice the rounding of the result. */
    private static final double BOUND = Math.ulp(1.0f);

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jrope.BackendsUnderTest#names")
    void cosSinNearTwoToThe31(String backendName) {
        Backend backend = BackendsUnderTest.open(backendName);
        int tokens = 64;
        int dims = 64;
        for (double scale : new double[] {1.0, 0.7}) {
            for (long first : new long[] {(1L << 31) - tokens, -(1L << 31), (1L << 30) + 12345}) {
                Rope rope = Rope.of(dims).withBase(10000).withScale(scale).withBackend(backend);
                // x = (1, 0) in every pair, so the output pair is (cos, sin) itself.
                float[] values = new float[tokens * dims];
                for (int t = 0; t < tokens; t++) {
                    for (int i = 0; i < dims / 2; i++) {
                        values[t * dims + i] = 1f;
                    }
                }
                double worst = 0;
                String where = "";
                try (Tensor x = Tensor.copyOf(values, DType.FLOAT32, tokens, dims);
                     Tensor y = rope.apply(x, Positions.offset(first))) {
                    double[] w = rope.inverseFrequencies();
                    for (int t = 0; t < tokens; t++) {
                        BigDecimal p = new BigDecimal(scale).multiply(BigDecimal.valueOf(first + t), DIGITS);
                        for (int i = 0; i < dims / 2; i++) {
                            double reduced = reduce(p.multiply(new BigDecimal(w[i]), DIGITS));
                            double cosError = Math.abs(y.getFloat(t, i) - Math.cos(reduced));
                            double sinError = Math.abs(y.getFloat(t, i + dims / 2) - Math.sin(reduced));
                            if (Math.max(cosError, sinError) > worst) {
                                worst = Math.max(cosError, sinError);
                                where = "position " + (first + t) + ", pair " + i;
                            }
                        }
                    }
                }
                assertTrue(worst <= BOUND, backendName + ", scale " + scale + ": |error| " + worst + " at " + where
                        + " exceeds " + BOUND);
            }
        }
    }

    /** Returns {@code theta} modulo 2 pi, in [-pi, pi], as a double. */
    private static double reduce(BigDecimal theta) {
        BigDecimal turns = theta.divide(TWO_PI, DIGITS).setScale(0, RoundingMode.HALF_EVEN);
        return theta.subtract(turns.multiply(TWO_PI, DIGITS), DIGITS).doubleValue();
    }
}
