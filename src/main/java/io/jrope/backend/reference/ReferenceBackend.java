package io.jrope.backend.reference;

import io.jrope.DType;
import io.jrope.Tensor;
import io.jrope.internal.RopeKernel;
import io.jrope.internal.RopeRequest;

import java.lang.foreign.MemorySegment;

/**
 * The plain-Java backend ({@code java}): the oracle every other backend is compared with.
 *
 * <p>Written to be obviously right, not fast. Per pair, the angle {@code p * w} is taken exactly: its
 * double product {@code theta} (off by up to 1.2e-7 rad at {@code theta = 2^31}) plus the product's
 * rounding error {@code e}, found with {@link Math#fma}. {@link Math#cos} and {@link Math#sin} reduce
 * {@code theta} exactly and {@code e} enters through the expansion of {@code cos(theta + e)}, so cos
 * and sin are correct to float32 rounding for the exact angle. The rotation runs in float32 with one
 * rounding to the dtype at the store.
 */
public final class ReferenceBackend implements RopeKernel {
    public static final ReferenceBackend INSTANCE = new ReferenceBackend();

    private ReferenceBackend() {
    }

    @Override
    public String name() {
        return "java";
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public void rotate(RopeRequest request) {
        Tensor x = request.x();
        Tensor out = request.out();
        int ndim = x.ndim();
        long[] shape = x.shape();
        long rowCount = 1;
        for (int axis = 0; axis < ndim - 1; axis++) {
            rowCount *= shape[axis];
        }
        if (rowCount == 0 || shape[ndim - 1] == 0) {
            return;
        }

        int half = request.dims() / 2;
        float[] cos = new float[half];
        float[] sin = new float[half];
        long[] index = new long[ndim - 1];
        for (long row = 0; row < rowCount; row++) {
            long b = ndim >= 3 ? index[0] : 0;
            long t = index[ndim - 2];
            angles(request, request.positionOf(b, t), cos, sin);
            rotateRow(request, x, out, index, cos, sin);
            increment(index, shape);
        }
    }

    /** Fills cos and sin of every pair for one position, already multiplied by the attention factor. */
    static void angles(RopeRequest request, long position, float[] cos, float[] sin) {
        double exactPosition = (double) position;
        double p = request.scale() * exactPosition;
        double pError = Math.fma(request.scale(), exactPosition, -p);
        double factor = request.attentionFactor();
        double sign = request.inverse() ? -1.0 : 1.0;
        double[] w = request.inverseFrequencies();
        for (int i = 0; i < cos.length; i++) {
            // theta + e is the exact product (p + pError) * w; cos(theta + e) and sin(theta + e) follow
            // from the second-order expansion in e, whose next term is below 1e-20 for |e| < 1e-7.
            double theta = p * w[i];
            double e = Math.fma(p, w[i], -theta) + pError * w[i];
            double cosTheta = Math.cos(theta);
            double sinTheta = Math.sin(theta);
            double shrink = 1.0 - 0.5 * e * e;
            cos[i] = (float) (factor * (cosTheta * shrink - sinTheta * e));
            sin[i] = (float) (sign * factor * (sinTheta * shrink + cosTheta * e));
        }
    }

    private static void rotateRow(RopeRequest request, Tensor x, Tensor out, long[] index,
                                  float[] cos, float[] sin) {
        DType dtype = x.dtype();
        int size = dtype.byteSize();
        MemorySegment xs = x.segment();
        MemorySegment os = out.segment();
        long xRow = rowStart(x, index);
        long outRow = rowStart(out, index);
        long xStride = x.stride(-1);
        long outStride = out.stride(-1);
        int half = cos.length;

        for (int i = 0; i < half; i++) {
            int first = request.traditional() ? 2 * i : i;
            int second = request.traditional() ? 2 * i + 1 : i + half;
            float u = dtype.load(xs, (xRow + first * xStride) * size);
            float v = dtype.load(xs, (xRow + second * xStride) * size);
            float rotatedU = u * cos[i] - v * sin[i];
            float rotatedV = u * sin[i] + v * cos[i];
            dtype.store(os, (outRow + first * outStride) * size, rotatedU);
            dtype.store(os, (outRow + second * outStride) * size, rotatedV);
        }

        if (!request.inPlace()) {
            long features = x.shape(-1);
            for (long f = request.dims(); f < features; f++) {
                MemorySegment.copy(xs, (xRow + f * xStride) * size, os, (outRow + f * outStride) * size, size);
            }
        }
    }

    private static long rowStart(Tensor tensor, long[] index) {
        long element = tensor.offset();
        for (int axis = 0; axis < index.length; axis++) {
            element += index[axis] * tensor.stride(axis);
        }
        return element;
    }

    private static void increment(long[] index, long[] shape) {
        for (int axis = index.length - 1; axis >= 0; axis--) {
            if (++index[axis] < shape[axis]) {
                return;
            }
            index[axis] = 0;
        }
    }
}
