package io.jrope.internal;

import io.jrope.Positions;
import io.jrope.Tensor;

/**
 * One validated rotation, as every backend receives it: nothing here needs checking again.
 *
 * @param x                    input, open, {@code ndim >= 2}, layout {@code (B, *, T, D)}
 * @param out                  output of the same dtype and shape; {@code out == x} when {@code inPlace}
 * @param inPlace              true if {@code out} views exactly the elements of {@code x}
 * @param dims                 rotated features, even, {@code 2 <= dims <= D}
 * @param traditional          pairs {@code (2i, 2i+1)} if true, {@code (i, i + dims/2)} if false
 * @param inverse              rotate by {@code -theta}
 * @param inverseFrequencies   {@code w_i}, length {@code dims/2}, finite and {@code >= 0}
 * @param scale                multiplies every position
 * @param attentionFactor      multiplies cos and sin
 * @param positionMode         how {@code positions} is read
 * @param positions            offsets or explicit positions, see {@link Positions.Mode}
 * @param positionRowStride    elements between batch rows of {@code positions}; 0 broadcasts one row
 * @param threads              worker threads for backends that use them; 0 = backend default
 */
public record RopeRequest(
        Tensor x,
        Tensor out,
        boolean inPlace,
        int dims,
        boolean traditional,
        boolean inverse,
        double[] inverseFrequencies,
        double scale,
        double attentionFactor,
        Positions.Mode positionMode,
        long[] positions,
        int positionRowStride,
        int threads) {

    /** Batch rows: axis 0 of a tensor with 3 or more axes, 1 for a {@code (T, D)} tensor. */
    public long batch() {
        return x.ndim() >= 3 ? x.shape(0) : 1;
    }

    /** Position of token {@code t} of batch row {@code b}, before {@code scale}. */
    public long positionOf(long b, long t) {
        return positionMode == Positions.Mode.OFFSETS
                ? positions[(int) (b * positionRowStride)] + t
                : positions[(int) (b * positionRowStride + t)];
    }
}
