package io.jrope.scaling;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jrope.HuggingFaceRopeConfig;
import io.jrope.Rope;
import io.jrope.RopeScaling;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parameters built from config.json text the way model repositories publish it. */
class HuggingFaceRopeConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parse(String json) throws Exception {
        return JSON.readValue(json.replace('\'', '"'), Map.class);
    }

    @Test
    void llama31Config() throws Exception {
        Rope rope = HuggingFaceRopeConfig.fromConfig(parse("""
                {'hidden_size': 4096, 'num_attention_heads': 32, 'max_position_embeddings': 131072,
                 'rope_theta': 500000.0, 'model_type': 'llama',
                 'rope_scaling': {'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
                                  'original_max_position_embeddings': 8192, 'rope_type': 'llama3'}}"""));

        assertEquals(128, rope.dims(), "dims");
        assertEquals(500000.0, rope.base(), "base");
        assertEquals(false, rope.traditional(), "pairing");
        double[] expected = RopeScaling.llama3(8, 1, 4, 8192).frequencies(500000, 128, 0).inverseFrequencies();
        assertArrayEquals(expected, rope.inverseFrequencies(), 0.0, "frequencies");
    }

    @Test
    void gptOssYarnConfig() throws Exception {
        Rope rope = HuggingFaceRopeConfig.fromConfig(parse("""
                {'head_dim': 64, 'hidden_size': 2880, 'num_attention_heads': 64, 'max_position_embeddings': 131072,
                 'rope_theta': 150000,
                 'rope_scaling': {'beta_fast': 32.0, 'beta_slow': 1.0, 'factor': 32.0,
                                  'original_max_position_embeddings': 4096, 'rope_type': 'yarn', 'truncate': false}}"""));

        assertEquals(64, rope.dims(), "dims from head_dim");
        assertEquals(1.346574, rope.attentionFactor(), 1e-6, "attention factor");
        RopeScaling.Yarn yarn = assertInstanceOf(RopeScaling.Yarn.class, rope.scaling());
        assertEquals(8.092779, yarn.low(150000, 64), 1e-6, "low");
    }

    @Test
    void phi3LongRopeConfig() throws Exception {
        StringBuilder factors = new StringBuilder();
        for (int i = 0; i < 48; i++) {
            factors.append(i == 0 ? "" : ",").append(1.0 + i * 0.5);
        }
        Rope rope = HuggingFaceRopeConfig.fromConfig(parse("""
                {'hidden_size': 3072, 'num_attention_heads': 32, 'max_position_embeddings': 131072,
                 'original_max_position_embeddings': 4096, 'rope_theta': 10000.0,
                 'rope_scaling': {'type': 'longrope', 'short_factor': [%s], 'long_factor': [%s]}}"""
                .formatted(factors, factors)));

        assertEquals(96, rope.dims(), "dims");
        assertEquals(1.1902, rope.attentionFactor(), 5e-5, "attention factor");
    }

    @Test
    void partialRotaryFactor() throws Exception {
        Rope rope = HuggingFaceRopeConfig.fromConfig(parse("""
                {'head_dim': 256, 'partial_rotary_factor': 0.25, 'rope_theta': 10000000}"""));
        assertEquals(64, rope.dims());
        assertNull(rope.scaling());
    }

    @Test
    void ropeParametersBlock() throws Exception {
        Rope rope = HuggingFaceRopeConfig.fromConfig(parse("""
                {'head_dim': 128, 'rope_parameters': {'rope_type': 'linear', 'factor': 2.0, 'rope_theta': 1000000.0}}"""));
        assertEquals(1000000.0, rope.base(), "rope_theta inside rope_parameters");
        assertInstanceOf(RopeScaling.Linear.class, rope.scaling());
    }

    @Test
    void yarnWithoutTopLevelMaxPositions() throws Exception {
        Rope rope = HuggingFaceRopeConfig.fromConfig(parse("""
                {'head_dim': 64, 'rope_theta': 150000,
                 'rope_scaling': {'rope_type': 'yarn', 'factor': 32.0, 'original_max_position_embeddings': 4096}}"""));
        assertEquals(1.346574, rope.attentionFactor(), 1e-6);
    }

    @Test
    void longRopeLongFactorLengthRejectedUpFront() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceRopeConfig.fromConfig(
                parse("""
                        {'head_dim': 8, 'max_position_embeddings': 131072,
                         'rope_scaling': {'rope_type': 'longrope', 'original_max_position_embeddings': 4096,
                                          'short_factor': [1, 1, 1, 1], 'long_factor': [2, 2]}}""")));
        assertTrue(e.getMessage().contains("longFactor must have length dims/2=4, got 2"), e.getMessage());
    }

    @Test
    void longRopeDecodePicksFactorsByPosition() throws Exception {
        StringBuilder shortFactors = new StringBuilder();
        StringBuilder longFactors = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            shortFactors.append(i == 0 ? "" : ",").append(1.0 + i);
            longFactors.append(i == 0 ? "" : ",").append(10.0 + i);
        }
        Rope rope = HuggingFaceRopeConfig.fromConfig(parse("""
                {'head_dim': 8, 'max_position_embeddings': 131072, 'original_max_position_embeddings': 4096,
                 'rope_scaling': {'type': 'longrope', 'short_factor': [%s], 'long_factor': [%s]}}"""
                .formatted(shortFactors, longFactors))).withBackend(io.jrope.Backend.java());
        float[] pair = {0, 0, 0, 1, 0, 0, 0, 0};

        for (long position : new long[] {100, 4095, 4096, 6000}) {
            try (io.jrope.Tensor x = io.jrope.Tensor.copyOf(pair, io.jrope.DType.FLOAT32, 1, 8);
                 io.jrope.Tensor y = rope.apply(x, position)) {
                // HF picks the long factors once max(position_ids) + 1 exceeds 4096.
                double factor = position + 1 > 4096 ? 13.0 : 4.0;
                double w3 = Math.pow(10000, -6.0 / 8) / factor;
                double m = Math.sqrt(1 + Math.log(32) / Math.log(4096));
                assertEquals(m * Math.cos(position * w3), y.getFloat(0, 3), 1e-6, "cos of pair 3 at position " + position);
            }
        }
    }

    @Test
    void unknownFieldRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceRopeConfig.fromConfig(
                parse("{'head_dim': 128, 'rope_scaling': {'rope_type': 'linear', 'factor': 2.0, 'beta_fast': 32}}")));
        assertTrue(e.getMessage().contains("'beta_fast'"), e.getMessage());
        assertTrue(e.getMessage().contains("'linear'"), e.getMessage());
    }

    @Test
    void unknownTypeRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceRopeConfig.fromConfig(
                parse("{'head_dim': 128, 'rope_scaling': {'rope_type': 'su', 'factor': 2.0}}")));
        assertTrue(e.getMessage().contains("rope_type must be one of"), e.getMessage());
        assertTrue(e.getMessage().contains("'su'"), e.getMessage());
    }

    @Test
    void inconsistentLlama3Rejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceRopeConfig.fromConfig(
                parse("""
                        {'head_dim': 128, 'rope_scaling': {'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 4.0,
                         'high_freq_factor': 1.0, 'original_max_position_embeddings': 8192}}""")));
        assertTrue(e.getMessage().contains("highFreqFactor must be > lowFreqFactor"), e.getMessage());
    }

    @Test
    void conflictingBlocksRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceRopeConfig.fromConfig(
                parse("""
                        {'head_dim': 128, 'rope_scaling': {'rope_type': 'linear', 'factor': 2.0},
                         'rope_parameters': {'rope_type': 'linear', 'factor': 4.0}}""")));
        assertTrue(e.getMessage().contains("rope_scaling and rope_parameters"), e.getMessage());
    }

    @Test
    void oddRotatedDimsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceRopeConfig.fromConfig(
                parse("{'head_dim': 10, 'partial_rotary_factor': 0.5}")));
        assertTrue(e.getMessage().contains("gives 5 rotated features"), e.getMessage());
    }

    @Test
    void longRopeWrongLengthRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceRopeConfig.fromConfig(
                parse("""
                        {'head_dim': 8, 'max_position_embeddings': 131072,
                         'rope_scaling': {'rope_type': 'longrope', 'original_max_position_embeddings': 4096,
                                          'short_factor': [1, 1, 1], 'long_factor': [2, 2, 2, 2]}}""")));
        assertTrue(e.getMessage().contains("shortFactor must have length dims/2=4, got 3"), e.getMessage());
    }
}
