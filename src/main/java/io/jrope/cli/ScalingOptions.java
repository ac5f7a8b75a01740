package io.jrope.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jrope.HuggingFaceRopeConfig;
import io.jrope.Rope;
import io.jrope.RopeScaling;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Long-context scaling options of {@code jrope apply}: a model's {@code config.json}, or a preset named
 * on the command line. Values left out take Hugging Face's defaults.
 */
final class ScalingOptions {
    @Option(names = "--rope-config", paramLabel = "FILE",
            description = "A Hugging Face config.json: dims, base and scaling come from its rope_theta, head_dim "
                    + "(or hidden_size / num_attention_heads), partial_rotary_factor and rope_scaling.")
    Path ropeConfig;

    @Option(names = "--rope-type", paramLabel = "TYPE",
            description = "Scaling preset: linear, dynamic, yarn or llama3 (LongRoPE needs factor lists: use "
                    + "--rope-config).")
    String ropeType;

    @Option(names = "--factor", paramLabel = "F", description = "Context extension factor of the preset.")
    Double factor;

    @Option(names = "--original-max-positions", paramLabel = "N",
            description = "Context length the model was trained with (dynamic, yarn, llama3).")
    Long originalMaxPositions;

    @Option(names = "--low-freq-factor", paramLabel = "F",
            description = "llama3: wavelengths above N/F are divided by the factor (default: 1).")
    Double lowFreqFactor;

    @Option(names = "--high-freq-factor", paramLabel = "F",
            description = "llama3: wavelengths below N/F keep their frequency (default: 4).")
    Double highFreqFactor;

    @Option(names = "--beta-fast", paramLabel = "B",
            description = "yarn: rotations where extrapolation starts (default: 32).")
    Double betaFast;

    @Option(names = "--beta-slow", paramLabel = "B",
            description = "yarn: rotations where interpolation is complete (default: 1).")
    Double betaSlow;

    @Option(names = "--no-truncate", description = "yarn: keep the correction range fractional (GPT-OSS).")
    boolean noTruncate;

    @Option(names = "--mscale", paramLabel = "M", description = "yarn: mscale (with --mscale-all-dim).")
    Double mscale;

    @Option(names = "--mscale-all-dim", paramLabel = "M", description = "yarn: mscale_all_dim.")
    Double mscaleAllDim;

    @Option(names = "--attention-factor", paramLabel = "M",
            description = "Factor multiplying cos and sin; overrides the preset's.")
    Double attentionFactor;

    @Option(names = "--sequence-length", paramLabel = "N", defaultValue = "0",
            description = "Sequence length for dynamic NTK and LongRoPE (default: the largest position + 1, as "
                    + "Hugging Face computes it).")
    long sequenceLength;

    /** Reads the config file into parameters (dims, base, scaling). */
    Rope fromConfig() throws IOException {
        Map<String, Object> config;
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> parsed = new ObjectMapper().readValue(Files.readAllBytes(ropeConfig), Map.class);
            config = parsed;
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            throw new IllegalArgumentException(ropeConfig + " is not valid JSON: " + e.getOriginalMessage() + where, e);
        }
        return HuggingFaceRopeConfig.fromConfig(config);
    }

    /** The preset named by {@code --rope-type}, or null. */
    RopeScaling preset(long maxPositionsFallback) {
        if (ropeType == null) {
            return null;
        }
        String type = ropeType.toLowerCase(Locale.ROOT);
        double f = required(factor, "--factor");
        return switch (type) {
            case "linear" -> RopeScaling.linear(f);
            case "dynamic" -> RopeScaling.dynamic(f, original(maxPositionsFallback));
            case "llama3" -> RopeScaling.llama3(f, orDefault(lowFreqFactor, 1), orDefault(highFreqFactor, 4),
                    original(maxPositionsFallback));
            case "yarn" -> {
                RopeScaling.Yarn yarn = RopeScaling.yarn(f, original(maxPositionsFallback))
                        .withBetas(orDefault(betaFast, 32), orDefault(betaSlow, 1))
                        .withTruncate(!noTruncate)
                        .withMscale(mscale == null ? Double.NaN : mscale, mscaleAllDim == null ? Double.NaN : mscaleAllDim);
                yield yarn;
            }
            default -> throw new IllegalArgumentException("--rope-type must be linear, dynamic, yarn or llama3, got '"
                    + ropeType + "'");
        };
    }

    /**
     * Returns a message for an option given without the preset it belongs to (silently ignoring it
     * would run another rotation than the one asked for), or null.
     */
    String misplacedOption() {
        String type = ropeType == null ? "" : ropeType.toLowerCase(Locale.ROOT);
        boolean yarn = type.equals("yarn");
        boolean llama3 = type.equals("llama3");
        if (ropeType == null && (factor != null || originalMaxPositions != null)) {
            return "--factor and --original-max-positions need --rope-type";
        }
        if (!llama3 && (lowFreqFactor != null || highFreqFactor != null)) {
            return "--low-freq-factor and --high-freq-factor apply to --rope-type llama3 only";
        }
        if (!yarn && (betaFast != null || betaSlow != null || noTruncate || mscale != null || mscaleAllDim != null)) {
            return "--beta-fast, --beta-slow, --no-truncate, --mscale and --mscale-all-dim apply to --rope-type yarn only";
        }
        return null;
    }

    private static double orDefault(Double value, double fallback) {
        return value == null ? fallback : value;
    }

    private long original(long fallback) {
        if (originalMaxPositions != null) {
            return originalMaxPositions;
        }
        if (fallback > 0) {
            return fallback;
        }
        throw new IllegalArgumentException("--original-max-positions is missing; " + ropeType + " needs it");
    }

    private static double required(Double value, String option) {
        if (value == null) {
            throw new IllegalArgumentException(option + " is missing; the preset needs it");
        }
        return value;
    }
}
