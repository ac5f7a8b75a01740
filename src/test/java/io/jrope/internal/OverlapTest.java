package io.jrope.internal;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OverlapTest {

    /** Views of one buffer with random shapes, strides and offsets, against the sets of elements they touch. */
    @Test
    void neverMissesSharedElement() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        MemorySegment memory = MemorySegment.ofArray(new float[4096]);
        int exactAnswers = 0;
        for (int round = 0; round < 3000; round++) {
            int ndim = 1 + random.nextInt(3);
            long[] strides = new long[ndim];
            for (int k = 0; k < ndim; k++) {
                strides[k] = 1 + random.nextInt(random.nextBoolean() ? 4 : 40);
            }
            Tensor a = randomView(random, memory, strides);
            Tensor b = randomView(random, memory, random.nextInt(4) == 0 ? randomStrides(random, ndim) : strides);

            boolean shared = !intersection(a, b).isEmpty();
            boolean answer = Overlap.mayShareElements(a, b);
            if (shared) {
                assertTrue(answer, "missed a shared element: " + a + " and " + b + " (seed " + seed + ")");
            }
            if (answer == shared) {
                exactAnswers++;
            }
        }
        assertTrue(exactAnswers > 2000, "only " + exactAnswers + " of 3000 answers exact (seed " + seed + ")");
    }

    @Test
    void fusedQkvHeadsAreDisjoint() {
        // (T, (HQ + 2 HK) * D) projection output; q and k are (1, H, T, D) views of it.
        int tokens = 5;
        int dims = 16;
        int queryHeads = 4;
        int keyHeads = 2;
        long row = (queryHeads + 2L * keyHeads) * dims;
        float[] buffer = new float[(int) (tokens * row)];
        Random random = new Random(7);
        for (int i = 0; i < buffer.length; i++) {
            buffer[i] = (float) random.nextGaussian();
        }
        float[] separate = buffer.clone();
        MemorySegment memory = MemorySegment.ofArray(buffer);
        Tensor q = Tensor.wrap(memory, DType.FLOAT32, new long[] {1, queryHeads, tokens, dims},
                new long[] {tokens * row, dims, row, 1}, 0);
        Tensor k = Tensor.wrap(memory, DType.FLOAT32, new long[] {1, keyHeads, tokens, dims},
                new long[] {tokens * row, dims, row, 1}, (long) queryHeads * dims);
        assertFalse(Overlap.mayShareElements(q, k), "q and k heads share no element");

        Rope rope = Rope.of(dims).withBackend(Backend.java());
        rope.applyInPlace(q, k, Positions.offset(11));
        MemorySegment separateMemory = MemorySegment.ofArray(separate);
        rope.applyInPlace(Tensor.wrap(separateMemory, DType.FLOAT32, q.shape(), q.strides(), q.offset()), 11);
        rope.applyInPlace(Tensor.wrap(separateMemory, DType.FLOAT32, k.shape(), k.strides(), k.offset()), 11);

        assertArrayEquals(separate, buffer, "fused call equals two calls; v heads untouched");
    }

    @Test
    void columnHalvesServeAsInputAndOutput() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor buffer = Tensor.allocate(arena, DType.FLOAT32, 3, 4, 32);
            for (int i = 0; i < 3 * 4 * 32; i++) {
                buffer.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, i * 0.01f);
            }
            Tensor x = buffer.slice(2, 0, 16);
            Tensor out = buffer.slice(2, 16, 32);
            Rope rope = Rope.of(16).withBackend(Backend.java());

            try (Tensor expected = rope.apply(x, Positions.offset(2))) {
                rope.apply(x, Positions.offset(2), out);
                assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            }
        }
    }

    @Test
    void emptyTensorSharesNothing() {
        MemorySegment memory = MemorySegment.ofArray(new float[64]);
        Tensor a = Tensor.wrap(memory, DType.FLOAT32, new long[] {0, 8}, new long[] {8, 1}, 0);
        Tensor b = Tensor.wrap(memory, DType.FLOAT32, new long[] {8, 8}, new long[] {8, 1}, 0);
        assertEquals(false, Overlap.mayShareElements(a, b));
    }

    private static long[] randomStrides(Random random, int ndim) {
        long[] strides = new long[ndim];
        for (int k = 0; k < ndim; k++) {
            strides[k] = 1 + random.nextInt(30);
        }
        return strides;
    }

    private static Tensor randomView(Random random, MemorySegment memory, long[] strides) {
        long[] shape = new long[strides.length];
        long last = 0;
        for (int k = 0; k < shape.length; k++) {
            shape[k] = 1 + random.nextInt(5);
            last += (shape[k] - 1) * strides[k];
        }
        long offset = random.nextInt((int) Math.max(1, 4096 - last - 1));
        return Tensor.wrap(memory, DType.FLOAT32, shape, strides, offset);
    }

    private static Set<Long> intersection(Tensor a, Tensor b) {
        Set<Long> elements = elements(a);
        elements.retainAll(elements(b));
        return elements;
    }

    private static Set<Long> elements(Tensor tensor) {
        Set<Long> elements = new HashSet<>();
        long[] shape = tensor.shape();
        long[] index = new long[shape.length];
        for (long n = 0; n < tensor.elementCount(); n++) {
            long element = tensor.offset();
            for (int k = 0; k < shape.length; k++) {
                element += index[k] * tensor.stride(k);
            }
            elements.add(element);
            for (int k = shape.length - 1; k >= 0; k--) {
                if (++index[k] < shape[k]) {
                    break;
                }
                index[k] = 0;
            }
        }
        return elements;
    }
}
