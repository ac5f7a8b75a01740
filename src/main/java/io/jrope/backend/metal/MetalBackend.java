package io.jrope.backend.metal;

import io.jrope.JropeException;
import io.jrope.Tensor;
import io.jrope.backend.nativecpu.NativeLibraryLoader;
import io.jrope.internal.CallDescriptor;
import io.jrope.internal.Layout4D;
import io.jrope.internal.RopeKernel;
import io.jrope.internal.RopeRequest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;

/**
 * The {@code metal} backend: the kernels of {@code shaders/rope.metal} on the GPU of an Apple-silicon
 * Mac, through {@code libjrope_metal.dylib}; and {@code metal-emu}: the same kernel source and dispatch
 * planning compiled as C++ and run on the CPU ({@code libjrope_metal_emu}), to test the Metal path
 * where there is no Apple GPU.
 *
 * <p>Memory. Tensors allocated in a {@link #newSharedArena() shared arena} live in Metal buffers and
 * reach the GPU without a copy. Other native memory that starts on a page boundary (16 KiB on Apple
 * silicon) is wrapped without a copy. Any other native tensor is copied into a GPU buffer, and its
 * output is copied back. Heap tensors ({@code float[]}, {@code short[]}) are first copied to native
 * memory. The caller must not touch a tensor's memory while a call on it runs.
 *
 * <p>Every call waits for the GPU. Instances are thread-safe; the shim runs one command buffer at a
 * time per process. Libraries load on first use.
 */
public final class MetalBackend implements RopeKernel {
    /** System property naming {@code libjrope_metal.dylib} to load instead of the bundled one. */
    public static final String LIBRARY_PROPERTY = "jrope.metal.library";
    /** System property naming {@code libjrope_metal_emu.so} (or {@code .dylib}) to load. */
    public static final String EMULATOR_LIBRARY_PROPERTY = "jrope.metal.emu.library";

    private static final NativeLibraryLoader.Library METAL_LIBRARY = new NativeLibraryLoader.Library(
            "jrope_metal", LIBRARY_PROPERTY, "the jrope Metal library",
            "build it on an Apple-silicon Mac with 'mvn package' (needs the Xcode command-line tools and cmake)");
    private static final NativeLibraryLoader.Library EMULATOR_LIBRARY = new NativeLibraryLoader.Library(
            "jrope_metal_emu", EMULATOR_LIBRARY_PROPERTY, "the jrope Metal emulator library",
            "build it with 'cmake -S native/metal_emu -B build-emu -DCMAKE_CXX_COMPILER=clang++-16 && cmake --build"
                    + " build-emu' (needs clang 15 or newer)");

    private static final MetalBackend METAL = new MetalBackend("metal", METAL_LIBRARY, false);
    private static final MetalBackend EMULATOR = new MetalBackend("metal-emu", EMULATOR_LIBRARY, true);

    private final String name;
    private final NativeLibraryLoader.Library library;
    private final boolean emulator;
    private volatile MetalBindings bindings;

    private MetalBackend(String name, NativeLibraryLoader.Library library, boolean emulator) {
        this.name = name;
        this.library = library;
        this.emulator = emulator;
    }

    /** Returns the GPU backend, {@code metal}. */
    public static MetalBackend metal() {
        return METAL;
    }

    /** Returns the CPU emulation of the GPU backend, {@code metal-emu}. */
    public static MetalBackend emulator() {
        return EMULATOR;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String unavailableReason() {
        if (!emulator && !isAppleSilicon()) {
            return "Metal needs macOS on Apple silicon; this is " + System.getProperty("os.name") + " on "
                    + System.getProperty("os.arch");
        }
        return bindings().failure;
    }

    /** Returns the name of the GPU (for example {@code Apple M2 Pro}), or of the emulator. */
    public String deviceName() {
        MetalBindings ready = ready();
        try {
            return NativeLibraryLoader.cString((MemorySegment) ready.deviceName.invokeExact());
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Returns a new arena whose memory the GPU reads and writes without copies; close it to free the
     * memory.
     *
     * @throws IllegalStateException if this backend is not available
     */
    @Override
    public Arena newArena() {
        return new MetalArena(ready());
    }

    @Override
    public void rotate(RopeRequest request) {
        MetalBindings ready = ready();
        if (request.x().elementCount() == 0) {
            return;
        }

        Layout4D layout = Layout4D.of(request.x(), request.out());
        int size = request.x().dtype().byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment call = arena.allocateFrom(ValueLayout.JAVA_LONG, CallDescriptor.of(request, layout));
            MemorySegment positions = arena.allocateFrom(ValueLayout.JAVA_LONG, request.positions());
            MemorySegment frequencies = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, request.inverseFrequencies());
            Staged x = Staged.of(request.x(), arena);
            Staged out = request.inPlace() ? x : Staged.of(request.out(), arena);

            long blocks = layout.blockCount();
            for (long i = 0; i < blocks; i++) {
                Layout4D.Block block = layout.block(i);
                MemorySegment xBlock = x.at(block.xOffset(), size);
                MemorySegment outBlock = request.inPlace() ? xBlock : out.at(block.outOffset(), size);
                int status;
                try {
                    status = (int) ready.rope.invokeExact(call, xBlock, outBlock, positions, frequencies);
                } catch (Throwable e) {
                    throw rethrow(e);
                }
                check(ready, status, "jrope_metal_rope");
            }
            out.copyBack();
        }
    }

    /**
     * Rotates a query and a key tensor in one GPU dispatch, computing each cos/sin once for both. The
     * two requests must agree in dtype, batch rows, tokens, head size, every RoPE parameter and the
     * positions. They may differ in head count (grouped-query attention) and strides. Falls back to
     * two calls when either tensor's head axes do not merge into one (see {@link Layout4D}).
     *
     * @throws IllegalArgumentException naming the first field in which the requests differ
     */
    @Override
    public void rotateQueryKey(RopeRequest query, RopeRequest key) {
        MetalBindings ready = ready();
        checkSharedFields(query, key);
        Layout4D queryLayout = Layout4D.of(query.x(), query.out());
        Layout4D keyLayout = Layout4D.of(key.x(), key.out());
        if (queryLayout.blockCount() != 1 || keyLayout.blockCount() != 1) {
            rotate(query);
            rotate(key);
            return;
        }
        if (query.x().elementCount() == 0 && key.x().elementCount() == 0) {
            return;
        }

        int size = query.x().dtype().byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment queryCall = arena.allocateFrom(ValueLayout.JAVA_LONG, CallDescriptor.of(query, queryLayout));
            MemorySegment keyCall = arena.allocateFrom(ValueLayout.JAVA_LONG, CallDescriptor.of(key, keyLayout));
            MemorySegment positions = arena.allocateFrom(ValueLayout.JAVA_LONG, query.positions());
            MemorySegment frequencies = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, query.inverseFrequencies());
            Staged queryIn = Staged.of(query.x(), arena);
            Staged queryOut = query.inPlace() ? queryIn : Staged.of(query.out(), arena);
            Staged keyIn = Staged.of(key.x(), arena);
            Staged keyOut = key.inPlace() ? keyIn : Staged.of(key.out(), arena);

            Layout4D.Block queryBlock = queryLayout.block(0);
            Layout4D.Block keyBlock = keyLayout.block(0);
            MemorySegment q = queryIn.at(queryBlock.xOffset(), size);
            MemorySegment qOut = query.inPlace() ? q : queryOut.at(queryBlock.outOffset(), size);
            MemorySegment k = keyIn.at(keyBlock.xOffset(), size);
            MemorySegment kOut = key.inPlace() ? k : keyOut.at(keyBlock.outOffset(), size);
            int status;
            try {
                status = (int) ready.ropeQueryKey.invokeExact(queryCall, q, qOut, keyCall, k, kOut, positions,
                        frequencies);
            } catch (Throwable e) {
                throw rethrow(e);
            }
            check(ready, status, "jrope_metal_rope_qk");
            queryOut.copyBack();
            keyOut.copyBack();
        }
    }

    /**
     * Describes the dispatch of the first block of {@code request}: kernel variant, grid, threadgroup
     * and heads per thread, as planned with the default device limits (for logs and tests).
     */
    public String describePlan(RopeRequest request) {
        MetalBindings ready = ready();
        Layout4D layout = Layout4D.of(request.x(), request.out());
        int size = request.x().dtype().byteSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment call = arena.allocateFrom(ValueLayout.JAVA_LONG, CallDescriptor.of(request, layout));
            Staged x = Staged.of(request.x(), arena);
            Staged out = request.inPlace() ? x : Staged.of(request.out(), arena);
            Layout4D.Block block = layout.block(0);
            MemorySegment xBlock = x.at(block.xOffset(), size);
            MemorySegment outBlock = request.inPlace() ? xBlock : out.at(block.outOffset(), size);
            MemorySegment text = arena.allocate(256);
            int status;
            try {
                status = (int) ready.describePlan.invokeExact(call, xBlock, outBlock, text, text.byteSize());
            } catch (Throwable e) {
                throw rethrow(e);
            }
            check(ready, status, "jrope_metal_describe_plan");
            return text.getString(0);
        }
    }

    /**
     * Sets what the emulated pipeline reports and the order in which emulated threads run (0: increasing,
     * 1: decreasing), for tests of the {@code metal-emu} backend. Applies to every later call in the
     * process.
     *
     * @throws UnsupportedOperationException on the {@code metal} backend
     */
    public void configureEmulator(int threadExecutionWidth, int maxThreadsPerThreadgroup, long targetThreads,
                                  int schedule) {
        MetalBindings ready = ready();
        if (ready.emulatorConfigure == null) {
            throw new UnsupportedOperationException("backend '" + name + "' is not the emulator");
        }
        int status;
        try {
            status = (int) ready.emulatorConfigure.invokeExact(threadExecutionWidth, maxThreadsPerThreadgroup,
                    targetThreads, schedule);
        } catch (Throwable e) {
            throw rethrow(e);
        }
        if (status != 0) {
            throw new IllegalArgumentException(lastError(ready));
        }
    }

    private static void checkSharedFields(RopeRequest query, RopeRequest key) {
        String mismatch = null;
        if (query.x().dtype() != key.x().dtype()) {
            mismatch = "dtype";
        } else if (query.batch() != key.batch()) {
            mismatch = "batch size B";
        } else if (query.x().shape(-2) != key.x().shape(-2)) {
            mismatch = "token count T";
        } else if (query.x().shape(-1) != key.x().shape(-1)) {
            mismatch = "head size D";
        } else if (query.dims() != key.dims() || query.traditional() != key.traditional()
                || query.inverse() != key.inverse()) {
            mismatch = "dims, traditional or inverse";
        } else if (Double.compare(query.scale(), key.scale()) != 0
                || Double.compare(query.attentionFactor(), key.attentionFactor()) != 0
                || !Arrays.equals(query.inverseFrequencies(), key.inverseFrequencies())) {
            mismatch = "scale, attention factor or frequencies";
        } else if (query.positionMode() != key.positionMode() || query.positionRowStride() != key.positionRowStride()
                || !Arrays.equals(query.positions(), key.positions())) {
            mismatch = "positions";
        }
        if (mismatch != null) {
            throw new IllegalArgumentException("query and key must have the same " + mismatch
                    + " to be rotated in one dispatch");
        }
    }

    private MetalBindings bindings() {
        MetalBindings loaded = bindings;
        if (loaded == null) {
            synchronized (this) {
                loaded = bindings;
                if (loaded == null) {
                    loaded = MetalBindings.load(library);
                    bindings = loaded;
                }
            }
        }
        return loaded;
    }

    private MetalBindings ready() {
        String reason = unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("backend '" + name + "' is not available: " + reason);
        }
        return bindings();
    }

    private static boolean isAppleSilicon() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return (os.contains("mac") || os.contains("darwin")) && (arch.equals("aarch64") || arch.equals("arm64"));
    }

    private static void check(MetalBindings bindings, int status, String function) {
        if (status != 0) {
            throw new JropeException(function + " failed with status " + status + ": " + lastError(bindings));
        }
    }

    static String lastError(MetalBindings bindings) {
        try {
            return NativeLibraryLoader.cString((MemorySegment) bindings.lastError.invokeExact());
        } catch (Throwable e) {
            return "(no message: " + e + ")";
        }
    }

    static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException runtime) {
            return runtime;
        }
        if (e instanceof Error error) {
            throw error;
        }
        return new JropeException("Metal call failed: " + e, e);
    }

    /**
     * A tensor's memory as the shim receives it: the tensor's own native segment, or a native copy of a
     * heap tensor's footprint that {@link #copyBack()} writes back.
     */
    private record Staged(MemorySegment memory, long firstElement, MemorySegment heapFootprint) {
        static Staged of(Tensor tensor, Arena arena) {
            if (tensor.segment().isNative()) {
                return new Staged(tensor.segment(), 0, null);
            }
            MemorySegment footprint = tensor.footprint();
            MemorySegment copy = arena.allocate(footprint.byteSize(), 16);
            copy.copyFrom(footprint);
            return new Staged(copy, tensor.offset(), footprint);
        }

        MemorySegment at(long elementOffset, int elementSize) {
            return memory.asSlice((elementOffset - firstElement) * elementSize);
        }

        void copyBack() {
            if (heapFootprint != null) {
                heapFootprint.copyFrom(memory);
            }
        }
    }
}
