package io.jrope.internal;

import io.jrope.Tensor;

/**
 * The {@code (B, H, T, D)} form the native and GPU kernels take, derived from a request's tensors.
 *
 * <p>A 2-D tensor becomes {@code (1, 1, T, D)} and a 3-D one {@code (B, 1, T, D)}. With several head
 * axes, the trailing ones whose strides nest (in both x and out) merge into one {@code H}; the
 * leading head axes that cannot merge are enumerated as separate {@link Block blocks}, each with its
 * own starting element.
 */
public final class Layout4D {
    /** One {@code (B, H, T, D)} block; offsets are element offsets into each tensor's segment. */
    public record Block(long xOffset, long outOffset) {
    }

    public final long batch;
    public final long heads;
    public final long tokens;
    public final long features;
    public final long[] xStrides;
    public final long[] outStrides;
    private final int loopAxes;
    private final long[] shape;
    private final long[] xAllStrides;
    private final long[] outAllStrides;
    private final long xOffset;
    private final long outOffset;

    private Layout4D(Tensor x, Tensor out) {
        shape = x.shape();
        xAllStrides = x.strides();
        outAllStrides = out.strides();
        xOffset = x.offset();
        outOffset = out.offset();
        int ndim = shape.length;

        tokens = shape[ndim - 2];
        features = shape[ndim - 1];
        boolean hasBatch = ndim >= 3;
        batch = hasBatch ? shape[0] : 1;
        long xBatchStride = hasBatch ? xAllStrides[0] : 0;
        long outBatchStride = hasBatch ? outAllStrides[0] : 0;

        // Head axes are 1..ndim-3. Merge from the innermost outwards while strides nest.
        int firstHead = 1;
        int lastHead = ndim - 3;
        long mergedHeads = 1;
        long xHeadStride = 0;
        long outHeadStride = 0;
        int mergeFrom = lastHead + 1;
        for (int axis = lastHead; axis >= firstHead; axis--) {
            if (mergedHeads == 1) {
                xHeadStride = xAllStrides[axis];
                outHeadStride = outAllStrides[axis];
                mergedHeads = shape[axis];
                mergeFrom = axis;
                continue;
            }
            boolean nests = shape[axis] == 1
                    || (xAllStrides[axis] == xHeadStride * mergedHeads && outAllStrides[axis] == outHeadStride * mergedHeads);
            if (!nests) {
                break;
            }
            mergedHeads *= shape[axis];
            mergeFrom = axis;
        }
        heads = mergedHeads;
        loopAxes = Math.max(mergeFrom - firstHead, 0);

        xStrides = new long[] {xBatchStride, xHeadStride, xAllStrides[ndim - 2], xAllStrides[ndim - 1]};
        outStrides = new long[] {outBatchStride, outHeadStride, outAllStrides[ndim - 2], outAllStrides[ndim - 1]};
    }

    public static Layout4D of(Tensor x, Tensor out) {
        return new Layout4D(x, out);
    }

    /** Number of blocks: the product of the head axes that could not merge. */
    public long blockCount() {
        long count = 1;
        for (int i = 0; i < loopAxes; i++) {
            count *= shape[1 + i];
        }
        return count;
    }

    /** Block {@code index} in row-major order of the unmerged head axes. */
    public Block block(long index) {
        long xStart = xOffset;
        long outStart = outOffset;
        long rest = index;
        for (int i = loopAxes - 1; i >= 0; i--) {
            int axis = 1 + i;
            long coordinate = rest % shape[axis];
            rest /= shape[axis];
            xStart += coordinate * xAllStrides[axis];
            outStart += coordinate * outAllStrides[axis];
        }
        return new Block(xStart, outStart);
    }
}
