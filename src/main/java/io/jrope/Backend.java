package io.jrope;

import io.jrope.internal.BackendRegistry;
import io.jrope.internal.RopeKernel;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A place where rotations run, selected by name so that the same call runs on any of them:
 * <ul>
 *   <li>{@code java}: the plain-Java reference, always available;</li>
 *   <li>{@code native}: the C++ CPU kernels through FFM (vectorised, multi-threaded);</li>
 *   <li>{@code metal}: the Metal kernels on an Apple-silicon GPU (macOS only);</li>
 *   <li>{@code metal-emu}: the Metal kernel source run as C++ on the CPU, for testing;</li>
 *   <li>{@code auto}: {@code metal} for large calls when available, else {@code native} when it
 *       loads, else {@code java}, logged once.</li>
 * </ul>
 * Instances are immutable and thread-safe.
 */
public final class Backend {
    /** Most worker threads a call may request; the native library's pool has this many slots. */
    public static final int MAX_THREADS = 256;

    private final Supplier<RopeKernel> kernelSource;
    private final int threads;

    private Backend(Supplier<RopeKernel> kernelSource, int threads) {
        this.kernelSource = kernelSource;
        this.threads = threads;
    }

    /**
     * Returns the backend called {@code name}: {@code auto}, or one of {@link #names()}. A backend that
     * cannot run here is still returned; using it throws with {@link #unavailableReason()}.
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Backend named(String name) {
        Objects.requireNonNull(name, "name");
        if (name.equals("auto")) {
            return auto();
        }
        RopeKernel kernel = BackendRegistry.kernel(name);
        return new Backend(() -> kernel, 0);
    }

    /**
     * The best backend available here: {@code metal} for calls of at least
     * {@code -Djrope.auto.metal.minBytes} (default 4 MiB, an estimate) where Metal is available, else
     * {@code native} when its library loads, else {@code java}. The choice is made, and logged, on
     * first use, so merely creating a {@link Rope} loads nothing.
     */
    public static Backend auto() {
        return AUTO;
    }

    private static final Backend AUTO = new Backend(BackendRegistry::auto, 0);

    /** The plain-Java reference backend. */
    public static Backend java() {
        return named("java");
    }

    /** Names of every backend in this build, available here or not. */
    public static List<String> names() {
        return BackendRegistry.names();
    }

    /** Every backend in this build, available here or not. */
    public static List<Backend> all() {
        return names().stream().map(Backend::named).toList();
    }

    /** Name of the backend that runs the calls (for {@code auto}, the one it picked). */
    public String name() {
        return kernelSource.get().name();
    }

    public boolean isAvailable() {
        return kernelSource.get().unavailableReason() == null;
    }

    /** Why this backend cannot run here and how to fix it; empty when it can. */
    public Optional<String> unavailableReason() {
        return Optional.ofNullable(kernelSource.get().unavailableReason());
    }

    /**
     * Returns this backend with {@code threads} worker threads for large tensors; 0 restores the
     * default (the available processors). Backends without threads ignore it.
     */
    public Backend withThreads(int threads) {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads must be in [0, " + MAX_THREADS + "] (0 = default), got "
                    + threads);
        }
        return new Backend(kernelSource, threads);
    }

    /**
     * Returns a new arena for tensors this backend rotates without copying them: on {@code metal},
     * shared GPU buffers on unified memory (use it with {@link Tensor#allocate(Arena, DType, long...)});
     * elsewhere an ordinary shared arena. Closing the arena frees every tensor allocated in it.
     *
     * @throws IllegalStateException if this backend is not available
     */
    public Arena newArena() {
        return kernel().newArena();
    }

    /** Worker threads requested; 0 = the backend's default. */
    public int threads() {
        return threads;
    }

    RopeKernel kernel() {
        RopeKernel kernel = kernelSource.get();
        String reason = kernel.unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("backend '" + kernel.name() + "' is not available: " + reason);
        }
        return kernel;
    }

    @Override
    public String toString() {
        return "Backend(" + name() + (threads > 0 ? ", threads " + threads : "") + ")";
    }
}
