package io.jrope.golden;

import io.jrope.Backend;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GoldenManifestTest {
    @TempDir
    Path folder;

    @Test
    void folderAndFileLoadTheSameCases() throws IOException, URISyntaxException {
        Path goldens = goldens();
        GoldenManifest fromFolder = GoldenManifest.load(goldens);
        GoldenManifest fromFile = GoldenManifest.load(goldens.resolve("manifest.json"));
        assertEquals(fromFolder.cases().size(), fromFile.cases().size());
        assertFalse(fromFolder.cases().isEmpty());
        assertFalse(fromFolder.mlxVersion().isEmpty());
    }

    @Test
    void stridedCaseIsAView() throws IOException, URISyntaxException {
        GoldenCase strided = GoldenManifest.load(goldens()).cases().stream()
                .filter(GoldenCase::isStridedView).findFirst().orElseThrow();
        try (Arena arena = Arena.ofConfined()) {
            Tensor view = strided.readInput(arena);
            Tensor logical = strided.readTensor("input", arena);
            assertFalse(view.isContiguous());
            assertArrayEquals(strided.viewStrides(), view.strides());
            assertArrayEquals(logical.toFloatArray(), view.toFloatArray());
        }
    }

    @Test
    void listOffsetBecomesPerBatchOffsets() throws IOException, URISyntaxException {
        GoldenCase perBatch = GoldenManifest.load(goldens()).cases().stream()
                .filter(c -> c.positions().rows() > 1).findFirst().orElseThrow();
        Positions positions = perBatch.positions();
        assertEquals(Positions.Mode.OFFSETS, positions.mode());
        assertEquals(perBatch.shape()[0], positions.rows());
    }

    @Test
    void freqsCaseUsesPeriods() throws IOException, URISyntaxException {
        GoldenCase periods = GoldenManifest.load(goldens()).cases().stream()
                .filter(c -> c.hasFile("freqs")).findFirst().orElseThrow();
        Rope rope = periods.rope(Backend.java());
        assertNotNull(rope.freqs());
        assertArrayEquals(periods.readFreqs(), rope.freqs());
        assertTrue(Double.isNaN(rope.base()));
    }

    @Test
    void twoDimensionalCaseIsAccepted() throws IOException, URISyntaxException {
        GoldenCase rank2 = GoldenManifest.load(goldens()).cases().stream()
                .filter(c -> c.mlxStatus() == GoldenCase.MlxStatus.RAN_RESHAPED).findFirst().orElseThrow();
        assertEquals(2, rank2.shape().length);
        assertFalse(rank2.expectsRejection());
    }

    @Test
    void errorCaseExpectsRejection() throws IOException, URISyntaxException {
        GoldenCase rejected = GoldenManifest.load(goldens()).cases().stream()
                .filter(c -> c.mlxStatus() == GoldenCase.MlxStatus.ERROR).findFirst().orElseThrow();
        assertTrue(rejected.expectsRejection());
        assertFalse(rejected.mlxError().isEmpty());
    }

    @Test
    void missingManifestIsReported() {
        IOException error = assertThrows(IOException.class, () -> GoldenManifest.load(folder));
        assertTrue(error.getMessage().contains("no golden manifest"), error.getMessage());
    }

    @Test
    void invalidJsonIsReported() throws IOException {
        Files.writeString(folder.resolve("manifest.json"), "{\"cases\": [");
        IOException error = assertThrows(IOException.class, () -> GoldenManifest.load(folder));
        assertTrue(error.getMessage().contains("not valid JSON"), error.getMessage());
    }

    @Test
    void unknownStatusIsReported() throws IOException {
        writeManifest("\"mlx_status\": \"maybe\"");
        IOException error = assertThrows(IOException.class, () -> GoldenManifest.load(folder));
        assertTrue(error.getMessage().contains("maybe"), error.getMessage());
    }

    @Test
    void pathOutsideCaseFolderIsRejected() throws IOException {
        writeManifest("\"mlx_status\": \"ok\", \"files\": {\"input\": \"../../etc/passwd\", \"output\": \"o.npy\"}");
        IOException error = assertThrows(IOException.class, () -> GoldenManifest.load(folder));
        assertTrue(error.getMessage().contains("files.input"), error.getMessage());
    }

    @Test
    void missingOutputIsReported() throws IOException {
        writeManifest("\"mlx_status\": \"ok\", \"files\": {\"input\": \"input.npy\"}");
        IOException error = assertThrows(IOException.class, () -> GoldenManifest.load(folder));
        assertTrue(error.getMessage().contains("'output'"), error.getMessage());
    }

    private void writeManifest(String extraFields) throws IOException {
        String files = extraFields.contains("\"files\"")
                ? ""
                : ", \"files\": {\"input\": \"input.npy\", \"output\": \"output.npy\"}";
        Files.writeString(folder.resolve("manifest.json"), "{\"cases\": [{\"name\": \"c\", \"shape\": [1, 2, 4],"
                + " \"dtype\": \"float32\", \"dims\": 4, \"base\": 10000.0, \"offset\": 0, "
                + extraFields + files + "}]}");
    }

    static Path goldens() throws URISyntaxException {
        var url = GoldenManifestTest.class.getResource("/goldens/manifest.json");
        assertNotNull(url, "the golden copy is missing from the test resources (src/test/resources/goldens)");
        return Path.of(url.toURI()).getParent();
    }
}
