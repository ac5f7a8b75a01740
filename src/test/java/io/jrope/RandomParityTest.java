package io.jrope;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;

/**
 * Random calls ({@link RandomRopeCase}) on every backend: each non-java backend against the java
 * reference, and the java reference against the float64 evaluation, so the suite checks something
 * even where java is the only backend.
 *
 * <p>Besides the values, each case checks that features {@code dims..D-1} keep their bits and that
 * nothing outside the output view changes. Outputs start filled with NaN.
 */
class RandomParityTest {
    private static final int CASES = 1000;

    @Test
    void javaMatchesFloat64() {
        Backend java = BackendsUnderTest.open("java");
        long seed = TestSeeds.next();
        SplittableRandom seeds = new SplittableRandom(seed);
        for (int i = 0; i < CASES; i++) {
            RandomRopeCase drawn = RandomRopeCase.draw(seeds.nextLong());
            String context = "java, case " + i + " of " + CASES + ", " + TestSeeds.describe(seed) + ", " + drawn;
            try (Arena arena = Arena.ofConfined()) {
                RandomRopeCase.Tensors tensors = drawn.materialize(arena);
                Tensor input = TestTensors.copy(arena, tensors.x());
                byte[] outBufferBefore = TestTensors.bytes(tensors.outBuffer().segment());

                drawn.run(java, tensors);

                double[] expected = Float64Rope.of(drawn.rope(java)).apply(input, drawn::positionOf);
                Accuracy.assertCloseToFloat64(tensors.out(), expected, TestTensors.maxAbs(input),
                        drawn.attentionFactor, context);
                assertCommonChecks(drawn, tensors, input, outBufferBefore, context);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jrope.BackendsUnderTest#othersThanJava")
    void backendMatchesJava(String name) {
        Backend backend = BackendsUnderTest.open(name);
        Backend java = Backend.java();
        long seed = TestSeeds.next();
        SplittableRandom seeds = new SplittableRandom(seed);
        for (int i = 0; i < CASES; i++) {
            RandomRopeCase drawn = RandomRopeCase.draw(seeds.nextLong());
            String context = name + ", case " + i + " of " + CASES + ", " + TestSeeds.describe(seed) + ", " + drawn;
            try (Arena arena = Arena.ofConfined()) {
                RandomRopeCase.Tensors tested = drawn.materialize(arena);
                RandomRopeCase.Tensors reference = drawn.materialize(arena);
                Tensor input = TestTensors.copy(arena, tested.x());
                byte[] outBufferBefore = TestTensors.bytes(tested.outBuffer().segment());

                drawn.run(backend, tested);
                drawn.run(java, reference);

                Accuracy.assertCloseToReference(tested.out(), reference.out(), TestTensors.maxAbs(input),
                        drawn.attentionFactor, context);
                assertCommonChecks(drawn, tested, input, outBufferBefore, context);
            }
        }
    }

    /** Checks that the features past {@code dims} kept their bits and that only the output view changed. */
    private static void assertCommonChecks(RandomRopeCase drawn, RandomRopeCase.Tensors tensors, Tensor input,
                                           byte[] outBufferBefore, String context) {
        long features = drawn.shape[drawn.shape.length - 1];
        TestTensors.assertSameBits(input.slice(-1, drawn.dims, features), tensors.out().slice(-1, drawn.dims, features),
                context + ", features dims..D-1");
        TestTensors.assertOnlyViewWritten(tensors.outBuffer().segment(), outBufferBefore, tensors.out(),
                context + ", output buffer");
    }
}
