package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import io.jrope.npy.IntegerArray;
import io.jrope.npy.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApplyCommandTest {
    private static final long[] SHAPE = {2, 3, 7, 16};

    @TempDir
    Path folder;

    @Test
    void applyEqualsLibraryCall() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT32, 1);
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "12", "--traditional", "--base", "500", "--scale", "0.5", "--offset", "-3",
                "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        Rope rope = Rope.of(12).withTraditional(true).withBase(500).withScale(0.5).withBackend(Backend.java());
        assertSameAsLibrary(input, output, DType.FLOAT32, rope, Positions.offset(-3));
    }

    @Test
    void inverseFlagMatchesInverseRope() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT16, 2);
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "16", "--inverse", "--offset", "100", "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        Rope rope = Rope.of(16).withInverse(true).withBackend(Backend.java());
        assertSameAsLibrary(input, output, DType.FLOAT16, rope, Positions.offset(100));
    }

    @Test
    void bfloat16FlagReadsAndWritesBits() throws IOException {
        Path input = writeRandom("x.npy", DType.BFLOAT16, 3);
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "8", "--dtype", "bfloat16", "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        assertEquals("<u2", Npy.readHeader(output).descr());
        assertSameAsLibrary(input, output, DType.BFLOAT16, Rope.of(8).withBackend(Backend.java()), Positions.zero());
    }

    @Test
    void bfloat16FileWithoutFlagFails() throws IOException {
        Path input = writeRandom("x.npy", DType.BFLOAT16, 4);

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output",
                folder.resolve("y.npy").toString(), "--dims", "8");

        assertEquals(Main.EXIT_FAILURE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("--dtype bfloat16"), result.transcript());
    }

    @Test
    void freqsFileMatchesLibrary() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT32, 5);
        float[] periods = {1f, 3f, 10f, 100f, 1000f, Float.POSITIVE_INFINITY};
        Path freqs = folder.resolve("freqs.npy");
        try (Tensor tensor = Tensor.copyOf(periods, DType.FLOAT32, periods.length)) {
            Npy.writeTensor(freqs, tensor);
        }
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "12", "--freqs", freqs.toString(), "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        assertSameAsLibrary(input, output, DType.FLOAT32, Rope.of(12).withFreqs(periods).withBackend(Backend.java()),
                Positions.zero());
    }

    @Test
    void offsetsFileMatchesLibrary() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT32, 6);
        Path offsets = folder.resolve("offsets.npy");
        Npy.writeInt64(offsets, IntegerArray.of(5, 70_000));
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "16", "--offsets", offsets.toString(), "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        assertSameAsLibrary(input, output, DType.FLOAT32, Rope.of(16).withBackend(Backend.java()),
                Positions.offsets(5, 70_000));
    }

    @Test
    void batchPositionsFileMatchesLibrary() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT32, 7);
        long[] flat = {0, 1, 2, 3, 10, 11, 12, 9, 8, 7, 6, 5, 4, -1};
        Path positions = folder.resolve("positions.npy");
        Npy.writeInt32(positions, new IntegerArray(new long[] {2, 7}, flat));
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "16", "--positions", positions.toString(), "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        assertSameAsLibrary(input, output, DType.FLOAT32, Rope.of(16).withBackend(Backend.java()),
                Positions.ofTokens(flat, 2, 7));
    }

    @Test
    void sharedPositionsFileMatchesLibrary() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT32, 8);
        long[] tokens = {3, 1, 4, 1, 5, 9, 2};
        Path positions = folder.resolve("positions.npy");
        Npy.writeInt64(positions, IntegerArray.of(tokens));
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "16", "--positions", positions.toString(), "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        assertSameAsLibrary(input, output, DType.FLOAT32, Rope.of(16).withBackend(Backend.java()),
                Positions.ofTokens(tokens));
    }

    @Test
    void positionsOfWrongLengthIsUsageError() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT32, 9);
        Path positions = folder.resolve("positions.npy");
        Npy.writeInt64(positions, IntegerArray.of(0, 1, 2));

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output",
                folder.resolve("y.npy").toString(), "--dims", "16", "--positions", positions.toString());

        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("T=7"), result.transcript());
    }

    @Test
    void dimsAboveFeaturesIsUsageError() throws IOException {
        Path input = writeRandom("x.npy", DType.FLOAT32, 10);

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output",
                folder.resolve("y.npy").toString(), "--dims", "18");

        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("dims"), result.transcript());
        assertTrue(result.err().contains("18"), result.transcript());
    }

    @Test
    void missingInputFileFails() {
        Path missing = folder.resolve("missing.npy");

        CliResult result = CliResult.run("apply", "--input", missing.toString(), "--output",
                folder.resolve("y.npy").toString(), "--dims", "8");

        assertEquals(Main.EXIT_FAILURE, result.exitCode(), result.transcript());
        assertEquals("jrope: error: file not found: " + missing, result.err().strip());
    }

    private Path writeRandom(String name, DType dtype, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[(int) (SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3])];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        Path file = folder.resolve(name);
        try (Tensor tensor = Tensor.copyOf(values, dtype, SHAPE)) {
            Npy.writeTensor(file, tensor);
        }
        return file;
    }

    /** Asserts that the file the command wrote contains exactly what the library returns for the same input. */
    private static void assertSameAsLibrary(Path input, Path output, DType dtype, Rope rope, Positions positions)
            throws IOException {
        try (Tensor x = Npy.readTensor(input, dtype);
             Tensor expected = rope.apply(x, positions);
             Tensor actual = Npy.readTensor(output, dtype)) {
            assertEquals(dtype, actual.dtype());
            assertArrayEquals(expected.shape(), actual.shape());
            assertArrayEquals(expected.toFloatArray(), actual.toFloatArray());
        }
    }
}
