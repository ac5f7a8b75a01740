package io.jrope.internal;

import io.jrope.Positions;

/**
 * The call descriptor of {@code jrope_rope} ({@code native/include/jrope.h}), which the CPU shim, the
 * Metal shim and its emulator all take: slot numbers mirror {@code enum jrope_call_slot}.
 */
public final class CallDescriptor {
    /** {@code JROPE_ABI_VERSION}: the libraries check it against their own. */
    public static final int ABI_VERSION = 1;

    private static final int SLOT_ABI_VERSION = 0;
    private static final int SLOT_DTYPE = 1;
    private static final int SLOT_DIMS = 2;
    private static final int SLOT_TRADITIONAL = 3;
    private static final int SLOT_INVERSE = 4;
    private static final int SLOT_BATCH = 5;
    private static final int SLOT_HEADS = 6;
    private static final int SLOT_TOKENS = 7;
    private static final int SLOT_FEATURES = 8;
    private static final int SLOT_X_STRIDE_BATCH = 9;
    private static final int SLOT_OUT_STRIDE_BATCH = 13;
    private static final int SLOT_POSITION_MODE = 17;
    private static final int SLOT_POSITION_BATCH_STRIDE = 18;
    private static final int SLOT_SCALE_BITS = 19;
    private static final int SLOT_ATTENTION_FACTOR_BITS = 20;
    private static final int SLOT_THREADS = 21;
    public static final int CALL_SLOTS = 22;

    private static final int POSITIONS_OFFSETS = 0;
    private static final int POSITIONS_EXPLICIT = 1;

    private CallDescriptor() {
    }

    /** Returns the descriptor shared by every block of {@code layout}. */
    public static long[] of(RopeRequest request, Layout4D layout) {
        long[] call = new long[CALL_SLOTS];
        call[SLOT_ABI_VERSION] = ABI_VERSION;
        call[SLOT_DTYPE] = request.x().dtype().nativeCode();
        call[SLOT_DIMS] = request.dims();
        call[SLOT_TRADITIONAL] = request.traditional() ? 1 : 0;
        call[SLOT_INVERSE] = request.inverse() ? 1 : 0;
        call[SLOT_BATCH] = layout.batch;
        call[SLOT_HEADS] = layout.heads;
        call[SLOT_TOKENS] = layout.tokens;
        call[SLOT_FEATURES] = layout.features;
        System.arraycopy(layout.xStrides, 0, call, SLOT_X_STRIDE_BATCH, 4);
        System.arraycopy(layout.outStrides, 0, call, SLOT_OUT_STRIDE_BATCH, 4);
        call[SLOT_POSITION_MODE] = request.positionMode() == Positions.Mode.OFFSETS ? POSITIONS_OFFSETS : POSITIONS_EXPLICIT;
        call[SLOT_POSITION_BATCH_STRIDE] = request.positionRowStride();
        call[SLOT_SCALE_BITS] = Double.doubleToRawLongBits(request.scale());
        call[SLOT_ATTENTION_FACTOR_BITS] = Double.doubleToRawLongBits(request.attentionFactor());
        call[SLOT_THREADS] = request.threads();
        return call;
    }
}
