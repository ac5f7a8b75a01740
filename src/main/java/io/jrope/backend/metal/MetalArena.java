package io.jrope.backend.metal;

import io.jrope.JropeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An arena whose segments are memory the CPU and the GPU share: each allocation is one
 * {@code StorageModeShared} Metal buffer (page-aligned host memory in the emulator), and the
 * {@code metal} backend passes tensors in it to the GPU without a copy. Closing the arena frees every
 * buffer; its segments then become inaccessible, as with {@link Arena#ofShared()}.
 *
 * <p>Use it with {@link io.jrope.Tensor#allocate(Arena, io.jrope.DType, long...)}. Thread-safe like a
 * shared arena.
 */
public final class MetalArena implements Arena {
    /** Allocations start on a page boundary of Apple silicon, so alignments up to this hold. */
    public static final long MAX_ALIGNMENT = 16384;

    private final Arena scope = Arena.ofShared();
    private final MetalBindings bindings;

    MetalArena(MetalBindings bindings) {
        this.bindings = bindings;
    }

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        if (byteSize < 0) {
            throw new IllegalArgumentException("byteSize must be >= 0, got " + byteSize);
        }
        if (byteAlignment <= 0 || Long.bitCount(byteAlignment) != 1 || byteAlignment > MAX_ALIGNMENT) {
            throw new IllegalArgumentException("byteAlignment must be a power of two in [1, " + MAX_ALIGNMENT
                    + "], got " + byteAlignment);
        }
        MemorySegment contents;
        try {
            contents = (MemorySegment) bindings.bufferAlloc.invokeExact(Math.max(byteSize, 1L));
        } catch (Throwable e) {
            throw MetalBackend.rethrow(e);
        }
        if (contents.equals(MemorySegment.NULL)) {
            throw new JropeException("allocating " + byteSize + " bytes of Metal shared memory failed: "
                    + MetalBackend.lastError(bindings));
        }
        return contents.reinterpret(byteSize, scope, segment -> free(contents));
    }

    private void free(MemorySegment contents) {
        try {
            int status = (int) bindings.bufferFree.invokeExact(contents);
            if (status != 0) {
                System.getLogger("io.jrope").log(System.Logger.Level.WARNING,
                        "jrope: freeing a Metal buffer failed: {0}", MetalBackend.lastError(bindings));
            }
        } catch (Throwable e) {
            System.getLogger("io.jrope").log(System.Logger.Level.WARNING, "jrope: freeing a Metal buffer failed", e);
        }
    }

    @Override
    public MemorySegment.Scope scope() {
        return scope.scope();
    }

    @Override
    public void close() {
        scope.close();
    }
}
