package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.RopeScaling;
import io.jrope.Tensor;
import io.jrope.npy.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jrope apply} driven by a model's config.json or by preset flags. */
class ApplyScalingTest {
    private static final long[] SHAPE = {1, 2, 9, 64};

    @TempDir
    Path folder;

    private Path input() throws IOException {
        SplittableRandom random = new SplittableRandom(11);
        float[] values = new float[(int) (SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3])];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        Path path = folder.resolve("x.npy");
        try (Tensor x = Tensor.copyOf(values, DType.FLOAT32, SHAPE)) {
            Npy.writeTensor(path, x);
        }
        return path;
    }

    private static float[] expected(Path input, Rope rope, long offset) throws IOException {
        try (Tensor x = Npy.readTensor(input, null); Tensor y = rope.apply(x, Positions.offset(offset))) {
            return y.toFloatArray();
        }
    }

    private static float[] read(Path path) throws IOException {
        try (Tensor y = Npy.readTensor(path, null)) {
            return y.toFloatArray();
        }
    }

    @Test
    void ropeConfigDrivesYarn() throws IOException {
        Path input = input();
        Path config = folder.resolve("config.json");
        Files.writeString(config, """
                {"head_dim": 64, "max_position_embeddings": 131072, "rope_theta": 150000,
                 "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                                  "original_max_position_embeddings": 4096, "truncate": false}}""");
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--rope-config", config.toString(), "--offset", "5000", "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        Rope rope = Rope.of(64).withBase(150000).withScaling(RopeScaling.yarn(32, 4096).withTruncate(false))
                .withBackend(Backend.java());
        assertArrayEquals(expected(input, rope, 5000), read(output));
    }

    @Test
    void presetFlagsDriveLlama3() throws IOException {
        Path input = input();
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--dims", "64", "--base", "500000", "--rope-type", "llama3", "--factor", "8",
                "--original-max-positions", "8192", "--offset", "20000", "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        Rope rope = Rope.of(64).withBase(500000).withScaling(RopeScaling.llama3(8, 1, 4, 8192))
                .withBackend(Backend.java());
        assertArrayEquals(expected(input, rope, 20000), read(output));
    }

    @Test
    void longRopeOffsetSetsSequenceLength() throws IOException {
        Path input = input();
        Path config = folder.resolve("config.json");
        StringBuilder shortFactors = new StringBuilder();
        StringBuilder longFactors = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            shortFactors.append(i == 0 ? "" : ",").append(1.0 + 0.01 * i);
            longFactors.append(i == 0 ? "" : ",").append(1.0 + 0.5 * i);
        }
        Files.writeString(config, """
                {"head_dim": 64, "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
                 "rope_scaling": {"type": "longrope", "short_factor": [%s], "long_factor": [%s]}}"""
                .formatted(shortFactors, longFactors));
        Path output = folder.resolve("y.npy");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output", output.toString(),
                "--rope-config", config.toString(), "--offset", "6000", "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        Rope longFactorsRope = io.jrope.HuggingFaceRopeConfig.fromConfig(
                        new com.fasterxml.jackson.databind.ObjectMapper().readValue(config.toFile(), java.util.Map.class))
                .forSequenceLength(6000 + SHAPE[2]).withBackend(Backend.java());
        assertArrayEquals(expected(input, longFactorsRope, 6000), read(output));
    }

    @Test
    void presetFlagWithoutTypeIsUsageError() throws IOException {
        CliResult result = CliResult.run("apply", "--input", input().toString(), "--output",
                folder.resolve("y.npy").toString(), "--dims", "64", "--factor", "2");

        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("need --rope-type"), result.transcript());
    }

    @Test
    void yarnFlagOnLinearIsUsageError() throws IOException {
        CliResult result = CliResult.run("apply", "--input", input().toString(), "--output",
                folder.resolve("y.npy").toString(), "--dims", "64", "--rope-type", "linear", "--factor", "2",
                "--beta-fast", "3");

        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("apply to --rope-type yarn only"), result.transcript());
    }

    @Test
    void baseWithConfigIsUsageError() throws IOException {
        Path config = folder.resolve("config.json");
        Files.writeString(config, "{\"head_dim\": 64, \"rope_theta\": 500000}");

        CliResult result = CliResult.run("apply", "--input", input().toString(), "--output",
                folder.resolve("y.npy").toString(), "--rope-config", config.toString(), "--base", "10000");

        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("leave out --base"), result.transcript());
    }

    @Test
    void unknownConfigFieldIsUsageError() throws IOException {
        Path input = input();
        Path config = folder.resolve("config.json");
        Files.writeString(config, """
                {"head_dim": 64, "rope_scaling": {"rope_type": "linear", "factor": 2.0, "low_freq_factor": 1}}""");

        CliResult result = CliResult.run("apply", "--input", input.toString(), "--output",
                folder.resolve("y.npy").toString(), "--rope-config", config.toString());

        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("'low_freq_factor'"), result.transcript());
    }

    @Test
    void presetWithoutFactorIsUsageError() throws IOException {
        CliResult result = CliResult.run("apply", "--input", input().toString(), "--output",
                folder.resolve("y.npy").toString(), "--dims", "64", "--rope-type", "linear");

        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        assertTrue(result.err().contains("--factor is missing"), result.transcript());
    }
}
