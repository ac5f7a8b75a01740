package io.jrope;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Builds {@link Rope} parameters from a Hugging Face model's {@code config.json}, already parsed into
 * a map (any JSON library will do; jrope itself parses no JSON).
 *
 * <p>Reads {@code rope_theta}, {@code head_dim} (else {@code hidden_size / num_attention_heads}),
 * {@code partial_rotary_factor}, {@code max_position_embeddings}, and the scaling block
 * {@code rope_scaling} or its newer name {@code rope_parameters}. Other top-level fields are ignored;
 * an unknown field inside the scaling block, an unknown {@code rope_type}, or values that contradict
 * each other are rejected with {@link IllegalArgumentException}.
 *
 * <p>HF applies RoPE with {@code rotate_half}, so the result uses split-half pairs
 * ({@code traditional = false}). GGUF-converted weights use interleaved pairs instead: call
 * {@link Rope#withTraditional(boolean)} for those.
 */
public final class HuggingFaceRopeConfig {
    private static final Map<String, Set<String>> FIELDS_BY_TYPE = Map.of(
            "default", Set.of(),
            "linear", Set.of("factor"),
            "dynamic", Set.of("factor", "original_max_position_embeddings"),
            "yarn", Set.of("factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "mscale",
                    "mscale_all_dim", "attention_factor", "truncate"),
            "llama3", Set.of("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
            "longrope", Set.of("short_factor", "long_factor", "original_max_position_embeddings", "attention_factor",
                    "factor"));
    private static final Set<String> COMMON_FIELDS = Set.of("rope_type", "type", "rope_theta", "partial_rotary_factor");

    private HuggingFaceRopeConfig() {
    }

    /**
     * Returns RoPE parameters for {@code config}, with the scaling preset it names, on the
     * {@code auto} backend. LongRoPE switches factor sets by sequence length, as HF does.
     *
     * @throws IllegalArgumentException naming the field, its value and what is valid
     */
    public static Rope fromConfig(Map<String, ?> config) {
        return fromConfig(config, RopeScaling.LongRope.Policy.SWITCH_BY_LENGTH);
    }

    /** As {@link #fromConfig(Map)}, with an explicit LongRoPE factor-set policy. */
    public static Rope fromConfig(Map<String, ?> config, RopeScaling.LongRope.Policy longRopePolicy) {
        Map<String, ?> scalingBlock = scalingBlock(config);

        double base = number(scalingBlock, "rope_theta", number(config, "rope_theta", 10000.0));
        double partial = number(scalingBlock, "partial_rotary_factor", number(config, "partial_rotary_factor", 1.0));
        if (!(partial > 0 && partial <= 1)) {
            throw new IllegalArgumentException("partial_rotary_factor must be in (0, 1], got " + partial);
        }
        long headDim = headDim(config);
        int dims = (int) (headDim * partial);
        if (dims < 2 || dims % 2 != 0) {
            throw new IllegalArgumentException("head_dim " + headDim + " * partial_rotary_factor " + partial
                    + " gives " + dims + " rotated features; it must be even and >= 2");
        }

        Rope rope = Rope.of(dims).withBase(base);
        if (scalingBlock == null) {
            return rope;
        }
        String type = ropeType(scalingBlock);
        checkFields(scalingBlock, type);
        RopeScaling scaling = scaling(type, scalingBlock, config, longRopePolicy);
        return scaling == null ? rope : rope.withScaling(scaling);
    }

    private static RopeScaling scaling(String type, Map<String, ?> block, Map<String, ?> config,
                                       RopeScaling.LongRope.Policy policy) {
        long maxPositions = (long) number(config, "max_position_embeddings", 0);
        return switch (type) {
            case "default" -> null;
            case "linear" -> RopeScaling.linear(required(block, "factor"));
            case "dynamic" -> RopeScaling.dynamic(required(block, "factor"), originalMaxPositions(block, maxPositions));
            case "llama3" -> RopeScaling.llama3(required(block, "factor"), required(block, "low_freq_factor"),
                    required(block, "high_freq_factor"), (long) required(block, "original_max_position_embeddings"));
            case "yarn" -> yarn(block, maxPositions);
            case "longrope" -> longRope(block, config, maxPositions, policy);
            default -> throw new IllegalStateException("unreachable: type checked before");
        };
    }

    // NOTE: HF also rescales YaRN's factor to max_position_embeddings / original_max_position_embeddings
    // for DeepSeek-V3-style configs; jrope uses the configured factor, which agrees for GPT-OSS and
    // DeepSeek-V3 but is not checked for every model.
    private static RopeScaling yarn(Map<String, ?> block, long maxPositions) {
        double factor = required(block, "factor");
        long original = originalMaxPositions(block, maxPositions);
        RopeScaling.Yarn yarn = RopeScaling.yarn(factor, original)
                .withBetas(number(block, "beta_fast", 32), number(block, "beta_slow", 1))
                .withTruncate(bool(block, "truncate", true))
                .withMscale(number(block, "mscale", Double.NaN), number(block, "mscale_all_dim", Double.NaN));
        double attentionFactor = number(block, "attention_factor", Double.NaN);
        return Double.isNaN(attentionFactor) ? yarn : yarn.withAttentionFactor(attentionFactor);
    }

    private static RopeScaling longRope(Map<String, ?> block, Map<String, ?> config, long maxPositions,
                                        RopeScaling.LongRope.Policy policy) {
        // Phi-3 configs keep original_max_position_embeddings at the top level, beside rope_scaling.
        long original = (long) number(block, "original_max_position_embeddings",
                number(config, "original_max_position_embeddings", Double.NaN));
        if (original <= 0) {
            throw new IllegalArgumentException("LongRoPE needs original_max_position_embeddings > 0 in rope_scaling or"
                    + " at the top level of the config, got " + original);
        }
        requiredPositive(maxPositions, "max_position_embeddings (needed by LongRoPE's attention factor)");
        return new RopeScaling.LongRope(numbers(block, "short_factor"), numbers(block, "long_factor"), original,
                maxPositions, policy, number(block, "attention_factor", Double.NaN));
    }

    /** The block's original_max_position_embeddings, else the config's max_position_embeddings. */
    private static long originalMaxPositions(Map<String, ?> block, long maxPositions) {
        double original = number(block, "original_max_position_embeddings", Double.NaN);
        if (!Double.isNaN(original)) {
            return (long) original;
        }
        return (long) requiredPositive(maxPositions,
                "max_position_embeddings (used when rope_scaling has no original_max_position_embeddings)");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> scalingBlock(Map<String, ?> config) {
        Object scaling = config.get("rope_scaling");
        Object parameters = config.get("rope_parameters");
        if (scaling != null && parameters != null && !scaling.equals(parameters)) {
            throw new IllegalArgumentException("rope_scaling and rope_parameters are both set and differ ("
                    + scaling + " vs " + parameters + "); keep one");
        }
        Object block = scaling != null ? scaling : parameters;
        if (block == null) {
            return null;
        }
        if (!(block instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("rope_scaling must be a JSON object, got " + block);
        }
        return (Map<String, ?>) map;
    }

    private static String ropeType(Map<String, ?> block) {
        Object type = block.containsKey("rope_type") ? block.get("rope_type") : block.get("type");
        if (type == null) {
            throw new IllegalArgumentException("rope_scaling must name its rope_type, one of "
                    + new TreeSet<>(FIELDS_BY_TYPE.keySet()) + "; got " + block);
        }
        if (!FIELDS_BY_TYPE.containsKey(type.toString())) {
            throw new IllegalArgumentException("rope_type must be one of " + new TreeSet<>(FIELDS_BY_TYPE.keySet())
                    + ", got '" + type + "'");
        }
        return type.toString();
    }

    private static void checkFields(Map<String, ?> block, String type) {
        Set<String> allowed = FIELDS_BY_TYPE.get(type);
        for (String key : block.keySet()) {
            if (!allowed.contains(key) && !COMMON_FIELDS.contains(key)) {
                throw new IllegalArgumentException("rope_scaling field '" + key + "' is not used by rope_type '" + type
                        + "'; valid fields: " + new TreeSet<>(allowed));
            }
        }
    }

    private static long headDim(Map<String, ?> config) {
        if (config.get("head_dim") != null) {
            return (long) number(config, "head_dim", 0);
        }
        long hidden = (long) number(config, "hidden_size", 0);
        long heads = (long) number(config, "num_attention_heads", 0);
        if (hidden <= 0 || heads <= 0 || hidden % heads != 0) {
            throw new IllegalArgumentException("config needs head_dim, or hidden_size divisible by num_attention_heads;"
                    + " got hidden_size " + hidden + ", num_attention_heads " + heads);
        }
        return hidden / heads;
    }

    private static double required(Map<String, ?> block, String key) {
        double value = number(block, key, Double.NaN);
        if (Double.isNaN(value)) {
            throw new IllegalArgumentException("rope_scaling field '" + key + "' is missing");
        }
        return value;
    }

    private static double requiredPositive(long value, String what) {
        if (value <= 0) {
            throw new IllegalArgumentException(what + " must be > 0, got " + value);
        }
        return value;
    }

    private static double number(Map<String, ?> map, String key, double fallback) {
        if (map == null || map.get(key) == null) {
            return fallback;
        }
        Object value = map.get(key);
        if (!(value instanceof Number number)) {
            throw new IllegalArgumentException("config field '" + key + "' must be a number, got " + value);
        }
        return number.doubleValue();
    }

    private static boolean bool(Map<String, ?> map, String key, boolean fallback) {
        Object value = map.get(key);
        if (value == null) {
            return fallback;
        }
        if (!(value instanceof Boolean flag)) {
            throw new IllegalArgumentException("config field '" + key + "' must be true or false, got " + value);
        }
        return flag;
    }

    private static double[] numbers(Map<String, ?> map, String key) {
        Object value = map.get(key);
        if (!(value instanceof List<?> list)) {
            throw new IllegalArgumentException("rope_scaling field '" + key + "' must be a list of numbers, got " + value);
        }
        double[] result = new double[list.size()];
        for (int i = 0; i < result.length; i++) {
            if (!(list.get(i) instanceof Number number)) {
                throw new IllegalArgumentException("rope_scaling field '" + key + "[" + i + "]' must be a number, got "
                        + list.get(i));
            }
            result[i] = number.doubleValue();
        }
        return result;
    }
}
