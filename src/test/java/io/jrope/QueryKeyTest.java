package io.jrope;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Rope#applyInPlace(Tensor, Tensor, Positions)}: q and k in one call, as attention uses it. */
class QueryKeyTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jrope.BackendsUnderTest#names")
    void pairEqualsSeparateCalls(String backendName) {
        Backend backend = BackendsUnderTest.open(backendName);
        long seed = TestSeeds.next();
        Random random = new Random(seed);

        for (DType dtype : DType.values()) {
            for (boolean traditional : new boolean[] {false, true}) {
                Rope rope = Rope.of(48).withTraditional(traditional).withBase(500000).withBackend(backend);
                Positions positions = Positions.offsets(3, 1 << 30);
                try (Arena arena = Arena.ofConfined()) {
                    // (B, T, H, D) buffers seen as (B, H, T, D), with 8 query heads sharing 2 key heads.
                    Tensor q = TestTensors.random(arena, random, dtype, 2, 5, 8, 64).transpose(1, 2);
                    Tensor k = TestTensors.random(arena, random, dtype, 2, 5, 2, 64).transpose(1, 2);
                    Tensor qAlone = TestTensors.copy(arena, q);
                    Tensor kAlone = TestTensors.copy(arena, k);

                    rope.applyInPlace(q, k, positions);
                    rope.applyInPlace(qAlone, positions);
                    rope.applyInPlace(kAlone, positions);

                    String where = dtype + ", traditional=" + traditional + ", " + TestSeeds.describe(seed);
                    assertArrayEquals(TestTensors.bits(qAlone), TestTensors.bits(q), "q, " + where);
                    assertArrayEquals(TestTensors.bits(kAlone), TestTensors.bits(k), "k, " + where);
                }
            }
        }
    }

    @Test
    void mismatchedTokensRejected() {
        assertRejected(new long[] {1, 8, 4, 64}, new long[] {1, 2, 5, 64}, DType.FLOAT32, "tokens T");
    }

    @Test
    void mismatchedHeadSizeRejected() {
        assertRejected(new long[] {1, 8, 4, 64}, new long[] {1, 2, 4, 32}, DType.FLOAT32, "head size D");
    }

    @Test
    void mismatchedDtypeRejected() {
        assertRejected(new long[] {1, 8, 4, 64}, new long[] {1, 2, 4, 64}, DType.FLOAT16, "same dtype");
    }

    @Test
    void sharedMemoryRejected() {
        Rope rope = Rope.of(16).withBackend(Backend.java());
        try (Tensor both = Tensor.allocate(DType.FLOAT32, 1, 4, 3, 16)) {
            Tensor q = both.slice(1, 0, 3);
            Tensor k = both.slice(1, 2, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> rope.applyInPlace(q, k, Positions.zero()));
            assertTrue(e.getMessage().contains("q and k share memory"), e.getMessage());
        }
    }

    private static void assertRejected(long[] qShape, long[] kShape, DType kType, String expected) {
        Rope rope = Rope.of(16).withBackend(Backend.java());
        Random random = new Random(TestSeeds.next());
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = TestTensors.random(arena, random, DType.FLOAT32, qShape);
            Tensor k = TestTensors.random(arena, random, kType, kShape);
            byte[] qBefore = TestTensors.bytes(q.segment());
            byte[] kBefore = TestTensors.bytes(k.segment());

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> rope.applyInPlace(q, k, Positions.offset(9)));

            assertTrue(e.getMessage().contains(expected), e.getMessage());
            assertArrayEquals(qBefore, TestTensors.bytes(q.segment()), "q unchanged");
            assertArrayEquals(kBefore, TestTensors.bytes(k.segment()), "k unchanged");
        }
    }
}
