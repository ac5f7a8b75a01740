package io.jrope.backend.nativecpu;

import io.jrope.JropeException;
import io.jrope.internal.CallDescriptor;
import io.jrope.internal.Layout4D;
import io.jrope.internal.RopeKernel;
import io.jrope.internal.RopeRequest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.jrope.backend.nativecpu.NativeBindings.*;

/**
 * The {@code native} backend: the C++ CPU kernels of {@code libjrope}, called through FFM.
 *
 * <p>Tensors are rotated where they lie, {@code float[]}-backed ones included: calls on heap memory or
 * of at most {@value #SHORT_CALL_BYTES} bytes go through a critical downcall, which passes heap
 * arrays without a copy but holds up the garbage collector until the call returns.
 */
public final class NativeBackend implements RopeKernel {
    /** Calls up to this size use the critical downcall even on native memory (one decode step is ~16 KiB). */
    static final long SHORT_CALL_BYTES = 1 << 20;

    private static final NativeBackend INSTANCE = new NativeBackend();

    private NativeBackend() {
    }

    public static NativeBackend instance() {
        return INSTANCE;
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public String unavailableReason() {
        return FAILURE;
    }

    /** ISA variant the kernels dispatch to here, for example {@code avx2}. */
    public static String cpuKernel() {
        ensureLoaded();
        try {
            return NativeLibraryLoader.cString((MemorySegment) CPU_KERNEL.invokeExact());
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Threads a call uses when none are requested. */
    public static int defaultThreads() {
        ensureLoaded();
        try {
            return (int) DEFAULT_THREADS.invokeExact();
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Copies {@code bytes} from {@code source} to {@code target} split over {@code threads} threads like
     * the kernels split their work: the memcpy baseline of the benchmarks.
     */
    public static void parallelCopy(MemorySegment target, MemorySegment source, long bytes, int threads) {
        ensureLoaded();
        if (bytes < 0 || bytes > target.byteSize() || bytes > source.byteSize()) {
            throw new IllegalArgumentException("bytes must be in [0, " + Math.min(target.byteSize(), source.byteSize())
                    + "], got " + bytes);
        }
        if (!target.isNative() || !source.isNative()) {
            throw new IllegalArgumentException("parallelCopy needs native segments");
        }
        int status;
        try {
            status = (int) PARALLEL_COPY.invokeExact(target, source, bytes, threads);
        } catch (Throwable e) {
            throw rethrow(e);
        }
        check(status, "jrope_parallel_copy");
    }

    @Override
    public void rotate(RopeRequest request) {
        ensureLoaded();
        if (request.x().elementCount() == 0) {
            return;
        }

        Layout4D layout = Layout4D.of(request.x(), request.out());
        long[] call = CallDescriptor.of(request, layout);
        long bytes = request.x().elementCount() * request.x().dtype().byteSize();
        boolean heapData = !request.x().segment().isNative() || !request.out().segment().isNative();

        if (heapData || bytes <= SHORT_CALL_BYTES) {
            rotateBlocks(request, layout, MemorySegment.ofArray(call), MemorySegment.ofArray(request.positions()),
                    MemorySegment.ofArray(request.inverseFrequencies()), true);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            rotateBlocks(request, layout,
                    arena.allocateFrom(ValueLayout.JAVA_LONG, call),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, request.positions()),
                    arena.allocateFrom(ValueLayout.JAVA_DOUBLE, request.inverseFrequencies()), false);
        }
    }

    private static void rotateBlocks(RopeRequest request, Layout4D layout, MemorySegment call,
                                     MemorySegment positions, MemorySegment inverseFrequencies, boolean critical) {
        int size = request.x().dtype().byteSize();
        MemorySegment xMemory = request.x().segment();
        MemorySegment outMemory = request.out().segment();
        long blocks = layout.blockCount();
        for (long i = 0; i < blocks; i++) {
            Layout4D.Block block = layout.block(i);
            MemorySegment x = xMemory.asSlice(block.xOffset() * size);
            MemorySegment out = request.inPlace() ? x : outMemory.asSlice(block.outOffset() * size);
            int status;
            try {
                status = critical
                        ? (int) ROPE_CRITICAL.invokeExact(call, x, out, positions, inverseFrequencies)
                        : (int) ROPE.invokeExact(call, x, out, positions, inverseFrequencies);
            } catch (Throwable e) {
                throw rethrow(e);
            }
            check(status, "jrope_rope");
        }
    }

    private static void check(int status, String function) {
        if (status == 0) {
            return;
        }
        String message;
        try {
            message = NativeLibraryLoader.cString((MemorySegment) LAST_ERROR.invokeExact());
        } catch (Throwable e) {
            message = "(no message: " + e + ")";
        }
        throw new JropeException(function + " failed with status " + status + ": " + message);
    }

    private static void ensureLoaded() {
        if (FAILURE != null) {
            throw new IllegalStateException("backend 'native' is not available: " + FAILURE);
        }
    }

    private static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException runtime) {
            return runtime;
        }
        if (e instanceof Error error) {
            throw error;
        }
        return new JropeException("native call failed: " + e, e);
    }
}
