package io.jrope;

import org.junit.jupiter.api.Assumptions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The backends every parity test runs on: each name in {@link Backend#names()}.
 *
 * <p>Use {@link #names()} as the {@code @MethodSource} of a parameterized test and open the backend
 * with {@link #open(String)}. A backend that cannot run here is skipped with a JUnit assumption that
 * states its {@link Backend#unavailableReason()}, unless the system property {@value #REQUIRE_PROPERTY}
 * lists it (comma-separated, for example {@code -Djrope.test.require=native}); then the test fails.
 * {@code java} is always required. A required name that this build does not know is run too, so that
 * a typo in the property fails instead of passing silently.
 */
public final class BackendsUnderTest {
    /** System property listing the backends that must be available, comma-separated. */
    public static final String REQUIRE_PROPERTY = "jrope.test.require";

    private BackendsUnderTest() {
    }

    /** Names of the backends to test: the known ones first, then any unknown required name. */
    public static Stream<String> names() {
        Set<String> names = new LinkedHashSet<>(Backend.names());
        names.addAll(required());
        return names.stream();
    }

    /**
     * Returns the backend called {@code name}, or aborts the calling test when it is unavailable and
     * not required.
     */
    public static Backend open(String name) {
        Backend backend;
        try {
            backend = Backend.named(name);
        } catch (IllegalArgumentException e) {
            return fail("required backend '" + name + "' (from -D" + REQUIRE_PROPERTY + ") is unknown: "
                    + e.getMessage());
        }
        if (backend.isAvailable()) {
            return backend;
        }

        String reason = backend.unavailableReason().orElse("(no reason given)");
        if (isRequired(name)) {
            return fail("backend '" + name + "' is required (java always is, others through -D"
                    + REQUIRE_PROPERTY + ") but not available: " + reason);
        }
        Assumptions.abort("backend '" + name + "' is not available: " + reason);
        throw new AssertionError("unreachable: Assumptions.abort returned");
    }

    /** Names of every backend other than {@code java} that runs here or is required. */
    public static List<String> othersThanJava() {
        List<String> others = new ArrayList<>();
        names().filter(name -> !name.equals("java")).forEach(others::add);
        return others;
    }

    /** True if {@code name} must be available: {@code java}, or listed in {@value #REQUIRE_PROPERTY}. */
    public static boolean isRequired(String name) {
        return name.equals("java") || required().contains(name);
    }

    private static Set<String> required() {
        String listed = System.getProperty(REQUIRE_PROPERTY, "");
        Set<String> names = new LinkedHashSet<>();
        Arrays.stream(listed.split(","))
                .map(String::trim)
                .filter(name -> !name.isEmpty())
                .forEach(names::add);
        return names;
    }
}
