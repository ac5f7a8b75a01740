package io.jrope.scaling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jrope.Rope;
import io.jrope.RopeScaling;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Worked values of the scaling presets, each recomputed here in float64 from the published formulas. */
class RopeScalingTest {

    private static double[] plain(double base, int dims) {
        double[] w = new double[dims / 2];
        for (int i = 0; i < w.length; i++) {
            w[i] = 1.0 / Math.pow(base, (2.0 * i) / dims);
        }
        return w;
    }

    @Test
    void llama31BandsCount() {
        double base = 5e5;
        int dims = 128;
        double[] w = plain(base, dims);
        double[] scaled = RopeScaling.llama3(8, 1, 4, 8192).frequencies(base, dims, 0).inverseFrequencies();

        int kept = 0;
        int divided = 0;
        int smoothed = 0;
        for (int i = 0; i < w.length; i++) {
            double ratio = scaled[i] / w[i];
            if (Math.abs(ratio - 1) < 1e-12) {
                kept++;
            } else if (Math.abs(ratio - 1.0 / 8) < 1e-12) {
                divided++;
            } else {
                smoothed++;
                assertTrue(ratio > 1.0 / 8, "pair " + i + " smoothed ratio " + ratio + " above 1/8");
                assertTrue(ratio < 1, "pair " + i + " smoothed ratio " + ratio + " below 1");
            }
        }
        assertEquals(29, kept, "pairs kept");
        assertEquals(29, divided, "pairs divided by 8");
        assertEquals(6, smoothed, "pairs smoothed");
    }

    @Test
    void llama3SmoothedPairsFollowFormula() {
        double base = 5e5;
        int dims = 128;
        double[] w = plain(base, dims);
        double[] scaled = RopeScaling.llama3(8, 1, 4, 8192).frequencies(base, dims, 0).inverseFrequencies();
        for (int i = 0; i < w.length; i++) {
            double wavelength = 2 * Math.PI / w[i];
            if (wavelength >= 8192.0 / 4 && wavelength <= 8192.0) {
                double s = (8192.0 / wavelength - 1) / (4 - 1);
                double expected = (1 - s) * w[i] / 8 + s * w[i];
                assertEquals(expected, scaled[i], expected * 1e-14, "pair " + i);
            }
        }
    }

    @Test
    void llama3MatchesMlxGoldenFrequencies() throws IOException {
        JsonNode scaling = null;
        JsonNode expected = null;
        try (InputStream in = RopeScalingTest.class.getResourceAsStream("/goldens/manifest.json")) {
            assertTrue(in != null, "test resource /goldens/manifest.json is missing");
            for (JsonNode c : new ObjectMapper().readTree(in).get("cases")) {
                if (c.get("name").asText().equals("custom_freqs_llama3")) {
                    scaling = c.get("freqs_info").get("scaling");
                    expected = c.get("freqs_info").get("scaled_inv_freq_float64");
                }
            }
        }
        assertTrue(scaling != null, "golden case custom_freqs_llama3 or its scaling not found");
        assertTrue(expected != null, "golden case custom_freqs_llama3 has no scaled_inv_freq_float64");

        double[] scaled = RopeScaling.llama3(scaling.get("factor").asDouble(), scaling.get("low_freq_factor").asDouble(),
                        scaling.get("high_freq_factor").asDouble(), scaling.get("original_max_position_embeddings").asLong())
                .frequencies(scaling.get("base").asDouble(), 64, 0).inverseFrequencies();
        assertEquals(expected.size(), scaled.length, "pairs");
        for (int i = 0; i < scaled.length; i++) {
            double want = expected.get(i).asDouble();
            assertEquals(want, scaled[i], want * 1e-12, "pair " + i);
        }
    }

    @Test
    void yarnGptOssRangeWithoutTruncation() {
        RopeScaling.Yarn yarn = RopeScaling.yarn(32, 4096).withTruncate(false);
        assertEquals(8.092779, yarn.low(1.5e5, 64), 1e-6, "low");
        assertEquals(17.398025, yarn.high(1.5e5, 64), 1e-6, "high");
        assertEquals(1.346574, yarn.magnitude(), 1e-6, "attention factor");
        assertEquals(1.346574, yarn.frequencies(1.5e5, 64, 0).attentionFactor(), 1e-6, "preset factor");
    }

    @Test
    void yarnGptOssRangeWithTruncation() {
        RopeScaling.Yarn yarn = RopeScaling.yarn(32, 4096);
        assertEquals(8.0, yarn.low(1.5e5, 64), "low");
        assertEquals(18.0, yarn.high(1.5e5, 64), "high");
    }

    @Test
    void yarnRampBlendsInterpolation() {
        double base = 1.5e5;
        int dims = 64;
        RopeScaling.Yarn yarn = RopeScaling.yarn(32, 4096).withTruncate(false);
        double[] w = plain(base, dims);
        double[] scaled = yarn.frequencies(base, dims, 0).inverseFrequencies();
        double low = 64 * Math.log(4096 / (32 * 2 * Math.PI)) / (2 * Math.log(base));
        double high = 64 * Math.log(4096 / (1 * 2 * Math.PI)) / (2 * Math.log(base));
        for (int i = 0; i < w.length; i++) {
            double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
            double expected = w[i] / 32 * ramp + w[i] * (1 - ramp);
            assertEquals(expected, scaled[i], expected * 1e-13, "pair " + i);
        }
        assertEquals(w[0], scaled[0], 0.0, "fastest pair extrapolates");
        assertEquals(w[31] / 32, scaled[31], w[31] * 1e-15, "slowest pair interpolates");
    }

    @Test
    void yarnExplicitAttentionFactorWins() {
        RopeScaling.Yarn yarn = RopeScaling.yarn(40, 4096).withMscale(1.0, 0.707).withAttentionFactor(1.0);
        assertEquals(1.0, yarn.magnitude(), 0.0);
    }

    @Test
    void yarnEqualMscalesGiveOne() {
        RopeScaling.Yarn yarn = RopeScaling.yarn(40, 4096).withMscale(1.0, 1.0);
        assertEquals(1.0, yarn.magnitude(), 1e-15);
    }

    @Test
    void yarnMscaleRatio() {
        RopeScaling.Yarn yarn = RopeScaling.yarn(40, 4096).withMscale(1.0, 0.707);
        double expected = (0.1 * Math.log(40) + 1) / (0.1 * 0.707 * Math.log(40) + 1);
        assertEquals(expected, yarn.magnitude(), 1e-15);
    }

    @Test
    void dynamicKeepsBaseAtTrainedLength() {
        double[] scaled = RopeScaling.dynamic(4, 2048).frequencies(10000, 128, 2048).inverseFrequencies();
        double[] w = plain(10000, 128);
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i], scaled[i], w[i] * 1e-15, "pair " + i);
        }
    }

    @Test
    void dynamicShorterSequenceHasNoNan() {
        double[] scaled = RopeScaling.dynamic(4, 2048).frequencies(10000, 128, 100).inverseFrequencies();
        double[] unknown = RopeScaling.dynamic(4, 2048).frequencies(10000, 128, 0).inverseFrequencies();
        double[] w = plain(10000, 128);
        for (int i = 0; i < w.length; i++) {
            assertFalse(Double.isNaN(scaled[i]), "pair " + i + " is NaN");
            assertEquals(w[i], scaled[i], w[i] * 1e-15, "pair " + i);
            assertEquals(w[i], unknown[i], w[i] * 1e-15, "pair " + i + " with unknown length");
        }
    }

    @Test
    void dynamicLongerSequenceGrowsBase() {
        int dims = 128;
        double[] scaled = RopeScaling.dynamic(4, 2048).frequencies(10000, dims, 8192).inverseFrequencies();
        double newBase = 10000 * Math.pow(4.0 * 8192 / 2048 - 3, dims / (dims - 2.0));
        double[] expected = plain(newBase, dims);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], scaled[i], expected[i] * 1e-13, "pair " + i);
        }
    }

    @Test
    void dynamicRopeFollowsCallLength() {
        Rope rope = Rope.of(64).withBase(10000).withScaling(RopeScaling.dynamic(4, 2048))
                .withBackend(io.jrope.Backend.java());
        float[] values = new float[64];
        values[5] = 1;

        for (long position : new long[] {100, 2047, 5000, 9000}) {
            try (io.jrope.Tensor x = io.jrope.Tensor.copyOf(values, io.jrope.DType.FLOAT32, 1, 64);
                 io.jrope.Tensor y = rope.apply(x, position)) {
                long length = Math.max(position + 1, 2048);
                double base = 10000 * Math.pow(4.0 * length / 2048 - 3, 64 / 62.0);
                double w5 = Math.pow(base, -10.0 / 64);
                assertEquals(Math.cos(position * w5), y.getFloat(0, 5), 1e-6, "cos of pair 5 at position " + position);
            }
        }
    }

    @Test
    void fixedSequenceLengthWins() {
        Rope rope = Rope.of(64).withBase(10000).withScaling(RopeScaling.dynamic(4, 2048)).forSequenceLength(2048)
                .withBackend(io.jrope.Backend.java());
        float[] values = new float[64];
        values[5] = 1;
        try (io.jrope.Tensor x = io.jrope.Tensor.copyOf(values, io.jrope.DType.FLOAT32, 1, 64);
             io.jrope.Tensor y = rope.apply(x, 9000)) {
            assertEquals(Math.cos(9000 * Math.pow(10000, -10.0 / 64)), y.getFloat(0, 5), 1e-6, "unscaled base");
        }
    }

    @Test
    void linearDividesByFactor() {
        double[] scaled = RopeScaling.linear(4).frequencies(10000, 64, 0).inverseFrequencies();
        double[] w = plain(10000, 64);
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i] / 4, scaled[i], w[i] * 1e-15, "pair " + i);
        }
    }

    @Test
    void longRopePhi3AttentionFactor() {
        double[] ones = new double[48];
        java.util.Arrays.fill(ones, 1.0);
        RopeScaling.LongRope longRope = new RopeScaling.LongRope(ones, ones, 4096, 131072,
                RopeScaling.LongRope.Policy.SWITCH_BY_LENGTH, Double.NaN);
        assertEquals(Math.sqrt(1 + Math.log(32) / Math.log(4096)), longRope.magnitude(), 1e-15);
        assertEquals(1.1902, longRope.magnitude(), 5e-5);
    }

    @Test
    void longRopeSwitchesByLength() {
        double[] shortFactor = new double[4];
        double[] longFactor = new double[4];
        java.util.Arrays.fill(shortFactor, 1.5);
        java.util.Arrays.fill(longFactor, 6.0);
        RopeScaling.LongRope switching = new RopeScaling.LongRope(shortFactor, longFactor, 4096, 131072,
                RopeScaling.LongRope.Policy.SWITCH_BY_LENGTH, Double.NaN);
        RopeScaling.LongRope alwaysLong = new RopeScaling.LongRope(shortFactor, longFactor, 4096, 131072,
                RopeScaling.LongRope.Policy.ALWAYS_LONG, Double.NaN);
        double[] w = plain(10000, 8);

        assertEquals(w[2] / 1.5, switching.frequencies(10000, 8, 4096).inverseFrequencies()[2], 1e-18, "short at L0");
        assertEquals(w[2] / 6.0, switching.frequencies(10000, 8, 4097).inverseFrequencies()[2], 1e-18, "long past L0");
        assertEquals(w[2] / 6.0, alwaysLong.frequencies(10000, 8, 10).inverseFrequencies()[2], 1e-18, "always long");
    }

    @Test
    void longRopeRejectsWrongLength() {
        double[] threeFactors = {1, 1, 1};
        double[] fourFactors = {2, 2, 2, 2};
        RopeScaling.LongRope longRope = new RopeScaling.LongRope(threeFactors, fourFactors, 4096, 131072,
                RopeScaling.LongRope.Policy.SWITCH_BY_LENGTH, Double.NaN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> longRope.frequencies(10000, 8, 0));
        assertTrue(e.getMessage().contains("shortFactor must have length dims/2=4, got 3"), e.getMessage());
    }

    @Test
    void ropeTakesPresetFactor() {
        Rope rope = Rope.of(64).withBase(1.5e5).withScaling(RopeScaling.yarn(32, 4096).withTruncate(false));
        assertEquals(1.346574, rope.attentionFactor(), 1e-6, "from preset");
        assertEquals(1.0, rope.withAttentionFactor(1.0).attentionFactor(), 0.0, "explicit override");
    }

    @Test
    void ropeRejectsScalingWithFreqs() {
        Rope withFreqs = Rope.of(4).withFreqs(new float[] {1, 2});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> withFreqs.withScaling(RopeScaling.linear(2)));
        assertTrue(e.getMessage().contains("freqs"), e.getMessage());
    }
}
