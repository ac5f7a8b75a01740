package io.jrope;

import java.security.SecureRandom;

/**
 * Seeds of the randomized tests: a fresh one per call, or a fixed one to replay a failure.
 *
 * <p>Every randomized test puts {@link #describe(long)} into its failure messages, so a failure
 * names the seed that reproduces it: {@code mvn test -Djrope.test.seed=N -Dtest=...}.
 */
public final class TestSeeds {
    /** System property that fixes the seed of every randomized test. */
    public static final String PROPERTY = "jrope.test.seed";

    private static final SecureRandom FRESH = new SecureRandom();

    private TestSeeds() {
    }

    /** Returns the seed given by {@value #PROPERTY}, or a fresh random one. */
    public static long next() {
        String fixed = System.getProperty(PROPERTY);
        if (fixed != null && !fixed.isBlank()) {
            return Long.parseLong(fixed.trim());
        }
        return FRESH.nextLong();
    }

    /** Text for failure messages: the seed and how to replay it. */
    public static String describe(long seed) {
        return "seed " + seed + " (replay with -D" + PROPERTY + "=" + seed + ")";
    }
}
