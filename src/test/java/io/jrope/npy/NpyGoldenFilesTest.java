package io.jrope.npy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jrope.DType;
import io.jrope.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Reads every file of the MLX golden set (written by NumPy) and checks it against the manifest, read
 * here with plain Jackson so that the golden package is not involved.
 */
class NpyGoldenFilesTest {
    @TestFactory
    List<DynamicTest> goldenFilesMatchManifest() throws IOException, URISyntaxException {
        Path folder = goldensFolder();
        JsonNode manifest = new ObjectMapper().readTree(folder.resolve("manifest.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode goldenCase : manifest.path("cases")) {
            String name = goldenCase.path("name").asText();
            for (Map.Entry<String, JsonNode> file : goldenCase.path("files").properties()) {
                Path path = folder.resolve(name).resolve(file.getValue().asText());
                tests.add(DynamicTest.dynamicTest(name + "/" + file.getKey(),
                        () -> checkFile(goldenCase, file.getKey(), path)));
            }
        }
        return tests;
    }

    private static void checkFile(JsonNode goldenCase, String role, Path path) throws IOException {
        boolean periods = role.equals("freqs");
        DType dtype = periods ? DType.FLOAT32 : DType.fromName(goldenCase.path("dtype").asText());
        NpyHeader header = Npy.readHeader(path);
        assertEquals(periods ? "<f4" : goldenCase.path("npy_dtype").asText(), header.descr(), "descr of " + path);

        try (Tensor tensor = Npy.readTensor(path, dtype)) {
            long[] expectedShape = switch (role) {
                case "freqs" -> new long[] {goldenCase.path("dims").asInt() / 2};
                case "input_base" -> longs(goldenCase.path("base_shape"));
                default -> longs(goldenCase.path("shape"));
            };
            assertArrayEquals(expectedShape, tensor.shape(), "shape of " + path);

            if (role.equals("input") && goldenCase.has("max_abs_input")) {
                assertEquals(goldenCase.path("max_abs_input").asDouble(), maxAbs(tensor), 0.0,
                        "max |x| of " + path + " (bfloat16 files decode as bits << 16)");
            }

            ByteArrayOutputStream rewritten = new ByteArrayOutputStream();
            Npy.writeTensor(rewritten, tensor);
            assertArrayEquals(Files.readAllBytes(path), rewritten.toByteArray(),
                    "writing " + path + " back does not reproduce NumPy's bytes");
        }
    }

    static Path goldensFolder() throws URISyntaxException {
        var url = NpyGoldenFilesTest.class.getResource("/goldens/manifest.json");
        assertNotNull(url, "the golden copy is missing from the test resources (src/test/resources/goldens)");
        return Path.of(url.toURI()).getParent();
    }

    private static long[] longs(JsonNode array) {
        long[] values = new long[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asLong();
        }
        return values;
    }

    private static double maxAbs(Tensor tensor) {
        double max = 0;
        for (float value : tensor.toFloatArray()) {
            max = Math.max(max, Math.abs(value));
        }
        return max;
    }
}
