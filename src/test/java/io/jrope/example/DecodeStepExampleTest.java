package io.jrope.example;

import io.jrope.Backend;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One attention layer decoded token by token the way a llama3.java-style runtime does it: q, k and v
 * of the current token live in {@code float[]} buffers, keys go into a {@code float[]} cache, and
 * grouped-query heads share keys. The layer runs twice, once with the runtime's own scalar RoPE loop
 * and once with jrope rotating the same arrays in place, and the attention outputs must agree.
 */
class DecodeStepExampleTest {
    private static final int HEADS = 8;
    private static final int KV_HEADS = 2;
    private static final int HEAD_SIZE = 64;
    private static final int TOKENS = 48;
    private static final double BASE = 500000;

    static Stream<Arguments> layouts() {
        return Stream.of("java", "native").flatMap(backend ->
                Stream.of(Arguments.of(backend, true), Arguments.of(backend, false)));
    }

    @ParameterizedTest(name = "{0}, traditional={1}")
    @MethodSource("layouts")
    void jropeMatchesScalarLoop(String backendName, boolean traditional) {
        Backend backend = Backend.named(backendName);
        Assumptions.assumeTrue(backend.isAvailable(), () -> backendName + " unavailable: " + backend.unavailableReason().orElse(""));
        long seed = new SplittableRandom().nextLong();

        Rope rope = Rope.of(HEAD_SIZE).withBase(BASE).withTraditional(traditional).withBackend(backend);
        float[] expected = runLayer(seed, traditional, null);
        float[] actual = runLayer(seed, traditional, rope);

        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 2e-5f, "output " + i + " (seed " + seed + ")");
        }
    }

    /** The README's Java example must be lines of this file, so that the example is code that runs. */
    @Test
    void readmeSnippetIsThisCode() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        int start = readme.indexOf("```java\n");
        int end = readme.indexOf("```", start + 7);
        assertTrue(start >= 0, "README.md has no ```java block");
        assertTrue(end > start, "README.md's ```java block is not closed");
        Set<String> thisFile = Files.readAllLines(Path.of("src/test/java/io/jrope/example/DecodeStepExampleTest.java"))
                .stream().map(String::strip).collect(Collectors.toSet());

        for (String line : readme.substring(start + 8, end).split("\n")) {
            if (!line.isBlank()) {
                assertTrue(thisFile.contains(line.strip()), "README line is not in this test: " + line.strip());
            }
        }
    }

    /** Decodes {@link #TOKENS} tokens; {@code rope == null} uses the runtime's scalar loop. */
    private static float[] runLayer(long seed, boolean traditional, Rope rope) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] keyCache = new float[TOKENS * KV_HEADS * HEAD_SIZE];
        float[] valueCache = new float[TOKENS * KV_HEADS * HEAD_SIZE];
        // q and k of the current token share one scratch buffer, as some runtimes keep them: q at 0, k after it.
        float[] scratch = new float[(HEADS + KV_HEADS) * HEAD_SIZE];
        int kOffset = HEADS * HEAD_SIZE;
        float[] output = new float[TOKENS * HEADS * HEAD_SIZE];

        for (int position = 0; position < TOKENS; position++) {
            for (int i = 0; i < scratch.length; i++) {
                scratch[i] = (float) random.nextGaussian();
            }
            int cacheRow = position * KV_HEADS * HEAD_SIZE;
            for (int i = 0; i < KV_HEADS * HEAD_SIZE; i++) {
                valueCache[cacheRow + i] = (float) random.nextGaussian();
            }

            if (rope == null) {
                scalarRope(scratch, 0, HEADS, position, traditional);
                scalarRope(scratch, kOffset, KV_HEADS, position, traditional);
            } else {
                // The jrope half, as the README shows it: rotate q and k where they lie.
                Tensor q = Tensor.wrap(scratch, 0, new long[] {1, HEADS, 1, HEAD_SIZE});
                Tensor k = Tensor.wrap(scratch, kOffset, new long[] {1, KV_HEADS, 1, HEAD_SIZE});
                rope.applyInPlace(q, k, Positions.offset(position));
            }

            System.arraycopy(scratch, kOffset, keyCache, cacheRow, KV_HEADS * HEAD_SIZE);
            attend(scratch, keyCache, valueCache, position, output);
        }
        return output;
    }

    /** Rotates heads one after another as the runtime's own loop does: angles in double, rotation in float. */
    private static void scalarRope(float[] data, int offset, int heads, int position, boolean traditional) {
        int half = HEAD_SIZE / 2;
        for (int head = 0; head < heads; head++) {
            int start = offset + head * HEAD_SIZE;
            for (int i = 0; i < half; i++) {
                double theta = position * Math.pow(BASE, -2.0 * i / HEAD_SIZE);
                float cos = (float) Math.cos(theta);
                float sin = (float) Math.sin(theta);
                int first = traditional ? start + 2 * i : start + i;
                int second = traditional ? first + 1 : first + half;
                float u = data[first];
                float v = data[second];
                data[first] = u * cos - v * sin;
                data[second] = u * sin + v * cos;
            }
        }
    }

    /** Softmax attention of every query head over the cached positions 0..position. */
    private static void attend(float[] q, float[] keyCache, float[] valueCache, int position, float[] output) {
        int group = HEADS / KV_HEADS;
        float[] scores = new float[position + 1];
        for (int head = 0; head < HEADS; head++) {
            int kvHead = head / group;
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t <= position; t++) {
                float dot = 0;
                for (int i = 0; i < HEAD_SIZE; i++) {
                    dot += q[head * HEAD_SIZE + i] * keyCache[(t * KV_HEADS + kvHead) * HEAD_SIZE + i];
                }
                scores[t] = dot / (float) Math.sqrt(HEAD_SIZE);
                max = Math.max(max, scores[t]);
            }
            float sum = 0;
            for (int t = 0; t <= position; t++) {
                scores[t] = (float) Math.exp(scores[t] - max);
                sum += scores[t];
            }
            int out = (position * HEADS + head) * HEAD_SIZE;
            for (int t = 0; t <= position; t++) {
                float weight = scores[t] / sum;
                for (int i = 0; i < HEAD_SIZE; i++) {
                    output[out + i] += weight * valueCache[(t * KV_HEADS + kvHead) * HEAD_SIZE + i];
                }
            }
        }
    }
}
