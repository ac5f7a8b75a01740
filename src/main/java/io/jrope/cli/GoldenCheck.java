package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import io.jrope.golden.Accuracy;
import io.jrope.golden.Float64Rope;
import io.jrope.golden.GoldenCase;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs golden cases on a backend and turns each into result lines. A case MLX ran gives one line for
 * the forward rotation, compared with MLX's output and with the float64 evaluation, and one more for
 * the inverse rotation against MLX's gradient when the case has one. A case MLX rejects gives one
 * line that passes when jrope rejects it too.
 */
final class GoldenCheck {
    private GoldenCheck() {
    }

    /**
     * Returns one line per check of {@code goldenCase} on {@code backend}. An IOException or runtime
     * exception from the case becomes a failing line, so that one broken case does not stop the others.
     */
    static List<CheckRow> run(GoldenCase goldenCase, Backend backend) {
        String dtype = goldenCase.dtype().label();
        List<CheckRow> rows = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            if (goldenCase.expectsRejection()) {
                rows.add(checkRejection(goldenCase, backend, arena));
                return rows;
            }
            Rope rope = goldenCase.rope(backend);
            Positions positions = goldenCase.positions();
            Tensor input = goldenCase.readInput(arena);
            Tensor output = goldenCase.readTensor("output", arena);
            CheckRow forward = compare(goldenCase.name(), dtype, rope, positions, input, output,
                    goldenCase.suggestedAtol(), goldenCase.mlxErrorVsFloat64());
            if (goldenCase.mlxStatus() == GoldenCase.MlxStatus.RAN_RESHAPED) {
                forward = forward.withNote("MLX rejects this shape and ran the data reshaped; jrope takes it as is");
            }
            rows.add(forward);

            if (goldenCase.hasGradient()) {
                Tensor cotangent = goldenCase.readTensor("cotangent", arena);
                Tensor grad = goldenCase.readTensor("grad", arena);
                rows.add(compare(goldenCase.name() + " (inverse)", dtype, rope.inverse(), positions, cotangent, grad,
                        goldenCase.suggestedAtol(), goldenCase.gradMlxErrorVsFloat64()));
            }
        } catch (IOException | RuntimeException e) {
            rows.add(CheckRow.failed(goldenCase.name(), dtype, Main.failureMessage(e)));
        }
        return rows;
    }

    private static CheckRow compare(String label, String dtype, Rope rope, Positions positions, Tensor input,
                                    Tensor expected, double atol, double mlxErrorVsFloat64) {
        try (Tensor actual = rope.apply(input, positions)) {
            if (!Arrays.equals(actual.shape(), expected.shape())) {
                return CheckRow.failed(label, dtype, "MLX's output has shape " + Arrays.toString(expected.shape())
                        + ", jrope's " + Arrays.toString(actual.shape()));
            }
            double errorVsMlx = Accuracy.maxAbsDifference(actual.toFloatArray(), expected.toFloatArray());
            double[] exact = Float64Rope.evaluate(rope, input, positions);
            Accuracy accuracy = Accuracy.measure(actual, exact, Accuracy.maxAbs(input));
            return CheckRow.compared(label, dtype, errorVsMlx, atol, accuracy, mlxErrorVsFloat64);
        }
    }

    /** Passes when jrope throws IllegalArgumentException and leaves the input as it was. */
    private static CheckRow checkRejection(GoldenCase goldenCase, Backend backend, Arena arena) throws IOException {
        String label = goldenCase.name();
        String dtype = goldenCase.dtype().label();
        Tensor input = goldenCase.readInput(arena);
        float[] before = input.toFloatArray();
        try {
            Rope rope = goldenCase.rope(backend);
            rope.applyInPlace(input, goldenCase.positions());
        } catch (IllegalArgumentException e) {
            if (!Arrays.equals(before, input.toFloatArray())) {
                return CheckRow.rejection(label, dtype, false, "rejected, but the input was modified: "
                        + e.getMessage());
            }
            return CheckRow.rejection(label, dtype, true, "rejected like MLX: " + e.getMessage());
        }
        return CheckRow.rejection(label, dtype, false, "accepted an input MLX rejects (" + goldenCase.mlxError() + ")");
    }
}
