package io.jrope;

import io.jrope.internal.Overlap;
import io.jrope.internal.RopeRequest;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * Rotary positional encoding: the parameters of {@code mlx.nn.RoPE(dims, traditional, base, scale)}
 * and {@code mx.fast.rope} ({@code freqs}), and the calls that apply them.
 *
 * <p>Layout: a tensor of shape {@code (B, *, T, D)}. Axis -1 is the {@code D} features of a head,
 * axis -2 the {@code T} tokens, axis 0 the batch rows (used by per-batch offsets), and every axis in
 * between is a head axis whose heads share positions. A 2-D tensor is one sequence {@code (T, D)}.
 * Callers holding {@code (B, T, H, D)} buffers pass {@code x.transpose(1, 2)}.
 *
 * <p>Math, for token {@code t} of batch row {@code b} at position {@code p = scale * pos(b, t)} and
 * pair {@code i} with inverse frequency {@code w_i = base^(-2i/dims)} (or {@code 1/freqs[i]}):
 * {@code theta = p * w_i}, {@code (u, v) -> (u cos - v sin, u sin + v cos)}, with cos and sin
 * multiplied by the attention factor. Pairs are {@code (i, i + dims/2)} by default and
 * {@code (2i, 2i + 1)} when {@code traditional}. Features {@code dims..D-1} pass through.
 *
 * <p>Instances are immutable and thread-safe; every {@code with...} method returns a new one.
 * Every call validates its arguments in Java before any backend runs and throws
 * {@link IllegalArgumentException} (or {@link IllegalStateException} for a closed tensor) that names
 * the parameter, the value and the valid range; a call that throws leaves every tensor unchanged.
 */
public final class Rope {
    private final int dims;
    private final boolean traditional;
    private final double base;
    private final float[] freqs;
    private final double scale;
    private final boolean inverse;
    private final double attentionFactorOverride;
    private final RopeScaling scaling;
    private final long sequenceLength;
    private final Backend backend;
    /** Frequencies and attention factor of every call, unless a length-dependent preset derives them per call. */
    private final RopeScaling.Frequencies fixedFrequencies;
    private volatile LengthFrequencies lengthFrequencies;

    private Rope(int dims, boolean traditional, double base, float[] freqs, double scale, boolean inverse,
                 double attentionFactorOverride, RopeScaling scaling, long sequenceLength, Backend backend) {
        this.dims = dims;
        this.traditional = traditional;
        this.base = base;
        this.freqs = freqs;
        this.scale = scale;
        this.inverse = inverse;
        this.attentionFactorOverride = attentionFactorOverride;
        this.scaling = scaling;
        this.sequenceLength = sequenceLength;
        this.backend = backend;

        RopeScaling.Frequencies scaled = scaling == null ? null : scaling.frequencies(base, dims, sequenceLength);
        double[] w = scaled != null ? scaled.inverseFrequencies() : inverseFrequencies(dims, base, freqs);
        double factor = 1.0;
        if (!Double.isNaN(attentionFactorOverride)) {
            factor = attentionFactorOverride;
        } else if (scaled != null) {
            factor = scaled.attentionFactor();
        }
        this.fixedFrequencies = new RopeScaling.Frequencies(w, factor);
    }

    /**
     * RoPE over the first {@code dims} features with MLX's defaults: split-half pairs, base 10000,
     * scale 1, the {@code auto} backend.
     *
     * @param dims rotated features per head, even and at least 2 (and at most D, checked per call)
     */
    public static Rope of(int dims) {
        checkDims(dims);
        return new Rope(dims, false, 10000.0, null, 1.0, false, Double.NaN, null, 0, Backend.auto());
    }

    // ---- parameters --------------------------------------------------------------------------

    /** Pairs {@code (2i, 2i + 1)} (interleaved, GPT-J, GGUF Llama) if true; {@code (i, i + dims/2)} if false. */
    public Rope withTraditional(boolean traditional) {
        return new Rope(dims, traditional, base, freqs, scale, inverse, attentionFactorOverride, scaling, sequenceLength,
                backend);
    }

    /** Inverse frequencies {@code w_i = base^(-2i/dims)}; replaces any {@code freqs}. */
    public Rope withBase(double base) {
        if (!Double.isFinite(base) || base <= 0) {
            throw new IllegalArgumentException("base must be finite and > 0, got " + base);
        }
        return new Rope(dims, traditional, base, null, scale, inverse, attentionFactorOverride, scaling, sequenceLength,
                backend);
    }

    /**
     * Per-pair periods, as {@code mx.fast.rope} takes them: {@code w_i = 1 / freqs[i]}, length
     * {@code dims/2}; {@code +Infinity} means no rotation. Replaces {@code base}.
     */
    public Rope withFreqs(float[] freqs) {
        Objects.requireNonNull(freqs, "freqs");
        if (freqs.length != dims / 2) {
            throw new IllegalArgumentException("freqs must have length dims/2=" + (dims / 2) + ", got " + freqs.length);
        }
        for (int i = 0; i < freqs.length; i++) {
            if (Float.isNaN(freqs[i]) || freqs[i] <= 0) {
                throw new IllegalArgumentException("freqs[" + i + "] must be > 0 (a period; +Infinity allowed), got "
                        + freqs[i]);
            }
        }
        if (scaling != null) {
            throw new IllegalArgumentException("freqs cannot be combined with scaling " + scaling
                    + ", which derives the frequencies from base; set one or the other");
        }
        return new Rope(dims, traditional, Double.NaN, freqs.clone(), scale, inverse, attentionFactorOverride, null, 0,
                backend);
    }

    /** Multiplies every position: {@code p = scale * (offset + t)}. */
    public Rope withScale(double scale) {
        if (!Double.isFinite(scale)) {
            throw new IllegalArgumentException("scale must be finite, got " + scale);
        }
        return new Rope(dims, traditional, base, freqs, scale, inverse, attentionFactorOverride, scaling, sequenceLength,
                backend);
    }

    /** Multiplies cos and sin (the attention factor of YaRN and LongRoPE scaling); 1 by default. */
    public Rope withAttentionFactor(double factor) {
        if (!Double.isFinite(factor) || factor <= 0) {
            throw new IllegalArgumentException("attentionFactor must be finite and > 0, got " + factor);
        }
        return new Rope(dims, traditional, base, freqs, scale, inverse, factor, scaling, sequenceLength, backend);
    }

    /**
     * Scales the frequencies derived from {@code base} for long contexts (linear, dynamic NTK, YaRN,
     * Llama 3, LongRoPE); the preset's attention factor applies unless {@link #withAttentionFactor} set one.
     * Replaces any earlier scaling; {@code null} removes it.
     */
    public Rope withScaling(RopeScaling scaling) {
        if (scaling != null && freqs != null) {
            throw new IllegalArgumentException("scaling " + scaling + " derives the frequencies from base, but freqs"
                    + " are set; call withBase(...) first");
        }
        if (scaling != null) {
            scaling.checkDims(dims);
        }
        return new Rope(dims, traditional, base, freqs, scale, inverse, attentionFactorOverride, scaling, sequenceLength,
                backend);
    }

    /**
     * The same parameters for a sequence of {@code length} tokens, fixed: presets that depend on it
     * (dynamic NTK, LongRoPE switching by length) use it for every call; the others ignore it. With 0,
     * the default, such presets take the length from each call instead: its largest position plus
     * one, as Hugging Face transformers do.
     */
    public Rope forSequenceLength(long length) {
        if (length < 0) {
            throw new IllegalArgumentException("sequence length must be >= 0 (0 = unknown), got " + length);
        }
        return new Rope(dims, traditional, base, freqs, scale, inverse, attentionFactorOverride, scaling, length,
                backend);
    }

    /** Rotates by {@code -theta} if true: the transpose of the forward rotation (see {@link #inverse()}). */
    public Rope withInverse(boolean inverse) {
        return new Rope(dims, traditional, base, freqs, scale, inverse, attentionFactorOverride, scaling, sequenceLength,
                backend);
    }

    /**
     * The same rotation backwards, by {@code -theta}: the transpose of {@code this}, so it is the
     * vector-Jacobian product, and it undoes {@code this} when the attention factor {@code m} is 1. With
     * another factor the round trip scales by {@code m^2}; to undo a scaled rotation use
     * {@code inverse().withAttentionFactor(1 / m)}.
     */
    public Rope inverse() {
        return withInverse(!inverse);
    }

    /** Runs every call on {@code backend}. */
    public Rope withBackend(Backend backend) {
        Objects.requireNonNull(backend, "backend");
        return new Rope(dims, traditional, base, freqs, scale, inverse, attentionFactorOverride, scaling, sequenceLength,
                backend);
    }

    public int dims() {
        return dims;
    }

    public boolean traditional() {
        return traditional;
    }

    /** The base, or NaN when {@code freqs} is set. */
    public double base() {
        return base;
    }

    /** A copy of the periods, or null when {@code base} is used. */
    public float[] freqs() {
        return freqs == null ? null : freqs.clone();
    }

    public double scale() {
        return scale;
    }

    public boolean isInverse() {
        return inverse;
    }

    /** The factor multiplying cos and sin: set explicitly, else the scaling preset's, else 1. */
    public double attentionFactor() {
        return fixedFrequencies.attentionFactor();
    }

    /** The scaling preset, or null. */
    public RopeScaling scaling() {
        return scaling;
    }

    /** Sequence length given to {@link #forSequenceLength}, 0 when unknown. */
    public long sequenceLength() {
        return sequenceLength;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * A copy of {@code w_i}, length {@code dims/2}, in double precision; for a length-dependent preset
     * without a fixed {@link #forSequenceLength}, those of an unknown length (the short factors, or the
     * unchanged base).
     */
    public double[] inverseFrequencies() {
        return fixedFrequencies.inverseFrequencies().clone();
    }

    // ---- calls -------------------------------------------------------------------------------

    /** Returns a new row-contiguous tensor (owned: close it) holding {@code x} rotated from position 0. */
    public Tensor apply(Tensor x) {
        return apply(x, Positions.zero());
    }

    /** Returns a new row-contiguous tensor (owned: close it) holding {@code x} rotated from {@code offset}. */
    public Tensor apply(Tensor x, long offset) {
        return apply(x, Positions.offset(offset));
    }

    /** Returns a new row-contiguous tensor (owned: close it) holding {@code x} rotated at {@code positions}. */
    public Tensor apply(Tensor x, Positions positions) {
        Objects.requireNonNull(x, "x");
        x.ensureOpen("x");
        Tensor out = Tensor.allocate(x.dtype(), x.shape());
        try {
            apply(x, positions, out);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /**
     * Writes {@code x} rotated at {@code positions} into {@code out}, which has the same dtype and
     * shape and any strides. {@code out} may be {@code x} itself (in place) but may not otherwise
     * overlap it.
     */
    public void apply(Tensor x, Positions positions, Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(positions, "positions");
        checkTensor(x, "x");
        out.ensureOpen("out");
        checkOutput(x, out);
        checkWritable(out, "out");
        boolean inPlace = checkAliasing(x, out);
        run(x, out, inPlace, positions);
    }

    /** Rotates {@code x} in place from position 0. */
    public void applyInPlace(Tensor x) {
        applyInPlace(x, Positions.zero());
    }

    /** Rotates {@code x} in place from {@code offset}. */
    public void applyInPlace(Tensor x, long offset) {
        applyInPlace(x, Positions.offset(offset));
    }

    /** Rotates {@code x} in place at {@code positions}. */
    public void applyInPlace(Tensor x, Positions positions) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(positions, "positions");
        checkTensor(x, "x");
        checkNoSelfOverlap(x, "x");
        checkWritable(x, "x");
        run(x, x, true, positions);
    }

    /**
     * Rotates query and key tensors in place at the same positions, as attention needs them once per
     * layer; the Metal backend does both in one dispatch. Head counts may differ (grouped-query
     * attention); dtype, batch rows, tokens and head size must match. Both are validated before
     * either is touched, so a call that throws leaves both unchanged.
     */
    public void applyInPlace(Tensor q, Tensor k, Positions positions) {
        Objects.requireNonNull(q, "q");
        Objects.requireNonNull(k, "k");
        Objects.requireNonNull(positions, "positions");
        checkTensor(q, "q");
        checkTensor(k, "k");
        checkNoSelfOverlap(q, "q");
        checkNoSelfOverlap(k, "k");
        checkWritable(q, "q");
        checkWritable(k, "k");
        long qBatch = batchOf(q);
        long kBatch = batchOf(k);
        if (qBatch != kBatch || q.shape(-2) != k.shape(-2) || q.shape(-1) != k.shape(-1)) {
            throw new IllegalArgumentException("q and k must have the same batch rows B, tokens T and head size D, got q "
                    + Arrays.toString(q.shape()) + " and k " + Arrays.toString(k.shape()));
        }
        if (q.dtype() != k.dtype()) {
            throw new IllegalArgumentException("q and k must have the same dtype, got q " + q.dtype() + " and k "
                    + k.dtype());
        }
        if (Overlap.mayShareElements(q, k)) {
            throw new IllegalArgumentException("q and k share memory (q: " + q.describe() + ", k: " + k.describe()
                    + "); pass separate tensors");
        }
        positions.checkFits(qBatch, q.shape(-2));

        RopeScaling.Frequencies frequencies = frequenciesFor(positions, q.shape(-2));
        backend.kernel().rotateQueryKey(request(q, q, true, positions, frequencies, false),
                request(k, k, true, positions, frequencies, false));
    }

    /**
     * Moves cached keys by {@code delta} positions in place (context shifting): every token of {@code k}
     * is rotated by the angle of position {@code delta}, whatever position it is at now, since
     * rotations compose: {@code R(p + delta) = R(delta) R(p)}. The attention factor is not applied
     * again. Rounding makes the result differ from rotating the raw keys at {@code p + delta} in the
     * last bits.
     */
    public void shiftInPlace(Tensor k, long delta) {
        Objects.requireNonNull(k, "k");
        checkTensor(k, "k");
        checkNoSelfOverlap(k, "k");
        checkWritable(k, "k");
        long[] shifted = new long[Math.toIntExact(k.shape(-2))];
        Arrays.fill(shifted, delta);
        Positions positions = Positions.ofTokens(shifted);
        positions.checkFits(batchOf(k), k.shape(-2));
        backend.kernel().rotate(request(k, k, true, positions, fixedFrequencies, true));
    }

    private void run(Tensor x, Tensor out, boolean inPlace, Positions positions) {
        positions.checkFits(batchOf(x), x.shape(-2));
        RopeScaling.Frequencies frequencies = frequenciesFor(positions, x.shape(-2));
        backend.kernel().rotate(request(x, out, inPlace, positions, frequencies, false));
    }

    private RopeRequest request(Tensor x, Tensor out, boolean inPlace, Positions positions,
                                RopeScaling.Frequencies frequencies, boolean pureRotation) {
        return new RopeRequest(x, out, inPlace, dims, traditional, inverse, frequencies.inverseFrequencies(),
                scale, pureRotation ? 1.0 : frequencies.attentionFactor(), positions.mode(), positions.valuesUnsafe(),
                positions.rowStride(), backend.threads());
    }

    /**
     * The frequencies and attention factor of one call. A preset that depends on the sequence length,
     * when no length was fixed with {@link #forSequenceLength}, gets the length from the call as HF
     * does: the largest position plus one. The last result is cached, keyed by the length that matters.
     */
    private RopeScaling.Frequencies frequenciesFor(Positions positions, long tokens) {
        if (scaling == null || sequenceLength > 0 || !scaling.dependsOnSequenceLength()) {
            return fixedFrequencies;
        }
        long length = Math.max(0, positions.maxPosition(tokens) + 1);
        long key = scaling.effectiveLength(length);
        LengthFrequencies cached = lengthFrequencies;
        if (cached != null && cached.key() == key) {
            return cached.frequencies();
        }
        RopeScaling.Frequencies computed = scaling.frequencies(base, dims, length);
        if (!Double.isNaN(attentionFactorOverride)) {
            computed = new RopeScaling.Frequencies(computed.inverseFrequencies(), attentionFactorOverride);
        }
        lengthFrequencies = new LengthFrequencies(key, computed);
        return computed;
    }

    private record LengthFrequencies(long key, RopeScaling.Frequencies frequencies) {
    }

    private static long batchOf(Tensor x) {
        return x.ndim() >= 3 ? x.shape(0) : 1;
    }

    // ---- validation --------------------------------------------------------------------------

    private void checkTensor(Tensor x, String name) {
        x.ensureOpen(name);
        if (x.ndim() < 2) {
            throw new IllegalArgumentException(name + " must have at least 2 axes, (T, D) or (B, *, T, D), got shape "
                    + Arrays.toString(x.shape()));
        }
        long features = x.shape(-1);
        if (dims > features) {
            throw new IllegalArgumentException("dims must be even and at most D=" + features + " (the last axis of "
                    + name + "), got " + dims);
        }
    }

    private static void checkWritable(Tensor tensor, String name) {
        if (tensor.segment().isReadOnly()) {
            throw new IllegalArgumentException(name + " (" + tensor.describe() + ") is a read-only segment and cannot"
                    + " be written; rotate into a writable output with apply(x, positions, out)");
        }
    }

    private static void checkOutput(Tensor x, Tensor out) {
        if (out.dtype() != x.dtype()) {
            throw new IllegalArgumentException("out must have the dtype of x, " + x.dtype() + ", got " + out.dtype());
        }
        if (!Arrays.equals(out.shape(), x.shape())) {
            throw new IllegalArgumentException("out must have the shape of x, " + Arrays.toString(x.shape())
                    + ", got " + Arrays.toString(out.shape()));
        }
        checkNoSelfOverlap(out, "out");
    }

    /** Rejects a tensor in which two indices name the same element, since writing it would race. */
    private static void checkNoSelfOverlap(Tensor tensor, String name) {
        if (!tensor.hasUniqueElements()) {
            throw new IllegalArgumentException(name + " may have overlapping elements (strides "
                    + Arrays.toString(tensor.strides()) + " for shape " + Arrays.toString(tensor.shape())
                    + "); an output needs strides that give every element its own memory, with each axis"
                    + " stepping past all smaller-stride axes");
        }
    }

    /** Returns true for in place; throws if x and out share elements without being the same view. */
    private static boolean checkAliasing(Tensor x, Tensor out) {
        if (x.elementCount() == 0) {
            return x == out;
        }
        MemorySegment xBytes = x.footprint();
        MemorySegment outBytes = out.footprint();
        boolean sameView = xBytes.asOverlappingSlice(outBytes).isPresent()
                && xBytes.byteSize() == outBytes.byteSize()
                && xBytes.address() == outBytes.address()
                && Arrays.equals(x.strides(), out.strides());
        if (sameView) {
            return true;
        }
        if (Overlap.mayShareElements(x, out)) {
            throw new IllegalArgumentException("out overlaps x without being the same view (x: " + x.describe()
                    + " at element offset " + x.offset() + ", out: " + out.describe() + " at element offset "
                    + out.offset() + "); pass out == x for in place, or an output that shares no element with x");
        }
        return false;
    }

    private static void checkDims(int dims) {
        if (dims < 2 || dims % 2 != 0) {
            throw new IllegalArgumentException("dims must be even and >= 2, got " + dims);
        }
    }

    private static double[] inverseFrequencies(int dims, double base, float[] freqs) {
        if (freqs == null) {
            return RopeScaling.defaultInverseFrequencies(base, dims);
        }
        double[] w = new double[dims / 2];
        for (int i = 0; i < w.length; i++) {
            w[i] = 1.0 / freqs[i];
        }
        return w;
    }

    @Override
    public String toString() {
        return "Rope(dims=" + dims + ", traditional=" + traditional
                + (freqs != null ? ", freqs=" + Arrays.toString(freqs) : ", base=" + base)
                + ", scale=" + scale + (inverse ? ", inverse" : "")
                + (scaling != null ? ", scaling=" + scaling : "")
                + (attentionFactor() != 1.0 ? ", attentionFactor=" + attentionFactor() : "")
                + ", backend=" + backend.name() + ")";
    }
}
