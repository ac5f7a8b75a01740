package io.jrope;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Invalid inputs, as a table. Each case names the exception type and the fragments its message must
 * contain: the parameter, the bad value and the valid range or fix. Every case also checks that the
 * input and output tensors are unchanged afterwards.
 *
 * <p>Each fragment must appear as a whole token, so {@code "got 3"} does not match {@code "got 32"}.
 */
class InvalidInputTest {
    /** Shape of the default input: B = 3, H = 2, T = 4, D = 8. */
    private static final long[] SHAPE = {3, 2, 4, 8};

    /** The tensors a case may use: random float32 x of {@link #SHAPE} and a NaN-filled out of the same shape. */
    private record Fixture(Arena arena, Tensor x, Tensor out) {
    }

    /** A call that must fail, the exception it throws and the fragments its message contains. */
    private record Case(String name, Class<? extends RuntimeException> type, Call call, String... fragments) {
    }

    @FunctionalInterface
    private interface Call {
        void run(Fixture fixture);
    }

    @TestFactory
    Stream<DynamicTest> invalidInputsAreRejected() {
        long seed = TestSeeds.next();
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c, seed)));
    }

    @Test
    void unavailableBackendIsRejectedOnUse() {
        Backend backend = Backend.named("native");
        assumeFalse(backend.isAvailable(), "the native backend is available here");
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = TestTensors.random(arena, new Random(1), DType.FLOAT32, SHAPE);
            byte[] before = TestTensors.bytes(x.segment());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Rope.of(8).withBackend(backend).applyInPlace(x));
            assertContains("native in use", e.getMessage(), "native", "not available", backend.unavailableReason().orElseThrow());
            assertArrayEquals(before, TestTensors.bytes(x.segment()), "x is unchanged");
        }
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();

        // dims
        for (int dims : new int[] {3, 0, -2}) {
            cases.add(new Case("dims " + dims, IllegalArgumentException.class, f -> Rope.of(dims).applyInPlace(f.x()),
                    "dims", "got " + dims, "even", ">= 2"));
        }
        cases.add(new Case("dims above D", IllegalArgumentException.class,
                f -> Rope.of(16).withBackend(Backend.java()).apply(f.x(), Positions.zero(), f.out()),
                "dims", "got 16", "at most D=8"));

        // shape of x
        cases.add(new Case("x with one axis", IllegalArgumentException.class,
                f -> Rope.of(8).withBackend(Backend.java()).applyInPlace(Tensor.allocate(f.arena(), DType.FLOAT32, 8)),
                "x", "[8]", "at least 2 axes"));

        // positions
        cases.add(new Case("offsets of length 2 for B = 3", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.offsets(1, 2), f.out()),
                "offsets", "got 2", "B=3 or 1"));
        cases.add(new Case("offsets of length 2 for B = 3, in place", IllegalArgumentException.class,
                f -> java8().applyInPlace(f.x(), Positions.offsets(1, 2)),
                "offsets", "got 2", "B=3 or 1"));
        cases.add(new Case("offsets of length 0", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.offsets(), f.out()),
                "offsets", "length 0", "B or 1"));
        cases.add(new Case("positions with 2 rows for B = 3", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.ofTokens(new long[2][4]), f.out()),
                "positions", "got 2", "B=3 or 1"));
        cases.add(new Case("positions with 3 tokens for T = 4", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.ofTokens(0, 1, 2), f.out()),
                "positions", "got 3", "T=4"));
        cases.add(new Case("positions with 5 tokens per row for T = 4", IllegalArgumentException.class,
                f -> java8().applyInPlace(f.x(), Positions.ofTokens(new long[3][5])),
                "positions", "got 5", "T=4"));
        cases.add(new Case("ragged positions", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.ofTokens(new long[][] {{0, 1, 2, 3}, {0, 1}, {0, 1, 2, 3}}), f.out()),
                "positions", "rectangular", "row 1 has 2"));
        cases.add(new Case("flat positions of the wrong length", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.ofTokens(new long[11], 3, 4), f.out()),
                "positions", "(3, 4)", "need 12", "got 11"));
        cases.add(new Case("offset overflowing 64 bits", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.offset(Long.MAX_VALUE - 1), f.out()),
                "offset", String.valueOf(Long.MAX_VALUE - 1), "at most " + (Long.MAX_VALUE - 3)));

        // freqs, base, scale, attention factor
        cases.add(new Case("freqs of length 3 for dims 8", IllegalArgumentException.class,
                f -> Rope.of(8).withFreqs(new float[] {1, 2, 3}).applyInPlace(f.x()),
                "freqs", "got 3", "dims/2=4"));
        float[] badPeriods = {Float.NaN, 0f, -1f, Float.NEGATIVE_INFINITY};
        for (float period : badPeriods) {
            cases.add(new Case("freqs with period " + period, IllegalArgumentException.class,
                    f -> Rope.of(8).withFreqs(new float[] {1, period, 3, 4}).applyInPlace(f.x()),
                    "freqs[1]", "got " + period, "> 0"));
        }
        double[] badBases = {Double.NaN, 0.0, -2.0, Double.POSITIVE_INFINITY};
        for (double base : badBases) {
            cases.add(new Case("base " + base, IllegalArgumentException.class,
                    f -> Rope.of(8).withBase(base).applyInPlace(f.x()),
                    "base", "got " + base, "finite and > 0"));
        }
        double[] badScales = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        for (double scale : badScales) {
            cases.add(new Case("scale " + scale, IllegalArgumentException.class,
                    f -> Rope.of(8).withScale(scale).applyInPlace(f.x()),
                    "scale", "got " + scale, "finite"));
        }
        double[] badFactors = {Double.NaN, 0.0, -1.0, Double.POSITIVE_INFINITY};
        for (double factor : badFactors) {
            cases.add(new Case("attentionFactor " + factor, IllegalArgumentException.class,
                    f -> Rope.of(8).withAttentionFactor(factor).applyInPlace(f.x()),
                    "attentionFactor", "got " + factor, "finite and > 0"));
        }

        // wrapping memory
        cases.add(new Case("segment too small", IllegalArgumentException.class,
                f -> Tensor.wrap(f.x().segment().asSlice(0, 28), DType.FLOAT32, 2, 4),
                "segment", "needs 32 bytes", "has 28"));
        cases.add(new Case("segment too small for strides", IllegalArgumentException.class,
                f -> Tensor.wrap(f.x().segment(), DType.FLOAT32, new long[] {2, 4}, new long[] {200, 1}, 0),
                "segment", "strides [200, 1]", "needs 816 bytes", "has 768"));
        cases.add(new Case("float[] too small for offset and shape", IllegalArgumentException.class,
                f -> Tensor.wrap(new float[8], 1, new long[] {2, 4}),
                "data", "offset 1", "needs 36 bytes", "has 32"));
        cases.add(new Case("negative stride", IllegalArgumentException.class,
                f -> Tensor.wrap(f.x().segment(), DType.FLOAT32, new long[] {2, 4}, new long[] {4, -1}, 8),
                "strides[1]", "got -1", ">= 0"));
        cases.add(new Case("negative extent", IllegalArgumentException.class,
                f -> Tensor.allocate(f.arena(), DType.FLOAT32, 2, -3),
                "shape[1]", "got -3", ">= 0"));
        cases.add(new Case("negative offset", IllegalArgumentException.class,
                f -> Tensor.wrap(new float[8], -1, new long[] {2, 4}),
                "offset", "got -1", ">= 0"));

        // out
        cases.add(new Case("out of another shape", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.zero(), f.out().slice(2, 0, 3)),
                "out", "[3, 2, 4, 8]", "got [3, 2, 3, 8]", "shape of x"));
        cases.add(new Case("out of another dtype", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.zero(), Tensor.allocate(f.arena(), DType.FLOAT16, SHAPE)),
                "out", "got float16", "dtype of x, float32"));
        cases.add(new Case("out overlapping x", IllegalArgumentException.class,
                f -> java8().apply(f.x().slice(0, 0, 2), Positions.zero(), f.x().slice(0, 1, 3)),
                "out", "overlaps x", "float32[2, 2, 4, 8]", "pass out == x"));
        cases.add(new Case("out as a transposed view of x", IllegalArgumentException.class,
                f -> java8().apply(f.x().slice(2, 0, 2), Positions.zero(), f.x().slice(2, 0, 2).transpose(1, 2)),
                "out", "overlaps x", "pass out == x"));
        cases.add(new Case("out with stride 0", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.zero(), Tensor.wrap(f.out().segment(), DType.FLOAT32, SHAPE,
                        new long[] {64, 0, 8, 1}, 0)),
                "out", "strides [64, 0, 8, 1]", "overlapping elements", "its own memory"));
        cases.add(new Case("in place on x with stride 0", IllegalArgumentException.class,
                f -> java8().applyInPlace(Tensor.wrap(f.x().segment(), DType.FLOAT32, SHAPE, new long[] {64, 0, 8, 1}, 0)),
                "x", "strides [64, 0, 8, 1]", "overlapping elements"));

        // closed tensors
        cases.add(new Case("closed x", IllegalStateException.class,
                f -> {
                    Tensor x = f.x().slice(0, 0, 3);
                    x.close();
                    java8().apply(x, Positions.zero(), f.out());
                },
                "x", "closed"));
        cases.add(new Case("closed x, in place", IllegalStateException.class,
                f -> {
                    Tensor x = f.x().slice(0, 0, 3);
                    x.close();
                    java8().applyInPlace(x);
                },
                "x", "closed"));
        cases.add(new Case("closed out", IllegalStateException.class,
                f -> {
                    Tensor out = f.out().slice(0, 0, 3);
                    out.close();
                    java8().apply(f.x(), Positions.zero(), out);
                },
                "out", "closed"));
        cases.add(new Case("view of a closed parent", IllegalStateException.class,
                f -> {
                    Tensor parent = Tensor.allocate(DType.FLOAT32, SHAPE);
                    Tensor view = parent.transpose(1, 2);
                    parent.close();
                    java8().apply(view, Positions.zero(), f.out().transpose(1, 2));
                },
                "x", "closed"));

        // backends
        cases.add(new Case("unknown backend", IllegalArgumentException.class,
                f -> Rope.of(8).withBackend(Backend.named("cuda")).applyInPlace(f.x()),
                "backend", "got 'cuda'", "auto, java, native"));
        for (int threads : new int[] {-1, 257}) {
            cases.add(new Case("threads " + threads, IllegalArgumentException.class,
                    f -> Rope.of(8).withBackend(Backend.java().withThreads(threads)).applyInPlace(f.x()),
                    "threads", "got " + threads, "[0, 256]"));
        }

        // read-only memory: the kernels would write it, or fault on a read-only mapping
        cases.add(new Case("read-only x, in place", IllegalArgumentException.class,
                f -> java8().applyInPlace(Tensor.wrap(f.x().segment().asReadOnly(), DType.FLOAT32, SHAPE)),
                "x", "read-only"));
        cases.add(new Case("read-only out", IllegalArgumentException.class,
                f -> java8().apply(f.x(), Positions.zero(), Tensor.wrap(f.out().segment().asReadOnly(), DType.FLOAT32, SHAPE)),
                "out", "read-only"));
        return cases;
    }

    private static Rope java8() {
        return Rope.of(8).withBackend(Backend.java());
    }

    /** Runs one case on fresh tensors and checks the exception, its message and that no tensor changed. */
    private static void check(Case c, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random random = new Random(seed);
            Tensor x = TestTensors.random(arena, random, DType.FLOAT32, SHAPE);
            Tensor out = TestTensors.poisoned(arena, DType.FLOAT32, SHAPE);
            byte[] xBefore = TestTensors.bytes(x.segment());
            byte[] outBefore = TestTensors.bytes(out.segment());

            Executable call = () -> c.call().run(new Fixture(arena, x, out));
            RuntimeException e = assertThrows(c.type(), call, c.name());
            assertContains(c.name(), e.getMessage(), c.fragments());
            assertArrayEquals(xBefore, TestTensors.bytes(x.segment()), c.name() + ": x is unchanged");
            assertArrayEquals(outBefore, TestTensors.bytes(out.segment()), c.name() + ": out is unchanged");
        }
    }

    private static void assertContains(String caseName, String message, String... fragments) {
        for (String fragment : fragments) {
            Pattern whole = Pattern.compile("(?<![\\w.])" + Pattern.quote(fragment) + "(?![\\w])");
            assertNotNull(message, caseName + ": the exception has no message");
            assertTrue(whole.matcher(message).find(),
                    caseName + ": the message must contain '" + fragment + "', got: " + message);
        }
    }
}
