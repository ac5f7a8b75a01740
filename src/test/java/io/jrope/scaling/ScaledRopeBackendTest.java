package io.jrope.scaling;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.RopeScaling;
import io.jrope.Tensor;
import io.jrope.golden.Accuracy;
import io.jrope.golden.Float64Rope;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every scaling preset on every backend, compared with a float64 evaluation of the scaled formula. */
class ScaledRopeBackendTest {

    static Stream<Arguments> presets() {
        double[] shortFactor = new double[32];
        double[] longFactor = new double[32];
        for (int i = 0; i < 32; i++) {
            shortFactor[i] = 1 + i * 0.01;
            longFactor[i] = 1 + i * 0.9;
        }
        Stream<RopeScaling> scalings = Stream.of(
                RopeScaling.linear(4),
                RopeScaling.dynamic(4, 2048),
                RopeScaling.yarn(32, 4096).withTruncate(false),
                RopeScaling.yarn(40, 4096).withMscale(1.0, 0.707),
                RopeScaling.llama3(8, 1, 4, 8192),
                new RopeScaling.LongRope(shortFactor, longFactor, 4096, 131072,
                        RopeScaling.LongRope.Policy.SWITCH_BY_LENGTH, Double.NaN));
        return scalings.flatMap(scaling -> Backend.names().stream().map(name -> Arguments.of(name, scaling)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("presets")
    void presetMatchesFloat64(String backendName, RopeScaling scaling) {
        Backend backend = Backend.named(backendName);
        Assumptions.assumeTrue(backend.isAvailable(), () -> backendName + " unavailable: " + backend.unavailableReason().orElse(""));
        long seed = new SplittableRandom().nextLong();
        SplittableRandom random = new SplittableRandom(seed);

        int tokens = 12;
        float[] values = new float[2 * 3 * tokens * 64];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        Rope rope = Rope.of(64).withBase(500000).withScaling(scaling).forSequenceLength(10000)
                .withBackend(backend);
        Positions positions = Positions.offsets(9990 - tokens, 70000);

        for (DType dtype : DType.values()) {
            try (Tensor x = Tensor.copyOf(values, dtype, 2, 3, tokens, 64);
                 Tensor y = rope.apply(x, positions)) {
                double[] exact = Float64Rope.evaluate(rope, x, positions);
                Accuracy accuracy = Accuracy.measure(y, exact, Accuracy.maxAbs(x));
                assertTrue(accuracy.meetsTarget(), dtype + " " + accuracy + " (seed " + seed + ", frequencies "
                        + Arrays.toString(rope.inverseFrequencies()) + ")");
            }
        }
    }
}
