package io.jrope.cli;

import io.jrope.DType;
import io.jrope.Tensor;
import io.jrope.npy.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckCommandTest {
    @TempDir
    Path folder;

    @Test
    void goldenCopyPasses() throws URISyntaxException {
        CliResult result = CliResult.run("check", "--goldens", goldens().toString(), "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        assertTrue(result.out().contains("basic_trad0 (inverse)"), result.transcript());
        assertTrue(result.out().contains("noncontig_swapaxes_trad0"), result.transcript());
        assertTrue(result.out().contains("rejected like MLX"), result.transcript());
        assertFalse(result.out().contains("FAIL"), result.transcript());
    }

    @Test
    void bundledCasesPass() {
        CliResult result = CliResult.run("check", "--backend", "java");

        assertEquals(0, result.exitCode(), result.transcript());
        assertTrue(result.out().contains("classpath:/io/jrope/demo/manifest.json"), result.transcript());
    }

    @Test
    void tamperedOutputFails() throws IOException, URISyntaxException {
        Path copy = copyGoldens();
        Path output = copy.resolve("basic_trad0").resolve("output.npy");
        try (Tensor tensor = Npy.readTensor(output, DType.FLOAT32)) {
            tensor.setFloat(tensor.getFloat(0, 0, 3, 5) + 1e-3f, 0, 0, 3, 5);
            Npy.writeTensor(output, tensor);
        }

        CliResult result = CliResult.run("check", "--goldens", copy.toString(), "--backend", "java");

        assertEquals(Main.EXIT_FAILURE, result.exitCode(), result.transcript());
        assertTrue(lineOf(result, "basic_trad0 ").contains("FAIL"), result.transcript());
        assertTrue(lineOf(result, "basic_trad1 ").contains("pass"), result.transcript());
    }

    @Test
    void acceptedErrorCaseFails() throws IOException, URISyntaxException {
        Path copy = copyGoldens();
        Path manifest = copy.resolve("manifest.json");
        String text = Files.readString(manifest);
        String tampered = text.replace("\"dims\": 15,", "\"dims\": 16,");
        assertFalse(text.equals(tampered), "the error case no longer has dims 15");
        Files.writeString(manifest, tampered);

        CliResult result = CliResult.run("check", "--goldens", copy.toString(), "--backend", "java");

        assertEquals(Main.EXIT_FAILURE, result.exitCode(), result.transcript());
        assertTrue(lineOf(result, "dims_odd_15_of_16").contains("FAIL: accepted an input MLX rejects"),
                result.transcript());
    }

    @Test
    void missingGoldensFolderFails() {
        Path missing = folder.resolve("nowhere");

        CliResult result = CliResult.run("check", "--goldens", missing.toString());

        assertEquals(Main.EXIT_FAILURE, result.exitCode(), result.transcript());
        assertTrue(result.err().startsWith("jrope: error: no golden manifest at "), result.transcript());
    }

    private static String lineOf(CliResult result, String prefix) {
        return result.out().lines().filter(line -> line.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no line for " + prefix + " in\n" + result.transcript()));
    }

    private Path copyGoldens() throws IOException, URISyntaxException {
        Path source = goldens();
        Path target = folder.resolve("goldens");
        try (Stream<Path> paths = Files.walk(source)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path destination = target.resolve(source.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(destination);
                } else {
                    Files.copy(path, destination);
                    destination.toFile().setWritable(true);
                }
            }
        }
        return target;
    }

    private static Path goldens() throws URISyntaxException {
        URL url = CheckCommandTest.class.getResource("/goldens/manifest.json");
        assertNotNull(url, "the golden copy is missing from the test resources (src/test/resources/goldens)");
        return Path.of(url.toURI()).getParent();
    }
}
