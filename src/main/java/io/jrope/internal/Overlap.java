package io.jrope.internal;

import io.jrope.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Decides whether two tensors may share an element, exactly where that is cheap and conservatively
 * elsewhere.
 *
 * <p>Views of one buffer with the same strides, such as the q and k heads of a fused QKV projection or
 * two column ranges of one matrix, interleave in memory without sharing an element; comparing byte
 * ranges would reject them. For those, an element of {@code a} at {@code i} and one of {@code b} at
 * {@code j} coincide exactly when {@code sum((i_k - j_k) * stride_k)} equals the distance between
 * their first elements. When the strides nest (each exceeds the span of all smaller ones), that
 * equation has at most two candidate digits per axis, so a short search settles it.
 */
public final class Overlap {
    private Overlap() {
    }

    /** True if {@code a} and {@code b} may have an element in common; false only when they cannot. */
    public static boolean mayShareElements(Tensor a, Tensor b) {
        if (a.elementCount() == 0 || b.elementCount() == 0) {
            return false;
        }
        MemorySegment aBytes = a.footprint();
        MemorySegment bBytes = b.footprint();
        if (aBytes.asOverlappingSlice(bBytes).isEmpty()) {
            return false;
        }
        if (a.dtype() != b.dtype() || a.ndim() != b.ndim() || !Arrays.equals(a.strides(), b.strides())) {
            return true;
        }

        long size = a.dtype().byteSize();
        long byteDistance = bBytes.address() - aBytes.address();
        if (byteDistance % size != 0) {
            return true;
        }
        return solvable(byteDistance / size, a.shape(), b.shape(), a.strides());
    }

    /**
     * True if some {@code delta} with {@code -(bShape[k]-1) <= delta[k] <= aShape[k]-1} has
     * {@code sum(delta[k] * strides[k]) == distance}, or if the strides do not nest.
     */
    private static boolean solvable(long distance, long[] aShape, long[] bShape, long[] strides) {
        Integer[] axes = new Integer[strides.length];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = i;
        }
        Arrays.sort(axes, (x, y) -> Long.compare(strides[x], strides[y]));

        // reach[k]: the largest |sum of delta * stride| over the k smallest axes.
        long[] low = new long[axes.length];
        long[] high = new long[axes.length];
        long[] step = new long[axes.length];
        long[] reach = new long[axes.length + 1];
        for (int k = 0; k < axes.length; k++) {
            int axis = axes[k];
            low[k] = -(bShape[axis] - 1);
            high[k] = aShape[axis] - 1;
            step[k] = strides[axis];
            long extent = Math.max(high[k], -low[k]);
            if (extent > 0 && step[k] <= reach[k]) {
                return true;
            }
            reach[k + 1] = reach[k] + extent * step[k];
        }
        return search(distance, axes.length - 1, low, high, step, reach);
    }

    private static boolean search(long remainder, int k, long[] low, long[] high, long[] step, long[] reach) {
        if (k < 0) {
            return remainder == 0;
        }
        if (high[k] == 0 && low[k] == 0) {
            return search(remainder, k - 1, low, high, step, reach);
        }
        long floor = Math.floorDiv(remainder, step[k]);
        for (long digit = floor; digit <= floor + 1; digit++) {
            if (digit < low[k] || digit > high[k]) {
                continue;
            }
            long rest = remainder - digit * step[k];
            if (Math.abs(rest) <= reach[k] && search(rest, k - 1, low, high, step, reach)) {
                return true;
            }
        }
        return false;
    }
}
