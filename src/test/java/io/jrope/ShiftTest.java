package io.jrope;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Rope#shiftInPlace}: keys cached at positions p, moved by delta, equal keys rotated at p + delta. */
class ShiftTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jrope.BackendsUnderTest#names")
    void shiftEqualsRotationAtShiftedPositions(String backendName) {
        Backend backend = BackendsUnderTest.open(backendName);
        long seed = TestSeeds.next();
        Random random = new Random(seed);

        for (double factor : new double[] {1.0, 1.35}) {
            for (long delta : new long[] {37, -500, 1 << 20}) {
                Rope rope = Rope.of(64).withBase(500000).withAttentionFactor(factor).withBackend(backend);
                try (Arena arena = Arena.ofConfined()) {
                    Tensor keys = TestTensors.random(arena, random, DType.FLOAT32, 2, 4, 9, 64);
                    Tensor cached = TestTensors.copy(arena, keys);
                    rope.applyInPlace(cached, Positions.offset(100));

                    rope.shiftInPlace(cached, delta);

                    try (Tensor direct = rope.apply(keys, Positions.offset(100 + delta))) {
                        float[] expected = direct.toFloatArray();
                        float[] actual = cached.toFloatArray();
                        double maxAbs = 0;
                        double worst = 0;
                        for (int i = 0; i < expected.length; i++) {
                            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
                            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                        }
                        // Two roundings of cos/sin and of the rotation, instead of one: a few float32 ulps.
                        double bound = 8 * Math.ulp((float) maxAbs);
                        assertTrue(worst <= bound, "factor " + factor + ", delta " + delta + ": max |shifted - direct| "
                                + worst + " exceeds " + bound + " (" + TestSeeds.describe(seed) + ")");
                    }
                }
            }
        }
    }
}
