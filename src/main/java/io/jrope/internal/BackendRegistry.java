package io.jrope.internal;

import io.jrope.backend.metal.MetalBackend;
import io.jrope.backend.nativecpu.NativeBackend;
import io.jrope.backend.reference.ReferenceBackend;

import java.lang.foreign.Arena;
import java.util.List;

/**
 * The backends of this build, by name, and the {@code auto} choice among them.
 *
 * <p>Backends are created on first use, so a library that fails to load costs nothing until asked for.
 *
 * <p>{@code auto} takes the native CPU backend (else {@code java}) and, where {@code metal} is
 * available, sends calls of at least {@value #METAL_MIN_BYTES_PROPERTY} bytes of input (default
 * {@value #DEFAULT_METAL_MIN_BYTES}) to the GPU instead. NOTE: the default threshold is an estimate,
 * not a measurement: a GPU dispatch costs tens of microseconds of fixed overhead, which decode-sized
 * calls (one token, tens of KiB) do not repay. Measure with {@code ./jrope bench} on the target Mac.
 */
public final class BackendRegistry {
    /** System property: smallest input, in bytes, that {@code auto} sends to {@code metal}. */
    public static final String METAL_MIN_BYTES_PROPERTY = "jrope.auto.metal.minBytes";
    /** Default of {@value #METAL_MIN_BYTES_PROPERTY}: 4 MiB. */
    public static final long DEFAULT_METAL_MIN_BYTES = 4L << 20;

    private static final List<String> NAMES = List.of("java", "native", "metal", "metal-emu");
    private static final System.Logger LOG = System.getLogger("io.jrope");

    private BackendRegistry() {
    }

    public static List<String> names() {
        return NAMES;
    }

    /** @throws IllegalArgumentException for an unknown name */
    public static RopeKernel kernel(String name) {
        return switch (name) {
            case "java" -> ReferenceBackend.INSTANCE;
            case "native" -> NativeBackend.instance();
            case "metal" -> MetalBackend.metal();
            case "metal-emu" -> MetalBackend.emulator();
            default -> throw new IllegalArgumentException("backend must be one of auto, "
                    + String.join(", ", NAMES) + "; got '" + name + "'");
        };
    }

    /** The preferred available backend; logs once which one was chosen and why others were not. */
    public static RopeKernel auto() {
        return AutoChoice.KERNEL;
    }

    private static final class AutoChoice {
        static final RopeKernel KERNEL = choose();

        private static RopeKernel choose() {
            RopeKernel cpu = chooseCpu();
            RopeKernel gpu = MetalBackend.metal();
            String gpuReason = gpu.unavailableReason();
            if (gpuReason != null) {
                LOG.log(System.Logger.Level.INFO, "jrope backend auto: using ''{0}'' (metal: {1})", cpu.name(),
                        gpuReason);
                return cpu;
            }
            long minBytes = metalMinBytes();
            LOG.log(System.Logger.Level.INFO,
                    "jrope backend auto: ''metal'' for inputs of at least {0} bytes, ''{1}'' below", minBytes, cpu.name());
            return new SizeSwitch(gpu, cpu, minBytes);
        }

        private static RopeKernel chooseCpu() {
            RopeKernel candidate = NativeBackend.instance();
            String reason = candidate.unavailableReason();
            if (reason == null) {
                LOG.log(System.Logger.Level.DEBUG, "jrope backend auto: using ''{0}''", candidate.name());
                return candidate;
            }
            LOG.log(System.Logger.Level.WARNING,
                    "jrope backend auto: ''{0}'' is not available, falling back to ''java'' (plain Java, slower): {1}",
                    candidate.name(), reason);
            return ReferenceBackend.INSTANCE;
        }

        private static long metalMinBytes() {
            String value = System.getProperty(METAL_MIN_BYTES_PROPERTY);
            if (value == null || value.isBlank()) {
                return DEFAULT_METAL_MIN_BYTES;
            }
            try {
                long bytes = Long.parseLong(value.trim());
                if (bytes >= 0) {
                    return bytes;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            LOG.log(System.Logger.Level.WARNING, "jrope backend auto: -D{0} must be a byte count >= 0, got ''{1}'';"
                    + " using {2}", METAL_MIN_BYTES_PROPERTY, value, DEFAULT_METAL_MIN_BYTES);
            return DEFAULT_METAL_MIN_BYTES;
        }
    }

    /** Sends each call to {@code large} when its input has at least {@code minBytes} bytes, else to {@code small}. */
    private record SizeSwitch(RopeKernel large, RopeKernel small, long minBytes) implements RopeKernel {
        @Override
        public String name() {
            return large.name() + "+" + small.name();
        }

        @Override
        public String unavailableReason() {
            return null;
        }

        @Override
        public void rotate(RopeRequest request) {
            (bytesOf(request) >= minBytes ? large : small).rotate(request);
        }

        @Override
        public void rotateQueryKey(RopeRequest query, RopeRequest key) {
            (bytesOf(query) + bytesOf(key) >= minBytes ? large : small).rotateQueryKey(query, key);
        }

        /** Memory from the GPU backend: shared buffers suit both sides of the switch. */
        @Override
        public Arena newArena() {
            return large.newArena();
        }

        private static long bytesOf(RopeRequest request) {
            return request.x().elementCount() * request.x().dtype().byteSize();
        }
    }
}
