package io.jrope.backend.nativecpu;

import io.jrope.internal.CallDescriptor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The downcalls into the shim's C ABI ({@code native/include/jrope.h}), bound once.
 *
 * <p>The only place that names the CPU shim's symbols. The library's ABI version is checked at load
 * against {@link CallDescriptor#ABI_VERSION}, so that a stale library is reported, not misread.
 */
final class NativeBindings {
    /** Why the library is unusable, or null when every handle below is bound. */
    static final String FAILURE;
    static final Path PATH;

    /**
     * {@code jrope_rope} with heap access: arguments may be {@code float[]}-backed segments, and the
     * garbage collector waits for the call to return (so it is used for short calls and heap data).
     */
    static final MethodHandle ROPE_CRITICAL;
    /** {@code jrope_rope} for long calls on native memory, which should not hold up the collector. */
    static final MethodHandle ROPE;
    static final MethodHandle LAST_ERROR;
    static final MethodHandle CPU_KERNEL;
    static final MethodHandle DEFAULT_THREADS;
    static final MethodHandle PARALLEL_COPY;

    static {
        NativeLibraryLoader.Result loaded = NativeLibraryLoader.load();
        String failure = loaded.failure();
        MethodHandle ropeCritical = null;
        MethodHandle rope = null;
        MethodHandle lastError = null;
        MethodHandle cpuKernel = null;
        MethodHandle defaultThreads = null;
        MethodHandle parallelCopy = null;
        if (failure == null) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup lookup = loaded.lookup();
                FunctionDescriptor ropeSignature = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
                ropeCritical = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_rope"), ropeSignature, Linker.Option.critical(true));
                rope = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_rope"), ropeSignature);
                lastError = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_last_error"), FunctionDescriptor.of(ADDRESS));
                cpuKernel = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_cpu_kernel"), FunctionDescriptor.of(ADDRESS));
                defaultThreads = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_default_threads"), FunctionDescriptor.of(JAVA_INT));
                parallelCopy = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_parallel_copy"),
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
                MethodHandle abiVersion = linker.downcallHandle(NativeLibraryLoader.symbol(lookup, "jrope_abi_version"), FunctionDescriptor.of(JAVA_INT));
                int version = (int) abiVersion.invokeExact();
                if (version != CallDescriptor.ABI_VERSION) {
                    failure = "library " + loaded.path() + " has C ABI version " + version + ", this jar needs "
                            + CallDescriptor.ABI_VERSION + "; rebuild it with 'mvn package' or point -D"
                            + NativeLibraryLoader.LIBRARY_PROPERTY + " at a matching build";
                }
            } catch (Throwable e) {
                failure = "binding " + loaded.path() + " failed: " + e;
            }
        }
        FAILURE = failure;
        PATH = loaded.path();
        ROPE_CRITICAL = ropeCritical;
        ROPE = rope;
        LAST_ERROR = lastError;
        CPU_KERNEL = cpuKernel;
        DEFAULT_THREADS = defaultThreads;
        PARALLEL_COPY = parallelCopy;
    }

    private NativeBindings() {
    }

}
