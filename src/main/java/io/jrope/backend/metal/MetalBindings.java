package io.jrope.backend.metal;

import io.jrope.backend.nativecpu.NativeLibraryLoader;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The downcalls of {@code native/metal/jrope_metal.h}, bound from one library: the Metal shim
 * ({@code libjrope_metal.dylib}) or its emulator ({@code libjrope_metal_emu.so}), which export the same
 * functions. The emulator adds {@code jrope_metal_emu_configure}.
 */
final class MetalBindings {
    static final int ABI_VERSION = 1;

    /** Reason the library is unusable (not loaded, stale, or no device), or null. */
    final String failure;
    final MethodHandle rope;
    final MethodHandle ropeQueryKey;
    final MethodHandle describePlan;
    final MethodHandle lastError;
    final MethodHandle deviceName;
    final MethodHandle bufferAlloc;
    final MethodHandle bufferFree;
    /** {@code jrope_metal_emu_configure}, or null in the real shim. */
    final MethodHandle emulatorConfigure;

    private MetalBindings(String failure, MethodHandle[] handles) {
        this.failure = failure;
        this.rope = handles[0];
        this.ropeQueryKey = handles[1];
        this.describePlan = handles[2];
        this.lastError = handles[3];
        this.deviceName = handles[4];
        this.bufferAlloc = handles[5];
        this.bufferFree = handles[6];
        this.emulatorConfigure = handles[7];
    }

    /** Loads and binds {@code library}; never throws. */
    static MetalBindings load(NativeLibraryLoader.Library library) {
        NativeLibraryLoader.Result loaded = NativeLibraryLoader.load(library);
        MethodHandle[] handles = new MethodHandle[8];
        if (loaded.failure() != null) {
            return new MetalBindings(loaded.failure(), handles);
        }
        String failure;
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lookup = loaded.lookup();
            handles[0] = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_rope"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
            handles[1] = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_rope_qk"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
            handles[2] = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_describe_plan"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
            handles[3] = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_last_error"), FunctionDescriptor.of(ADDRESS));
            handles[4] = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_device_name"), FunctionDescriptor.of(ADDRESS));
            handles[5] = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_buffer_alloc"),
                    FunctionDescriptor.of(ADDRESS, JAVA_LONG));
            handles[6] = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_buffer_free"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS));
            handles[7] = lookup.find("jrope_metal_emu_configure")
                    .map(symbol -> linker.downcallHandle(symbol,
                            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT)))
                    .orElse(null);
            MethodHandle abiVersion = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_abi_version"),
                    FunctionDescriptor.of(JAVA_INT));
            MethodHandle unavailable = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_metal_unavailable_reason"),
                    FunctionDescriptor.of(ADDRESS));
            int version = (int) abiVersion.invokeExact();
            if (version != ABI_VERSION) {
                failure = "library " + loaded.path() + " has Metal C ABI version " + version + ", this jar needs "
                        + ABI_VERSION + "; rebuild it or point -D" + library.libraryProperty() + " at a matching build";
            } else {
                // Opens the device and compiles the kernels on the real shim.
                MemorySegment reason = (MemorySegment) unavailable.invokeExact();
                failure = reason.equals(MemorySegment.NULL) ? null : NativeLibraryLoader.cString(reason);
            }
        } catch (Throwable e) {
            failure = "binding " + loaded.path() + " failed: " + e;
        }
        return new MetalBindings(failure, handles);
    }

}
