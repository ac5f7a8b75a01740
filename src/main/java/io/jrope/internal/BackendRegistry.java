package io.jrope.internal;

import io.jrope.backend.nativecpu.NativeBackend;
import io.jrope.backend.reference.ReferenceBackend;

import java.util.List;
import java.util.function.Supplier;

/**
 * The backends this build knows, by name, and the {@code auto} choice among them.
 *
 * <p>Backends are created on first use, so a library that fails to load costs nothing until asked for.
 */
public final class BackendRegistry {
    private static final List<String> NAMES = List.of("java", "native");
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
            default -> throw new IllegalArgumentException("backend must be one of auto, "
                    + String.join(", ", NAMES) + "; got '" + name + "'");
        };
    }

    /** The preferred available backend; logs once which one was chosen and why others were not. */
    public static RopeKernel auto() {
        return AutoChoice.KERNEL;
    }

    private static final class AutoChoice {
        static final RopeKernel KERNEL = choose(NativeBackend::instance);

        private static RopeKernel choose(Supplier<RopeKernel> preferred) {
            RopeKernel candidate = preferred.get();
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
    }
}
