package io.jrope.cli;

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

    @Option(names = "--low-freq-factor", paramLabel = "F", defaultValue = "1",
            description = "llama3: wavelengths above N/F are divided by the factor (default: ${DEFAULT-VALUE}).")
    double lowFreqFactor;

    @Option(names = "--high-freq-factor", paramLabel = "F", defaultValue = "4",
            description = "llama3: wavelengths below N/F keep their frequency (default: ${DEFAULT-VALUE}).")
    double highFreqFactor;

    @Option(names = "--beta-fast", paramLabel = "B", defaultValue = "32",
            description = "yarn: rotations where extrapolation starts (default: ${DEFAULT-VALUE}).")
    double betaFast;

    @Option(names = "--beta-slow", paramLabel = "B", defaultValue = "1",
            description = "yarn: rotations where interpolation is complete (default: ${DEFAULT-VALUE}).")
    double betaSlow;

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
            description = "Tokens being served, for dynamic NTK and LongRoPE (default: the input's T).")
    long sequenceLength;

    /** True when any option of this group was given. */
    boolean present() {
        return ropeConfig != null || ropeType != null;
    }

    /** Reads the config file into parameters (dims, base, scaling) on {@code backend}'s defaults. */
    Rope fromConfig() throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> config = new ObjectMapper().readValue(Files.readAllBytes(ropeConfig), Map.class);
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
            case "llama3" -> RopeScaling.llama3(f, lowFreqFactor, highFreqFactor, original(maxPositionsFallback));
            case "yarn" -> {
                RopeScaling.Yarn yarn = RopeScaling.yarn(f, original(maxPositionsFallback))
                        .withBetas(betaFast, betaSlow)
                        .withTruncate(!noTruncate)
                        .withMscale(mscale == null ? Double.NaN : mscale, mscaleAllDim == null ? Double.NaN : mscaleAllDim);
                yield yarn;
            }
            default -> throw new IllegalArgumentException("--rope-type must be linear, dynamic, yarn or llama3, got '"
                    + ropeType + "'");
        };
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
