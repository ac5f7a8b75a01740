package io.jrope;

import io.jrope.golden.Accuracy;
import io.jrope.golden.Float64Rope;
import io.jrope.golden.GoldenCase;
import io.jrope.golden.GoldenManifest;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/**
 * Every MLX golden case on every backend: MLX's output within the case's suggested_atol, the float64
 * evaluation within jrope's accuracy targets, the inverse against MLX's gradient, and rejection of the
 * inputs MLX rejects.
 *
 * <p>The goldens are the copy under {@code src/test/resources/goldens}. Accuracy and the float64
 * evaluation come from {@code io.jrope.golden}, the same classes {@code jrope check} uses. This
 * package has test helpers named {@code Accuracy} and {@code Float64Rope} too: the single-type imports
 * above take precedence over them.
 */
class GoldenParityTest {
    @TestFactory
    List<DynamicNode> everyCaseOnEveryBackend() throws IOException, URISyntaxException {
        GoldenManifest manifest = GoldenManifest.load(goldens());
        List<DynamicNode> backends = new ArrayList<>();
        for (String name : Backend.names()) {
            List<DynamicNode> cases = new ArrayList<>();
            for (GoldenCase goldenCase : manifest.cases()) {
                cases.add(dynamicTest(goldenCase.name(), () -> check(goldenCase, available(name))));
            }
            backends.add(DynamicContainer.dynamicContainer(name, cases));
        }
        return backends;
    }

    /** Guards the cases the suite must cover, so that a trimmed manifest cannot pass silently. */
    @Test
    void manifestCoversEveryKind() throws IOException, URISyntaxException {
        List<GoldenCase> cases = GoldenManifest.load(goldens()).cases();
        assertTrue(cases.stream().anyMatch(GoldenCase::isStridedView), "no strided case");
        assertTrue(cases.stream().anyMatch(GoldenCase::hasGradient), "no case with a gradient");
        assertTrue(cases.stream().anyMatch(GoldenCase::expectsRejection), "no case MLX rejects");
        assertTrue(cases.stream().anyMatch(c -> c.hasFile("freqs")), "no case with freqs");
        assertTrue(cases.stream().anyMatch(c -> c.shape().length == 2), "no 2-D case");
        for (DType dtype : DType.values()) {
            assertTrue(cases.stream().anyMatch(c -> c.dtype() == dtype), "no " + dtype + " case");
        }
    }

    private static Backend available(String name) {
        Backend backend = Backend.named(name);
        if (name.equals("java")) {
            assertTrue(backend.isAvailable(), "the java backend must always be available: "
                    + backend.unavailableReason().orElse(""));
        }
        assumeTrue(backend.isAvailable(), () -> "backend " + name + " is not available here: "
                + backend.unavailableReason().orElse(""));
        return backend;
    }

    private static void check(GoldenCase goldenCase, Backend backend) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            if (goldenCase.expectsRejection()) {
                checkRejected(goldenCase, backend, arena);
                return;
            }
            Rope rope = goldenCase.rope(backend);
            Positions positions = goldenCase.positions();
            Tensor input = goldenCase.readInput(arena);
            if (goldenCase.isStridedView()) {
                assertFalse(input.isContiguous(), "the strided case must run on a strided view");
                assertArrayEquals(goldenCase.readTensor("input", arena).toFloatArray(), input.toFloatArray(),
                        "the view of input_base.npy differs from input.npy");
            }
            compare(goldenCase, "output", rope, positions, input, goldenCase.readTensor("output", arena));
            checkInPlaceEqualsOutOfPlace(rope, positions, input, arena);

            if (goldenCase.hasGradient()) {
                compare(goldenCase, "grad", rope.inverse(), positions, goldenCase.readTensor("cotangent", arena),
                        goldenCase.readTensor("grad", arena));
            }
        }
    }

    private static void compare(GoldenCase goldenCase, String what, Rope rope, Positions positions, Tensor input,
                                Tensor expected) {
        String label = goldenCase.name() + " " + what;
        double atol = goldenCase.suggestedAtol();
        assertFalse(Double.isNaN(atol), label + ": the manifest gives no suggested_atol");

        try (Tensor actual = rope.apply(input, positions)) {
            assertArrayEquals(expected.shape(), actual.shape(), label + ": shape");
            assertEquals(expected.dtype(), actual.dtype(), label + ": dtype");

            double errorVsMlx = Accuracy.maxAbsDifference(actual.toFloatArray(),
                    expected.toFloatArray());
            assertTrue(errorVsMlx <= atol, label + ": max |jrope - MLX| = " + errorVsMlx + " exceeds suggested_atol "
                    + atol);

            double[] exact = Float64Rope.evaluate(rope, input, positions);
            Accuracy accuracy = Accuracy.measure(actual, exact,
                    Accuracy.maxAbs(input));
            assertTrue(accuracy.meetsTarget(), label + ": error vs float64 is " + accuracy.ulps() + " ulp (max abs "
                    + accuracy.maxAbsError() + "), target " + accuracy.targetUlps() + " ulp");
        }
    }

    /** In place on a copy of the input, laid out with the input's own strides, matches out of place bit for bit. */
    private static void checkInPlaceEqualsOutOfPlace(Rope rope, Positions positions, Tensor input, Arena arena) {
        MemorySegment memory = arena.allocate(input.segment().byteSize(), 64);
        memory.copyFrom(input.segment());
        Tensor target = Tensor.wrap(memory, input.dtype(), input.shape(), input.strides(), input.offset());
        try (Tensor expected = rope.apply(input, positions)) {
            rope.applyInPlace(target, positions);
            assertArrayEquals(bits(expected), bits(target), "in place differs from out of place");
        }
    }

    private static void checkRejected(GoldenCase goldenCase, Backend backend, Arena arena) throws IOException {
        Tensor input = goldenCase.readInput(arena);
        int[] before = bits(input);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> {
            Rope rope = goldenCase.rope(backend);
            rope.applyInPlace(input, goldenCase.positions());
        }, goldenCase.name() + ": MLX rejects this input (" + goldenCase.mlxError() + "), jrope accepted it");
        assertNotNull(error.getMessage(), goldenCase.name() + ": rejection without a message");
        assertArrayEquals(before, bits(input), goldenCase.name() + ": a rejected call modified the input");
    }

    private static int[] bits(Tensor tensor) {
        float[] values = tensor.toFloatArray();
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    private static Path goldens() throws URISyntaxException {
        URL url = GoldenParityTest.class.getResource("/goldens/manifest.json");
        assertNotNull(url, "the golden copy is missing from the test resources (src/test/resources/goldens)");
        return Path.of(url.toURI()).getParent();
    }
}
