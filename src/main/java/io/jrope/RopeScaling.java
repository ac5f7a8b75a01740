package io.jrope;

import java.util.Objects;

/**
 * Long-context frequency scaling: turns the default inverse frequencies {@code w_i = base^(-2i/d)}
 * into scaled ones plus an attention factor {@code m} that multiplies cos and sin.
 *
 * <p>Formulas follow Hugging Face transformers' {@code modeling_rope_utils} (the semantics model
 * configs are written for): {@code m} is the final magnitude of cos and sin. Use with
 * {@link Rope#withScaling(RopeScaling)}; presets that depend on the sequence length read it from
 * {@link Rope#forSequenceLength(long)}.
 */
public sealed interface RopeScaling {

    /** Scaled {@code w_i} (length {@code dims/2}) and the attention factor. */
    record Frequencies(double[] inverseFrequencies, double attentionFactor) {
    }

    /**
     * Computes scaled frequencies.
     *
     * @param base           the RoPE base ({@code rope_theta})
     * @param dims           rotated features, even
     * @param sequenceLength tokens the model is serving, or 0 when unknown
     */
    Frequencies frequencies(double base, int dims, long sequenceLength);

    /** True if {@link #frequencies} depends on the sequence length. */
    default boolean dependsOnSequenceLength() {
        return false;
    }

    /**
     * Maps a sequence length to the smallest length giving the same frequencies, so callers can cache
     * by it; 0 for presets that ignore the length.
     */
    default long effectiveLength(long sequenceLength) {
        return 0;
    }

    /**
     * Checks, before any call, that this preset fits {@code dims} rotated features.
     *
     * @throws IllegalArgumentException naming the field that does not fit
     */
    default void checkDims(int dims) {
    }

    /** Position interpolation: {@code w_i / factor}. */
    static RopeScaling linear(double factor) {
        return new Linear(factor);
    }

    /** Dynamic NTK: a larger base once the sequence exceeds {@code maxPositions}. */
    static RopeScaling dynamic(double factor, long maxPositions) {
        return new Dynamic(factor, maxPositions);
    }

    /** YaRN with HF's defaults: {@code betaFast 32, betaSlow 1, truncate true}, no mscale overrides. */
    static Yarn yarn(double factor, long originalMaxPositions) {
        return new Yarn(factor, originalMaxPositions, 32, 1, true, Double.NaN, Double.NaN, Double.NaN);
    }

    /** Llama 3.1 scaling. */
    static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, long originalMaxPositions) {
        return new Llama3(factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }

    /** Linear: {@code w_i = base^(-2i/d) / factor}. */
    record Linear(double factor) implements RopeScaling {
        public Linear {
            checkFactor(factor, "factor");
        }

        @Override
        public Frequencies frequencies(double base, int dims, long sequenceLength) {
            double[] w = defaultInverseFrequencies(base, dims);
            for (int i = 0; i < w.length; i++) {
                w[i] /= factor;
            }
            return new Frequencies(w, 1.0);
        }
    }

    /**
     * Dynamic NTK: {@code base' = base * (factor * L / maxPositions - (factor - 1))^(d / (d - 2))} with
     * {@code L = max(sequenceLength, maxPositions)}, so the base is unchanged up to the trained length.
     */
    record Dynamic(double factor, long maxPositions) implements RopeScaling {
        public Dynamic {
            checkFactor(factor, "factor");
            checkPositive(maxPositions, "maxPositions");
        }

        @Override
        public boolean dependsOnSequenceLength() {
            return true;
        }

        @Override
        public long effectiveLength(long sequenceLength) {
            return Math.max(sequenceLength, maxPositions);
        }

        @Override
        public Frequencies frequencies(double base, int dims, long sequenceLength) {
            long length = Math.max(sequenceLength, maxPositions);
            double growth = factor * length / maxPositions - (factor - 1);
            double scaledBase = dims > 2 ? base * Math.pow(growth, dims / (dims - 2.0)) : base;
            return new Frequencies(defaultInverseFrequencies(scaledBase, dims), 1.0);
        }
    }

    /**
     * YaRN: interpolated frequencies ({@code w_i / factor}) for slow pairs, the original ones for fast
     * pairs, and a linear ramp between over the correction range {@code [low, high]} in pair index.
     *
     * @param betaFast        rotations at which extrapolation starts (HF default 32)
     * @param betaSlow        rotations at which interpolation is complete (HF default 1)
     * @param truncate        floor {@code low} and ceil {@code high} (HF default true; GPT-OSS uses false)
     * @param mscale          NaN when absent
     * @param mscaleAllDim    NaN when absent
     * @param attentionFactor NaN when absent; when given it is {@code m} and overrides the mscale rule
     */
    record Yarn(double factor, long originalMaxPositions, double betaFast, double betaSlow, boolean truncate,
                double mscale, double mscaleAllDim, double attentionFactor) implements RopeScaling {
        public Yarn {
            checkFactor(factor, "factor");
            checkPositive(originalMaxPositions, "originalMaxPositions");
            if (!(betaFast > 0) || !(betaSlow > 0) || !Double.isFinite(betaFast) || !Double.isFinite(betaSlow)) {
                throw new IllegalArgumentException("betaFast and betaSlow must be finite and > 0, got "
                        + betaFast + " and " + betaSlow);
            }
            if (!Double.isNaN(attentionFactor) && !(attentionFactor > 0 && Double.isFinite(attentionFactor))) {
                throw new IllegalArgumentException("attentionFactor must be finite and > 0, got " + attentionFactor);
            }
        }

        public Yarn withBetas(double betaFast, double betaSlow) {
            return new Yarn(factor, originalMaxPositions, betaFast, betaSlow, truncate, mscale, mscaleAllDim, attentionFactor);
        }

        public Yarn withTruncate(boolean truncate) {
            return new Yarn(factor, originalMaxPositions, betaFast, betaSlow, truncate, mscale, mscaleAllDim, attentionFactor);
        }

        public Yarn withMscale(double mscale, double mscaleAllDim) {
            return new Yarn(factor, originalMaxPositions, betaFast, betaSlow, truncate, mscale, mscaleAllDim, attentionFactor);
        }

        public Yarn withAttentionFactor(double attentionFactor) {
            return new Yarn(factor, originalMaxPositions, betaFast, betaSlow, truncate, mscale, mscaleAllDim, attentionFactor);
        }

        /** Lower end of the correction range, in pair index, after truncation and clamping. */
        public double low(double base, int dims) {
            double low = correctionDim(betaFast, dims, base);
            return Math.max(truncate ? Math.floor(low) : low, 0);
        }

        /** Upper end of the correction range, in pair index, after truncation and clamping. */
        public double high(double base, int dims) {
            double high = correctionDim(betaSlow, dims, base);
            return Math.min(truncate ? Math.ceil(high) : high, dims - 1);
        }

        /** The attention factor {@code m}. */
        public double magnitude() {
            if (!Double.isNaN(attentionFactor)) {
                return attentionFactor;
            }
            if (!Double.isNaN(mscale) && !Double.isNaN(mscaleAllDim) && mscale != 0 && mscaleAllDim != 0) {
                return yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
            }
            return yarnMscale(factor, 1.0);
        }

        @Override
        public Frequencies frequencies(double base, int dims, long sequenceLength) {
            double low = low(base, dims);
            double high = high(base, dims);
            if (low == high) {
                high += 0.001;
            }
            double[] w = defaultInverseFrequencies(base, dims);
            for (int i = 0; i < w.length; i++) {
                double ramp = Math.min(Math.max((i - low) / (high - low), 0.0), 1.0);
                double extrapolationWeight = 1.0 - ramp;
                w[i] = (w[i] / factor) * ramp + w[i] * extrapolationWeight;
            }
            return new Frequencies(w, magnitude());
        }

        /** Pair index whose wavelength fits {@code rotations} turns into the original context. */
        private double correctionDim(double rotations, int dims, double base) {
            return dims * Math.log(originalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
        }

        private static double yarnMscale(double scale, double mscale) {
            return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
        }
    }

    /**
     * Llama 3.1: pairs with wavelength {@code 2 pi / w} below {@code L0 / highFreqFactor} keep their
     * frequency, those above {@code L0 / lowFreqFactor} are divided by {@code factor}, and those in
     * between are blended by {@code s = (L0 / wavelength - low) / (high - low)}.
     */
    record Llama3(double factor, double lowFreqFactor, double highFreqFactor, long originalMaxPositions)
            implements RopeScaling {
        public Llama3 {
            checkFactor(factor, "factor");
            checkFactor(lowFreqFactor, "lowFreqFactor");
            checkFactor(highFreqFactor, "highFreqFactor");
            checkPositive(originalMaxPositions, "originalMaxPositions");
            if (!(highFreqFactor > lowFreqFactor)) {
                throw new IllegalArgumentException("highFreqFactor must be > lowFreqFactor=" + lowFreqFactor
                        + ", got " + highFreqFactor);
            }
        }

        @Override
        public Frequencies frequencies(double base, int dims, long sequenceLength) {
            double lowFreqWavelength = originalMaxPositions / lowFreqFactor;
            double highFreqWavelength = originalMaxPositions / highFreqFactor;
            double[] w = defaultInverseFrequencies(base, dims);
            for (int i = 0; i < w.length; i++) {
                double wavelength = 2 * Math.PI / w[i];
                if (wavelength < highFreqWavelength) {
                    continue;
                }
                if (wavelength > lowFreqWavelength) {
                    w[i] /= factor;
                    continue;
                }
                double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                w[i] = (1 - smooth) * w[i] / factor + smooth * w[i];
            }
            return new Frequencies(w, 1.0);
        }
    }

    /**
     * LongRoPE (Phi-3): {@code w_i = base^(-2i/d) / factors[i]}, with the short or the long factor set.
     *
     * @param policy          which set a sequence uses
     * @param maxPositions    the extended context ({@code max_position_embeddings})
     * @param attentionFactor NaN for HF's default {@code sqrt(1 + ln(maxPositions/L0) / ln(L0))}
     *                        (1 when the context is not extended)
     */
    record LongRope(double[] shortFactor, double[] longFactor, long originalMaxPositions, long maxPositions,
                    Policy policy, double attentionFactor) implements RopeScaling {
        /** Rule by which LongRoPE picks its factor set. */
        public enum Policy {
            /** Long factors once the sequence exceeds {@code originalMaxPositions}, as HF does. */
            SWITCH_BY_LENGTH,
            /** Always the long factors, so cached keys never need re-rotating when a sequence grows. */
            ALWAYS_LONG
        }

        public LongRope {
            Objects.requireNonNull(shortFactor, "shortFactor");
            Objects.requireNonNull(longFactor, "longFactor");
            Objects.requireNonNull(policy, "policy");
            checkPositive(originalMaxPositions, "originalMaxPositions");
            checkPositive(maxPositions, "maxPositions");
            shortFactor = shortFactor.clone();
            longFactor = longFactor.clone();
            checkFactors(shortFactor, "shortFactor");
            checkFactors(longFactor, "longFactor");
        }

        @Override
        public boolean dependsOnSequenceLength() {
            return policy == Policy.SWITCH_BY_LENGTH;
        }

        @Override
        public long effectiveLength(long sequenceLength) {
            return dependsOnSequenceLength() && sequenceLength > originalMaxPositions ? originalMaxPositions + 1 : 0;
        }

        @Override
        public void checkDims(int dims) {
            if (shortFactor.length != dims / 2) {
                throw new IllegalArgumentException("shortFactor must have length dims/2=" + (dims / 2) + ", got "
                        + shortFactor.length);
            }
            if (longFactor.length != dims / 2) {
                throw new IllegalArgumentException("longFactor must have length dims/2=" + (dims / 2) + ", got "
                        + longFactor.length);
            }
        }

        /** The attention factor {@code m}. */
        public double magnitude() {
            if (!Double.isNaN(attentionFactor)) {
                return attentionFactor;
            }
            double extension = (double) maxPositions / originalMaxPositions;
            return extension <= 1 ? 1.0 : Math.sqrt(1 + Math.log(extension) / Math.log(originalMaxPositions));
        }

        @Override
        public Frequencies frequencies(double base, int dims, long sequenceLength) {
            boolean useLong = policy == Policy.ALWAYS_LONG || sequenceLength > originalMaxPositions;
            double[] factors = useLong ? longFactor : shortFactor;
            if (factors.length != dims / 2) {
                throw new IllegalArgumentException((useLong ? "longFactor" : "shortFactor") + " must have length dims/2="
                        + (dims / 2) + ", got " + factors.length);
            }
            double[] w = defaultInverseFrequencies(base, dims);
            for (int i = 0; i < w.length; i++) {
                w[i] /= factors[i];
            }
            return new Frequencies(w, magnitude());
        }

        private static void checkFactors(double[] factors, String name) {
            for (int i = 0; i < factors.length; i++) {
                if (!(factors[i] > 0) || !Double.isFinite(factors[i])) {
                    throw new IllegalArgumentException(name + "[" + i + "] must be finite and > 0, got " + factors[i]);
                }
            }
        }
    }

    /** {@code w_i = base^(-2i/dims)} in double precision, as every backend uses. */
    static double[] defaultInverseFrequencies(double base, int dims) {
        double[] w = new double[dims / 2];
        for (int i = 0; i < w.length; i++) {
            w[i] = Math.pow(base, -2.0 * i / dims);
        }
        return w;
    }

    private static void checkFactor(double factor, String name) {
        if (!(factor > 0) || !Double.isFinite(factor)) {
            throw new IllegalArgumentException(name + " must be finite and > 0, got " + factor);
        }
    }

    private static void checkPositive(long value, String name) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, got " + value);
        }
    }
}
