package io.jrope;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.LongBinaryOperator;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Properties of RoPE that hold on every backend, checked on fresh random inputs.
 *
 * <p>Each test draws a seed (see {@link TestSeeds}) and names it in every failure message. Outputs
 * are filled with NaN before each out-of-place call, so an element that a backend leaves unwritten
 * fails the comparison.
 */
class PropertyTest {
    private static final String BACKENDS = "io.jrope.BackendsUnderTest#names";
    private static final double FLOAT32_EPSILON = Math.scalb(1.0, -24);
    /** Rounds of fresh random parameters per test and dtype. */
    private static final int ROUNDS = 10;
    /** Every dtype, {@value #ROUNDS} times. */
    private static final List<DType> DTYPE_ROUNDS = Collections.nCopies(ROUNDS, List.of(DType.values())).stream()
            .flatMap(List::stream).toList();

    // ---- identity, norms, relative positions, inverse ------------------------------------------

    /**
     * Checks that position 0 returns every value unchanged. Values are compared, not bits, because
     * u*1 - v*0 turns -0 into +0 when v is negative.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void positionZeroIsIdentity(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long tokens = 1 + random.nextInt(6);
                long features = 2 + random.nextInt(40);
                Tensor x = TestTensors.random(arena, random, dtype, 2, 3, tokens, features);
                Rope rope = randomRope(random, randomDims(random, features), backend)
                        .withScale(randomScale(random)).withInverse(random.nextBoolean());
                String context = context(name, dtype, rope, seed);

                Tensor atZero = apply(arena, rope, x, Positions.ofTokens(new long[(int) tokens]));
                TestTensors.assertSameValues(x, atZero, context + ", every token at position 0");

                Tensor firstToken = x.slice(-2, 0, 1);
                Tensor fromOffsetZero = apply(arena, rope, firstToken, Positions.offset(0));
                TestTensors.assertSameValues(firstToken, fromOffsetZero, context + ", token 0 from offset 0");
            }
        }
    }

    /**
     * Checks that the rotation keeps the norm of every pair. Tolerance: 6 ulp of the pair's norm.
     * Each rotated component is within 3 float32 roundings (cos or sin, product, sum) of its exact
     * value, which is at most 3 * 2^-24 * norm. So the norm moves by at most 4.3 * 2^-24 * norm, and
     * the rest is room for a cos or sin one ulp off.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void pairNormsArePreserved(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (int round = 0; round < ROUNDS; round++) {
            assertPairNormsPreserved(name, backend, seed, random);
        }
    }

    private static void assertPairNormsPreserved(String name, Backend backend, long seed, Random random) {
        try (Arena arena = Arena.ofConfined()) {
            long features = 2 + random.nextInt(100);
            int dims = randomDims(random, features);
            Tensor x = TestTensors.random(arena, random, DType.FLOAT32, 2, 3, 5, features);
            Rope rope = randomRope(random, dims, backend);
            long offset = random.nextInt(200_000) - 100_000;
            String context = context(name, DType.FLOAT32, rope, seed) + ", offset " + offset;

            float[] before = x.toFloatArray();
            float[] after = apply(arena, rope, x, Positions.offset(offset)).toFloatArray();
            int[][] pairs = pairs(dims, rope.traditional());
            for (int row = 0; row < before.length / features; row++) {
                for (int[] pair : pairs) {
                    int first = (int) (row * features) + pair[0];
                    int second = (int) (row * features) + pair[1];
                    double norm = Math.hypot(before[first], before[second]);
                    double rotatedNorm = Math.hypot(after[first], after[second]);
                    double tolerance = 6 * Math.ulp((float) norm);
                    if (!(Math.abs(rotatedNorm - norm) <= tolerance)) {
                        fail(context + ": row " + row + ", pair " + Arrays.toString(pair) + " has norm " + rotatedNorm
                                + " after rotation, " + norm + " before; allowed difference " + tolerance);
                    }
                }
            }
        }
    }

    /**
     * Checks that the dot product of q rotated to position m and k rotated to n depends only on m - n.
     * Tolerance: 24 * 2^-24 * |q| * |k|. Each pair of a rotated vector is off by at most 4.3 * 2^-24
     * times its norm, so each dot product is off by at most 8.6 * 2^-24 * |q| * |k| and the two compared
     * ones differ by at most twice that. The rest is room for a cos or sin one ulp off.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void dotProductDependsOnlyOnDistance(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (int round = 0; round < ROUNDS; round++) {
            assertDotProductShiftInvariant(name, backend, seed, random);
        }
    }

    private static void assertDotProductShiftInvariant(String name, Backend backend, long seed, Random random) {
        try (Arena arena = Arena.ofConfined()) {
            long features = 2 + random.nextInt(128);
            Rope rope = randomRope(random, randomDims(random, features), backend);
            for (int trial = 0; trial < 20; trial++) {
                Tensor q = TestTensors.random(arena, random, DType.FLOAT32, 1, 4, 1, features);
                Tensor k = TestTensors.random(arena, random, DType.FLOAT32, 1, 4, 1, features);
                long m = random.nextInt(20_001) - 10_000;
                long n = random.nextInt(20_001) - 10_000;
                long shift = random.nextInt(20_001) - 10_000;
                String context = context(name, DType.FLOAT32, rope, seed) + ", m " + m + ", n " + n + ", shift " + shift;

                double[] near = headDots(apply(arena, rope, q, Positions.offset(m)), apply(arena, rope, k, Positions.offset(n)));
                double[] far = headDots(apply(arena, rope, q, Positions.offset(m + shift)),
                        apply(arena, rope, k, Positions.offset(n + shift)));
                double[] qNorms = headNorms(q);
                double[] kNorms = headNorms(k);
                for (int head = 0; head < near.length; head++) {
                    double tolerance = 24 * FLOAT32_EPSILON * qNorms[head] * kNorms[head];
                    if (!(Math.abs(near[head] - far[head]) <= tolerance)) {
                        fail(context + ": head " + head + " has q.k = " + near[head] + " at (m, n) and " + far[head]
                                + " at (m + shift, n + shift); allowed difference " + tolerance);
                    }
                }
            }
        }
    }

    /**
     * Checks that rotating back at the same positions restores the input. Tolerance: 2 ulp of the
     * dtype at 2 max|x| (float32: 8 ulp), since the rotated tensor is rounded once to the dtype and
     * the inverse mixes two such rounded values before rounding again.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void inverseUndoesApply(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long features = 2 + random.nextInt(64);
                Tensor x = TestTensors.random(arena, random, dtype, 3, 2, 7, features);
                Rope rope = randomRope(random, randomDims(random, features), backend).withScale(randomScale(random));
                Positions positions = Positions.offsets(randomLongs(random, 3, -100_000, 100_000));
                String context = context(name, dtype, rope, seed) + ", " + positions;

                Tensor rotated = apply(arena, rope, x, positions);
                Tensor restored = apply(arena, rope.inverse(), rotated, positions);

                double maxAbs = TestTensors.maxAbs(x);
                double tolerance = dtype == DType.FLOAT32
                        ? 8 * Math.ulp((float) (2 * maxAbs))
                        : 2 * ExactRounding.ulp(2 * maxAbs, dtype);
                float[] want = x.toFloatArray();
                float[] got = restored.toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    if (!(Math.abs(got[i] - want[i]) <= tolerance)) {
                        fail(context + ": element " + TestTensors.indexText(i, x.shape()) + " is " + got[i]
                                + " after apply and inverse, input " + want[i] + "; allowed difference " + tolerance);
                    }
                }
            }
        }
    }

    // ---- bit-for-bit equivalences ------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void prefillEqualsSingleTokenSteps(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                int tokens = 2 + random.nextInt(12);
                long features = 2 + random.nextInt(64);
                Tensor x = TestTensors.random(arena, random, dtype, 2, 3, tokens, features);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                String context = context(name, dtype, rope, seed);

                Tensor prefill = apply(arena, rope, x, Positions.offset(0));
                for (int t = 0; t < tokens; t++) {
                    Tensor step = apply(arena, rope, x.slice(-2, t, t + 1), Positions.offset(t));
                    TestTensors.assertSameBits(prefill.slice(-2, t, t + 1), step, context + ", step " + t);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void inPlaceEqualsOutOfPlace(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long features = 2 + random.nextInt(64);
                Tensor x = TestTensors.random(arena, random, dtype, 2, 3, 1 + random.nextInt(9), features);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                Positions positions = Positions.offsets(randomLongs(random, 2, -50_000, 50_000));
                String context = context(name, dtype, rope, seed) + ", " + positions;
                Tensor outOfPlace = apply(arena, rope, x, positions);

                Tensor inPlace = TestTensors.copy(arena, x);
                rope.applyInPlace(inPlace, positions);
                TestTensors.assertSameBits(outOfPlace, inPlace, context + ", applyInPlace");

                Tensor outIsX = TestTensors.copy(arena, x);
                rope.apply(outIsX, positions, outIsX);
                TestTensors.assertSameBits(outOfPlace, outIsX, context + ", apply with out == x");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void transposedViewEqualsContiguousCopy(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long features = 2 + random.nextInt(64);
                Tensor buffer = TestTensors.random(arena, random, dtype, 2, 1 + random.nextInt(9), 3, features);
                Tensor view = buffer.transpose(1, 2);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                assertViewMatchesCopy(arena, rope, view, random, context(name, dtype, rope, seed) + ", (B, T, H, D) transposed");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void slicedFeaturesEqualContiguousCopy(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long features = 2 + random.nextInt(64);
                long start = random.nextInt(5);
                long padded = start + features + random.nextInt(5);
                Tensor buffer = TestTensors.random(arena, random, dtype, 2, 3, 1 + random.nextInt(9), padded);
                Tensor view = buffer.slice(-1, start, start + features);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                assertViewMatchesCopy(arena, rope, view, random,
                        context(name, dtype, rope, seed) + ", features [" + start + ", " + (start + features) + ") of " + padded);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void permuted5dViewEqualsContiguousCopy(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        // From a (B, T, G, H, D) buffer: (B, G, H, T, D) keeps the head axes nested, so they can merge;
        // (B, H, G, T, D) does not, so a backend has to walk them as separate blocks.
        int[][] orders = {{0, 2, 3, 1, 4}, {0, 3, 2, 1, 4}, {2, 0, 3, 1, 4}};
        for (DType dtype : DTYPE_ROUNDS) {
            for (int[] order : orders) {
                try (Arena arena = Arena.ofConfined()) {
                    long features = 2 + random.nextInt(48);
                    Tensor buffer = TestTensors.random(arena, random, dtype,
                            2, 1 + random.nextInt(6), 2 + random.nextInt(2), 2 + random.nextInt(3), features);
                    Tensor view = buffer.permute(order);
                    Rope rope = randomRope(random, randomDims(random, features), backend);
                    assertViewMatchesCopy(arena, rope, view, random,
                            context(name, dtype, rope, seed) + ", (B, T, G, H, D) permuted " + Arrays.toString(order));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void broadcastInputEqualsContiguousCopy(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long tokens = 1 + random.nextInt(8);
                long features = 2 + random.nextInt(64);
                Tensor single = TestTensors.random(arena, random, dtype, 2, tokens, features);
                Tensor broadcast = Tensor.wrap(single.segment(), dtype, new long[] {2, 4, tokens, features},
                        new long[] {tokens * features, 0, features, 1}, 0);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                String context = context(name, dtype, rope, seed) + ", head axis with stride 0";
                Positions positions = Positions.offsets(randomLongs(random, 2, -1000, 1000));

                Tensor fromBroadcast = apply(arena, rope, broadcast, positions);
                Tensor fromCopy = apply(arena, rope, TestTensors.copy(arena, broadcast), positions);
                TestTensors.assertSameBits(fromCopy, fromBroadcast, context);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void stridedOutputEqualsContiguousOutput(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long tokens = 1 + random.nextInt(8);
                long features = 2 + random.nextInt(64);
                long pad = 1 + random.nextInt(4);
                Tensor x = TestTensors.random(arena, random, dtype, 2, 3, tokens, features);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                Positions positions = Positions.offset(random.nextInt(10_000));
                String context = context(name, dtype, rope, seed) + ", out a padded (B, T, H, D) buffer transposed";

                Tensor buffer = TestTensors.poisoned(arena, dtype, 2, tokens, 3, features + pad);
                Tensor out = buffer.slice(-1, pad, pad + features).transpose(1, 2);
                byte[] before = TestTensors.bytes(buffer.segment());
                rope.apply(x, positions, out);

                TestTensors.assertSameBits(apply(arena, rope, x, positions), out, context);
                TestTensors.assertOnlyViewWritten(buffer.segment(), before, out, context);
            }
        }
    }

    // ---- batches and positions against float64 ----------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void singleTokenRotatesEveryBatchRow(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                int batch = 2 + random.nextInt(5);
                long features = 2 + random.nextInt(128);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                long[] offsets = randomLongs(random, batch, 1, 100_000);
                long offset = 1 + random.nextInt(100_000);
                String context = context(name, dtype, rope, seed) + ", T = 1, B = " + batch;

                Tensor heads = TestTensors.random(arena, random, dtype, batch, 3, 1, features);
                assertMatchesFloat64(arena, rope, heads, Positions.offsets(offsets), (b, t) -> offsets[(int) b] + t,
                        context + ", (B, H, 1, D), offsets " + Arrays.toString(offsets));

                Tensor rows = TestTensors.random(arena, random, dtype, batch, 1, features);
                assertMatchesFloat64(arena, rope, rows, Positions.offsets(offsets), (b, t) -> offsets[(int) b] + t,
                        context + ", (B, 1, D), offsets " + Arrays.toString(offsets));
                assertMatchesFloat64(arena, rope, rows, Positions.offset(offset), (b, t) -> offset + t,
                        context + ", (B, 1, D), offset " + offset);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void negativePositionsMatchFloat64(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                int tokens = 1 + random.nextInt(8);
                long features = 2 + random.nextInt(128);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                Tensor x = TestTensors.random(arena, random, dtype, 3, 2, tokens, features);
                String context = context(name, dtype, rope, seed);

                long offset = -1 - random.nextInt(1_000_000);
                assertMatchesFloat64(arena, rope, x, Positions.offset(offset), (b, t) -> offset + t,
                        context + ", offset " + offset);

                long[] offsets = randomLongs(random, 3, -1_000_000, -tokens);
                assertMatchesFloat64(arena, rope, x, Positions.offsets(offsets), (b, t) -> offsets[(int) b] + t,
                        context + ", offsets " + Arrays.toString(offsets));

                long[][] explicit = new long[3][];
                for (int b = 0; b < 3; b++) {
                    explicit[b] = randomLongs(random, tokens, -(1L << 31), -1);
                }
                assertMatchesFloat64(arena, rope, x, Positions.ofTokens(explicit), (b, t) -> explicit[(int) b][(int) t],
                        context + ", positions " + Arrays.deepToString(explicit));
            }
        }
    }

    /**
     * Positions up to 2^31 - 1, where an angle computed in float32 is off by whole radians: the
     * output must still meet the float64 accuracy target. Uses base 10000 as well as random
     * parameters, since its first pair turns by one radian per position.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void largePositionsMatchFloat64(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        long maxPosition = Integer.MAX_VALUE;
        for (DType dtype : DTYPE_ROUNDS) {
            for (Rope rope : new Rope[] {Rope.of(128).withBackend(backend), randomRope(random, 64, backend)}) {
                try (Arena arena = Arena.ofConfined()) {
                    int tokens = 1 + random.nextInt(8);
                    Tensor x = TestTensors.random(arena, random, dtype, 2, 2, tokens, 128);
                    String context = context(name, dtype, rope, seed);

                    long lowest = 1L << 20;
                    assertMatchesFloat64(arena, rope, x, Positions.offset(lowest), (b, t) -> lowest + t,
                            context + ", offset 2^20");

                    long highest = maxPosition - (tokens - 1);
                    assertMatchesFloat64(arena, rope, x, Positions.offset(highest), (b, t) -> highest + t,
                            context + ", offset 2^31 - T");

                    Tensor last = x.slice(-2, 0, 1);
                    assertMatchesFloat64(arena, rope, last, Positions.offset(maxPosition), (b, t) -> maxPosition + t,
                            context + ", one token at 2^31 - 1");

                    long[] perToken = randomLongs(random, tokens, 0, maxPosition);
                    assertMatchesFloat64(arena, rope, x, Positions.ofTokens(perToken), (b, t) -> perToken[(int) t],
                            context + ", positions " + Arrays.toString(perToken));
                }
            }
        }
    }

    // ---- parameters ----------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void partialDimsKeepsTailBits(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long features = 4 + random.nextInt(100);
                int dims = 2 * (1 + random.nextInt((int) (features - 1) / 2));
                Tensor x = TestTensors.random(arena, random, dtype, 2, 3, 1 + random.nextInt(9), features);
                Rope rope = randomRope(random, dims, backend);
                long offset = random.nextInt(100_000);
                String context = context(name, dtype, rope, seed) + ", D " + features + ", offset " + offset;

                Tensor outOfPlace = apply(arena, rope, x, Positions.offset(offset));
                TestTensors.assertSameBits(x.slice(-1, dims, features), outOfPlace.slice(-1, dims, features),
                        context + ", features dims..D-1 out of place");

                Tensor inPlace = TestTensors.copy(arena, x);
                rope.applyInPlace(inPlace, offset);
                TestTensors.assertSameBits(x.slice(-1, dims, features), inPlace.slice(-1, dims, features),
                        context + ", features dims..D-1 in place");

                assertMatchesFloat64(arena, rope, x, Positions.offset(offset), (b, t) -> offset + t, context);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void infinitePeriodKeepsPair(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                int dims = 2 * (2 + random.nextInt(32));
                boolean traditional = random.nextBoolean();
                float[] periods = randomPeriods(random, dims / 2);
                int still = random.nextInt(dims / 2);
                periods[still] = Float.POSITIVE_INFINITY;
                Rope rope = Rope.of(dims).withTraditional(traditional).withFreqs(periods).withBackend(backend);
                Tensor x = TestTensors.random(arena, random, dtype, 2, 3, 4, dims);
                long offset = random.nextInt(1_000_000);
                String context = context(name, dtype, rope, seed) + ", pair " + still + " has period +Infinity";

                Tensor out = apply(arena, rope, x, Positions.offset(offset));
                int[] pair = pairs(dims, traditional)[still];
                for (int feature : pair) {
                    TestTensors.assertSameValues(x.slice(-1, feature, feature + 1), out.slice(-1, feature, feature + 1),
                            context + ", feature " + feature);
                }
                assertMatchesFloat64(arena, rope, x, Positions.offset(offset), (b, t) -> offset + t, context);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void explicitPositionsEqualOffsets(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                int batch = 1 + random.nextInt(4);
                int tokens = 1 + random.nextInt(9);
                long features = 2 + random.nextInt(64);
                Tensor x = TestTensors.random(arena, random, dtype, batch, 2, tokens, features);
                Rope rope = randomRope(random, randomDims(random, features), backend);
                String context = context(name, dtype, rope, seed);

                long offset = random.nextInt(2_000_000) - 1_000_000;
                long[] sequence = new long[tokens];
                for (int t = 0; t < tokens; t++) {
                    sequence[t] = offset + t;
                }
                TestTensors.assertSameBits(apply(arena, rope, x, Positions.offset(offset)),
                        apply(arena, rope, x, Positions.ofTokens(sequence)),
                        context + ", positions (T) against offset " + offset);

                long[] offsets = randomLongs(random, batch, -1_000_000, 1_000_000);
                long[][] rows = new long[batch][tokens];
                for (int b = 0; b < batch; b++) {
                    for (int t = 0; t < tokens; t++) {
                        rows[b][t] = offsets[b] + t;
                    }
                }
                TestTensors.assertSameBits(apply(arena, rope, x, Positions.offsets(offsets)),
                        apply(arena, rope, x, Positions.ofTokens(rows)),
                        context + ", positions (B, T) against offsets " + Arrays.toString(offsets));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void attentionFactorScalesOutput(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                long features = 2 + random.nextInt(64);
                double factor = 0.25 + 3.75 * random.nextDouble();
                Rope rope = randomRope(random, randomDims(random, features), backend).withAttentionFactor(factor);
                Tensor x = TestTensors.random(arena, random, dtype, 2, 3, 1 + random.nextInt(6), features);
                long offset = random.nextInt(100_000);
                String context = context(name, dtype, rope, seed) + ", offset " + offset;

                assertMatchesFloat64(arena, rope, x, Positions.offset(offset), (b, t) -> offset + t, context);
            }
        }
    }

    /**
     * Checks the single rounding at the store, bit for bit. At position 0, cos is the attention factor
     * m and sin is 0, so each output is u*m. With m of few significant bits that product is exact in
     * float32, and the stored value must be exactly u*m rounded to nearest even. Factors such as
     * 1.5 make about half of the products fall on a tie, and the random bit patterns of x include
     * subnormals and values that overflow once scaled.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void storeRoundsOnceToNearestEven(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        double[] factors = {1.5, 1.25, 1.75, 0.75, 3.0, 1 + Math.scalb(1.0, -10), 1 - Math.scalb(1.0, -12)};
        for (DType dtype : DTYPE_ROUNDS) {
            try (Arena arena = Arena.ofConfined()) {
                int tokens = 1 + random.nextInt(4);
                long features = 2 + random.nextInt(70);
                double factor = factors[random.nextInt(factors.length)];
                Rope rope = randomRope(random, randomDims(random, features), backend).withAttentionFactor(factor);
                Tensor x = randomBitPatterns(arena, random, dtype, 2, 3, tokens, features);
                String context = context(name, dtype, rope, seed) + ", every token at position 0";

                float[] input = x.toFloatArray();
                float[] output = apply(arena, rope, x, Positions.ofTokens(new long[tokens])).toFloatArray();
                int dims = rope.dims();
                for (int i = 0; i < input.length; i++) {
                    boolean rotated = i % features < dims;
                    double expected = rotated ? ExactRounding.round((double) input[i] * factor, dtype) : input[i];
                    if (!(output[i] == expected)) {
                        fail(context + ": element " + TestTensors.indexText(i, x.shape()) + " is " + output[i]
                                + ", expected " + input[i] + " * " + factor + " rounded once to " + dtype + " = " + expected);
                    }
                }
            }
        }
    }

    /** Empty views of a filled buffer: the call succeeds and writes nothing anywhere in the buffer. */
    @ParameterizedTest(name = "{0}")
    @MethodSource(BACKENDS)
    void emptyTensorsAreAccepted(String name) {
        Backend backend = BackendsUnderTest.open(name);
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DTYPE_ROUNDS) {
            for (int emptyAxis = 0; emptyAxis < 3; emptyAxis++) {
                try (Arena arena = Arena.ofConfined()) {
                    Tensor xBuffer = TestTensors.random(arena, random, dtype, 2, 3, 4, 8);
                    Tensor outBuffer = TestTensors.poisoned(arena, dtype, 2, 3, 4, 8);
                    Tensor x = xBuffer.slice(emptyAxis, 1, 1);
                    Tensor out = outBuffer.slice(emptyAxis, 1, 1);
                    Rope rope = randomRope(random, 8, backend);
                    String context = context(name, dtype, rope, seed) + ", shape " + Arrays.toString(x.shape());
                    byte[] xBefore = TestTensors.bytes(xBuffer.segment());
                    byte[] outBefore = TestTensors.bytes(outBuffer.segment());
                    Positions positions = emptyAxis == 2 ? Positions.ofTokens() : Positions.offset(7);

                    assertDoesNotThrow(() -> rope.apply(x, positions, out), context + ", out of place");
                    assertDoesNotThrow(() -> rope.applyInPlace(x, positions), context + ", in place");
                    assertDoesNotThrow(() -> rope.apply(x, positions).close(), context + ", returning a new tensor");

                    TestTensors.assertOnlyViewWritten(xBuffer.segment(), xBefore, x, context + ", x buffer");
                    TestTensors.assertOnlyViewWritten(outBuffer.segment(), outBefore, out, context + ", out buffer");
                }
            }
        }
    }

    // ---- helpers -----------------------------------------------------------------------------

    /** Applies {@code rope} to {@code x} into a new NaN-filled output in {@code arena}. */
    static Tensor apply(Arena arena, Rope rope, Tensor x, Positions positions) {
        Tensor out = TestTensors.poisoned(arena, x.dtype(), x.shape());
        rope.apply(x, positions, out);
        return out;
    }

    /** Applies {@code rope} out of place and checks the result against {@link Float64Rope}. */
    private static void assertMatchesFloat64(Arena arena, Rope rope, Tensor x, Positions positions,
                                             LongBinaryOperator position, String context) {
        Tensor out = apply(arena, rope, x, positions);
        double[] expected = Float64Rope.of(rope).apply(x, position);
        Accuracy.assertCloseToFloat64(out, expected, TestTensors.maxAbs(x), rope.attentionFactor(), context);
    }

    /**
     * Checks that {@code rope} gives the same bits on {@code view} as on its contiguous copy, out of
     * place and in place, and that in place writes nothing outside the view.
     */
    private static void assertViewMatchesCopy(Arena arena, Rope rope, Tensor view, Random random, String context) {
        long batch = view.shape(0);
        Positions positions = Positions.offsets(randomLongs(random, (int) batch, -100_000, 100_000));
        Tensor copy = TestTensors.copy(arena, view);
        Tensor expected = apply(arena, rope, copy, positions);

        TestTensors.assertSameBits(expected, apply(arena, rope, view, positions), context + ", out of place");

        byte[] before = TestTensors.bytes(view.segment());
        rope.applyInPlace(view, positions);
        TestTensors.assertSameBits(expected, view, context + ", in place");
        TestTensors.assertOnlyViewWritten(view.segment(), before, view, context + ", in place");
    }

    /** Returns a tensor of uniformly random finite bit patterns of {@code dtype}, so every binade appears. */
    private static Tensor randomBitPatterns(Arena arena, Random random, DType dtype, long... shape) {
        Tensor tensor = Tensor.allocate(arena, dtype, shape);
        int size = dtype.byteSize();
        for (long offset = 0; offset < tensor.elementCount(); offset++) {
            float value;
            do {
                int bits = random.nextInt();
                value = dtype == DType.FLOAT32 ? Float.intBitsToFloat(bits)
                        : dtype.load(MemorySegment.ofArray(new short[] {(short) bits}), 0);
            } while (!Float.isFinite(value));
            dtype.store(tensor.segment(), offset * size, value);
        }
        return tensor;
    }

    static Rope randomRope(Random random, int dims, Backend backend) {
        Rope rope = Rope.of(dims)
                .withTraditional(random.nextBoolean())
                .withBackend(backend.withThreads(random.nextInt(4)));
        if (random.nextBoolean()) {
            return rope.withBase(Math.exp(Math.log(2) + random.nextDouble() * Math.log(1e6 / 2)));
        }
        return rope.withFreqs(randomPeriods(random, dims / 2));
    }

    /** Periods log-uniform in [1, 1e5], about one in ten +Infinity. */
    static float[] randomPeriods(Random random, int count) {
        float[] periods = new float[count];
        for (int i = 0; i < count; i++) {
            periods[i] = random.nextInt(10) == 0 ? Float.POSITIVE_INFINITY
                    : (float) Math.exp(random.nextDouble() * Math.log(1e5));
        }
        return periods;
    }

    /** Returns a random even dims in [2, features], or 2 when features is below 4. */
    static int randomDims(Random random, long features) {
        return 2 * (1 + random.nextInt((int) Math.max(features / 2, 1)));
    }

    private static double randomScale(Random random) {
        return random.nextBoolean() ? 1.0 : 4 * random.nextDouble() - 2;
    }

    static long[] randomLongs(Random random, int count, long min, long max) {
        long[] values = new long[count];
        for (int i = 0; i < count; i++) {
            values[i] = random.nextLong(min, max + 1);
        }
        return values;
    }

    /** Feature indices of each pair: {@code (i, i + dims/2)}, or {@code (2i, 2i+1)} if traditional. */
    static int[][] pairs(int dims, boolean traditional) {
        int[][] pairs = new int[dims / 2][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = traditional ? new int[] {2 * i, 2 * i + 1} : new int[] {i, i + dims / 2};
        }
        return pairs;
    }

    private static double[] headDots(Tensor q, Tensor k) {
        float[] a = q.toFloatArray();
        float[] b = k.toFloatArray();
        int features = (int) q.shape(-1);
        double[] dots = new double[a.length / features];
        for (int i = 0; i < a.length; i++) {
            dots[i / features] += (double) a[i] * b[i];
        }
        return dots;
    }

    private static double[] headNorms(Tensor x) {
        float[] values = x.toFloatArray();
        int features = (int) x.shape(-1);
        double[] norms = new double[values.length / features];
        for (int i = 0; i < values.length; i++) {
            norms[i / features] += (double) values[i] * values[i];
        }
        for (int i = 0; i < norms.length; i++) {
            norms[i] = Math.sqrt(norms[i]);
        }
        return norms;
    }

    private static String context(String backend, DType dtype, Rope rope, long seed) {
        return backend + ", " + dtype + ", " + rope + ", " + TestSeeds.describe(seed);
    }
}
