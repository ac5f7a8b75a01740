package io.jrope.internal;

import io.jrope.DType;
import io.jrope.Tensor;
import io.jrope.TestSeeds;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link Layout4D}: the {@code (B, H, T, D)} form with merged head axes, and blocks for the head axes
 * that cannot merge. The random test checks the defining property: walking every block visits each
 * element of x and out exactly once, paired with the right batch row and token.
 */
class Layout4DTest {

    @Test
    void twoAxesAreOneBatchAndOneHead() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, DType.FLOAT32, 5, 8);
            Layout4D layout = Layout4D.of(x, x);
            assertArrayEquals(new long[] {1, 1, 5, 8}, dims(layout), "(B, H, T, D)");
            assertArrayEquals(new long[] {0, 0, 8, 1}, layout.xStrides, "x strides");
            assertEquals(1, layout.blockCount(), "blocks");
        }
    }

    @Test
    void threeAxesHaveOneHead() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, DType.FLOAT32, 2, 5, 8);
            Layout4D layout = Layout4D.of(x, x);
            assertArrayEquals(new long[] {2, 1, 5, 8}, dims(layout), "(B, H, T, D)");
            assertArrayEquals(new long[] {40, 0, 8, 1}, layout.xStrides, "x strides");
        }
    }

    @Test
    void contiguousHeadAxesMerge() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, DType.FLOAT16, 2, 3, 4, 5, 8);
            Tensor out = Tensor.allocate(arena, DType.FLOAT16, 2, 3, 4, 5, 8);
            Layout4D layout = Layout4D.of(x, out);
            assertArrayEquals(new long[] {2, 12, 5, 8}, dims(layout), "(B, H, T, D)");
            assertArrayEquals(new long[] {480, 40, 8, 1}, layout.xStrides, "x strides");
            assertEquals(1, layout.blockCount(), "blocks");
        }
    }

    @Test
    void transposedHeadAxesBecomeBlocks() {
        try (Arena arena = Arena.ofConfined()) {
            // (B, T, G, H, D) = (2, 5, 3, 4, 8) seen as (B, H, G, T, D): G is the inner head axis, and H
            // (stride 8) does not step over G (stride 32), so H becomes 4 blocks of 3 heads each.
            Tensor buffer = Tensor.allocate(arena, DType.FLOAT32, 2, 5, 3, 4, 8);
            Tensor x = buffer.permute(0, 3, 2, 1, 4);
            Tensor out = Tensor.allocate(arena, DType.FLOAT32, x.shape());
            Layout4D layout = Layout4D.of(x, out);
            assertArrayEquals(new long[] {2, 3, 5, 8}, dims(layout), "(B, H, T, D)");
            assertEquals(4, layout.blockCount(), "blocks");
            assertEquals(3 * 8, layout.block(3).xOffset(), "x offset of block 3");
            assertEquals(3 * 3 * 5 * 8, layout.block(3).outOffset(), "out offset of block 3");
        }
    }

    @Test
    void outputLayoutAlsoDecidesMerge() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, DType.FLOAT32, 2, 3, 4, 5, 8);
            Tensor out = Tensor.allocate(arena, DType.FLOAT32, 2, 4, 3, 5, 8).transpose(1, 2);
            Layout4D layout = Layout4D.of(x, out);
            assertEquals(4, layout.heads, "heads: only the innermost head axis");
            assertEquals(3, layout.blockCount(), "blocks: the outer head axis");
        }
    }

    @Test
    void randomViewsVisitEveryElementOnce() {
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (int trial = 0; trial < 500; trial++) {
            try (Arena arena = Arena.ofConfined()) {
                int ndim = 2 + random.nextInt(4);
                long[] shape = new long[ndim];
                for (int axis = 0; axis < ndim; axis++) {
                    shape[axis] = 1 + random.nextInt(4);
                }
                Tensor x = randomView(arena, random, shape);
                Tensor out = randomView(arena, random, shape);
                String context = "trial " + trial + ", " + TestSeeds.describe(seed) + ", x " + x + ", out " + out;

                List<long[]> expected = logicalVisits(x, out);
                List<long[]> actual = layoutVisits(Layout4D.of(x, out));
                if (!sameVisits(expected, actual)) {
                    fail(context + ": the blocks visit " + actual.size() + " (b, t, x, out) tuples that differ from the "
                            + expected.size() + " of the tensors");
                }
            }
        }
    }

    private static long[] dims(Layout4D layout) {
        return new long[] {layout.batch, layout.heads, layout.tokens, layout.features};
    }

    /** Builds a view of {@code shape} over a buffer with its axes in a random memory order and random padding. */
    private static Tensor randomView(Arena arena, Random random, long[] shape) {
        int ndim = shape.length;
        int[] order = new int[ndim];
        for (int i = 0; i < ndim; i++) {
            order[i] = i;
        }
        for (int i = ndim - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        long[] memoryShape = new long[ndim];
        long[] start = new long[ndim];
        for (int i = 0; i < ndim; i++) {
            boolean padded = random.nextInt(4) == 0;
            start[i] = padded ? random.nextInt(2) : 0;
            memoryShape[i] = shape[order[i]] + start[i] + (padded ? 1 : 0);
        }
        Tensor view = Tensor.allocate(arena, DType.FLOAT32, memoryShape);
        for (int i = 0; i < ndim; i++) {
            view = view.slice(i, start[i], start[i] + shape[order[i]]);
        }
        int[] inverse = new int[ndim];
        for (int i = 0; i < ndim; i++) {
            inverse[order[i]] = i;
        }
        return view.permute(inverse);
    }

    /** (b, t, x offset, out offset) of every element, from the tensors' own shape and strides. */
    private static List<long[]> logicalVisits(Tensor x, Tensor out) {
        long[] shape = x.shape();
        int ndim = shape.length;
        List<long[]> visits = new ArrayList<>();
        long[] index = new long[ndim];
        for (long i = 0; i < x.elementCount(); i++) {
            long xOffset = x.offset();
            long outOffset = out.offset();
            for (int axis = 0; axis < ndim; axis++) {
                xOffset += index[axis] * x.stride(axis);
                outOffset += index[axis] * out.stride(axis);
            }
            long b = ndim >= 3 ? index[0] : 0;
            visits.add(new long[] {b, index[ndim - 2], xOffset, outOffset});
            for (int axis = ndim - 1; axis >= 0 && ++index[axis] == shape[axis]; axis--) {
                index[axis] = 0;
            }
        }
        return visits;
    }

    /** (b, t, x offset, out offset) of every element, walking the blocks as a backend does. */
    private static List<long[]> layoutVisits(Layout4D layout) {
        List<long[]> visits = new ArrayList<>();
        long[] xs = layout.xStrides;
        long[] os = layout.outStrides;
        for (long i = 0; i < layout.blockCount(); i++) {
            Layout4D.Block block = layout.block(i);
            for (long b = 0; b < layout.batch; b++) {
                for (long h = 0; h < layout.heads; h++) {
                    for (long t = 0; t < layout.tokens; t++) {
                        for (long d = 0; d < layout.features; d++) {
                            visits.add(new long[] {b, t,
                                    block.xOffset() + b * xs[0] + h * xs[1] + t * xs[2] + d * xs[3],
                                    block.outOffset() + b * os[0] + h * os[1] + t * os[2] + d * os[3]});
                        }
                    }
                }
            }
        }
        return visits;
    }

    private static boolean sameVisits(List<long[]> expected, List<long[]> actual) {
        if (expected.size() != actual.size()) {
            return false;
        }
        expected.sort(Arrays::compare);
        actual.sort(Arrays::compare);
        for (int i = 0; i < expected.size(); i++) {
            if (!Arrays.equals(expected.get(i), actual.get(i))) {
                return false;
            }
        }
        return true;
    }
}
