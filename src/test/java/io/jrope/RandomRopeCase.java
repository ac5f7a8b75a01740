package io.jrope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

/**
 * One random RoPE call: shape with 2 to 5 axes, dtype, {@code dims}, pairing, base or periods,
 * scale, attention factor, positions, inverse, memory layout of x and out, in place or not, heap
 * or native memory, and a thread count.
 *
 * <p>Everything is drawn from one seed, and {@link #materialize(Arena)} builds the same tensors
 * each time it is called, so two backends can be given identical inputs.
 */
final class RandomRopeCase {
    /** Largest |scale * position| drawn: the accuracy target holds for positions up to 2^31. */
    private static final double MAX_SCALED_POSITION = Math.scalb(1.0, 31);

    /** Where the elements of one tensor lie in its buffer. */
    private record Layout(int[] memoryOrder, long[] padBefore, long[] padAfter, int broadcastAxis, boolean heap) {
        String describe() {
            StringBuilder text = new StringBuilder(heap ? "heap" : "native");
            if (!isIdentity(memoryOrder)) {
                text.append(", memory order ").append(Arrays.toString(memoryOrder));
            }
            if (Arrays.stream(padBefore).anyMatch(p -> p > 0) || Arrays.stream(padAfter).anyMatch(p -> p > 0)) {
                text.append(", padding before ").append(Arrays.toString(padBefore))
                        .append(" after ").append(Arrays.toString(padAfter));
            }
            if (broadcastAxis >= 0) {
                text.append(", stride 0 on axis ").append(broadcastAxis);
            }
            return text.toString();
        }
    }

    /** The four ways of giving positions. */
    private enum PositionForm { OFFSET, OFFSETS, TOKENS, TOKENS_PER_ROW }

    /** The tensors of one call and the buffers they view. */
    record Tensors(Tensor x, Tensor out, Tensor xBuffer, Tensor outBuffer) {
    }

    final long seed;
    final DType dtype;
    final long[] shape;
    final int dims;
    final boolean traditional;
    final double base;
    final float[] freqs;
    final double scale;
    final double attentionFactor;
    final boolean inverse;
    final boolean inPlace;
    final boolean outIsX;
    final int threads;
    private final Layout xLayout;
    private final Layout outLayout;
    private final PositionForm positionForm;
    private final long[][] positionValues;

    private RandomRopeCase(long seed) {
        this.seed = seed;
        Random random = new Random(seed);

        dtype = DType.values()[random.nextInt(3)];
        shape = drawShape(random);
        long features = shape[shape.length - 1];
        dims = 2 * (1 + random.nextInt((int) (features / 2)));
        traditional = random.nextBoolean();
        if (random.nextBoolean()) {
            base = Math.exp(Math.log(1.5) + random.nextDouble() * Math.log(1e6 / 1.5));
            freqs = null;
        } else {
            base = Double.NaN;
            freqs = PropertyTest.randomPeriods(random, dims / 2);
        }
        scale = drawScale(random);
        attentionFactor = random.nextInt(10) < 7 ? 1.0 : 0.25 + 3.75 * random.nextDouble();
        inverse = random.nextBoolean();
        threads = 1 + random.nextInt(3);

        long batch = shape.length >= 3 ? shape[0] : 1;
        long tokens = shape[shape.length - 2];
        long limit = (long) Math.floor(MAX_SCALED_POSITION / Math.max(Math.abs(scale), 1.0)) - tokens;
        long magnitude = switch (random.nextInt(3)) {
            case 0 -> 5000;
            case 1 -> 1L << 20;
            default -> limit;
        };
        positionForm = PositionForm.values()[random.nextInt(4)];
        int rows = positionForm == PositionForm.OFFSET || positionForm == PositionForm.TOKENS
                || random.nextBoolean() ? 1 : (int) batch;
        int perRow = positionForm == PositionForm.OFFSET || positionForm == PositionForm.OFFSETS ? 1 : (int) tokens;
        positionValues = new long[rows][];
        for (int b = 0; b < rows; b++) {
            positionValues[b] = PropertyTest.randomLongs(random, perRow, -magnitude, magnitude);
        }

        inPlace = random.nextInt(10) < 3;
        outIsX = random.nextBoolean();
        boolean heap = random.nextInt(4) == 0;
        xLayout = drawLayout(random, shape, !inPlace, heap);
        outLayout = inPlace ? xLayout : drawLayout(random, shape, false, random.nextInt(4) == 0);
    }

    /** Draws the case of {@code seed}. */
    static RandomRopeCase draw(long seed) {
        return new RandomRopeCase(seed);
    }

    /** Builds the call's parameters on {@code backend}, with this case's thread count. */
    Rope rope(Backend backend) {
        Rope rope = Rope.of(dims).withTraditional(traditional).withScale(scale).withInverse(inverse)
                .withAttentionFactor(attentionFactor).withBackend(backend.withThreads(threads));
        return freqs != null ? rope.withFreqs(freqs) : rope.withBase(base);
    }

    Positions positions() {
        return switch (positionForm) {
            case OFFSET -> Positions.offset(positionValues[0][0]);
            case OFFSETS -> Positions.offsets(Arrays.stream(positionValues).mapToLong(row -> row[0]).toArray());
            case TOKENS -> Positions.ofTokens(positionValues[0]);
            case TOKENS_PER_ROW -> Positions.ofTokens(positionValues);
        };
    }

    /** Position of token {@code t} of batch row {@code b}, before scale, computed from the drawn values. */
    long positionOf(long b, long t) {
        long[] row = positionValues[positionValues.length == 1 ? 0 : (int) b];
        return switch (positionForm) {
            case OFFSET, OFFSETS -> row[0] + t;
            case TOKENS, TOKENS_PER_ROW -> row[(int) t];
        };
    }

    /** Builds x (random values) and out (NaN-filled, or x itself in place) in their drawn layouts. */
    Tensors materialize(Arena arena) {
        Random random = new Random(~seed);
        Tensor xBuffer = buffer(arena, xLayout);
        TestTensors.fillRandom(xBuffer, random);
        Tensor x = view(xBuffer, xLayout);
        if (inPlace) {
            return new Tensors(x, x, xBuffer, xBuffer);
        }
        Tensor outBuffer = buffer(arena, outLayout);
        TestTensors.poison(outBuffer.segment(), dtype);
        return new Tensors(x, view(outBuffer, outLayout), xBuffer, outBuffer);
    }

    /** Runs the call on {@code backend}: in place when drawn so, through {@code applyInPlace} or {@code out == x}. */
    void run(Backend backend, Tensors tensors) {
        Rope rope = rope(backend);
        if (inPlace && !outIsX) {
            rope.applyInPlace(tensors.x(), positions());
        } else {
            rope.apply(tensors.x(), positions(), tensors.out());
        }
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("case seed " + seed + ": " + dtype + Arrays.toString(shape));
        text.append(", dims ").append(dims);
        if (traditional) {
            text.append(", traditional");
        }
        if (freqs != null) {
            text.append(", freqs ").append(Arrays.toString(freqs));
        } else {
            text.append(", base ").append(base);
        }
        text.append(", scale ").append(scale);
        if (attentionFactor != 1.0) {
            text.append(", attentionFactor ").append(attentionFactor);
        }
        if (inverse) {
            text.append(", inverse");
        }
        text.append(", ").append(positionsText()).append(", threads ").append(threads);
        if (inPlace) {
            text.append(outIsX ? ", in place (out == x)" : ", applyInPlace");
        }
        text.append(", x: ").append(xLayout.describe());
        if (!inPlace) {
            text.append(", out: ").append(outLayout.describe());
        }
        return text.toString();
    }

    private String positionsText() {
        return switch (positionForm) {
            case OFFSET -> "offset " + positionValues[0][0];
            case OFFSETS -> "offsets " + Arrays.toString(Arrays.stream(positionValues).mapToLong(row -> row[0]).toArray());
            case TOKENS -> "positions (T) " + Arrays.toString(positionValues[0]);
            case TOKENS_PER_ROW -> "positions (" + positionValues.length + ", T) " + Arrays.deepToString(positionValues);
        };
    }

    private static long[] drawShape(Random random) {
        int ndim = 2 + random.nextInt(4);
        long[] shape = new long[ndim];
        if (random.nextInt(100) == 0) {
            // Large enough (2 MiB of float32) that the native backend takes its path for long calls.
            Arrays.fill(shape, 1);
            shape[ndim - 1] = 128;
            shape[ndim - 2] = ndim == 2 ? 4096 : 256;
            if (ndim == 3) {
                shape[0] = 16;
            } else if (ndim >= 4) {
                shape[0] = 2;
                shape[ndim - 3] = 8;
            }
            return shape;
        }
        for (int axis = 0; axis < ndim - 2; axis++) {
            shape[axis] = 1 + random.nextInt(3);
        }
        shape[ndim - 2] = random.nextInt(50) == 0 ? 0 : 1 + random.nextInt(12);
        shape[ndim - 1] = random.nextInt(10) == 0 ? 2 + random.nextInt(255) : 2 + random.nextInt(95);
        return shape;
    }

    private static double drawScale(Random random) {
        return switch (random.nextInt(10)) {
            case 0, 1, 2, 3, 4 -> 1.0;
            case 5 -> 0.0;
            case 6 -> 0.25 * (1 + random.nextInt(8));
            default -> 8 * random.nextDouble() - 4;
        };
    }

    private static Layout drawLayout(Random random, long[] shape, boolean mayBroadcast, boolean heap) {
        int ndim = shape.length;
        int[] order = new int[ndim];
        for (int i = 0; i < ndim; i++) {
            order[i] = i;
        }
        long[] before = new long[ndim];
        long[] after = new long[ndim];
        int kind = random.nextInt(5);
        if (kind == 1 || kind == 4) {
            for (int i = ndim - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
        }
        if (kind == 2 || kind == 4) {
            for (int axis = 0; axis < ndim; axis++) {
                before[axis] = random.nextInt(3);
                after[axis] = random.nextInt(3);
            }
        }
        if (kind == 3) {
            // (B, *, T, D) read from a (B, T, *, D) buffer, as callers holding (B, T, H, D) do.
            if (ndim >= 4) {
                order[1] = ndim - 2;
                for (int axis = 2; axis < ndim - 1; axis++) {
                    order[axis] = axis - 1;
                }
            }
            before[ndim - 1] = random.nextInt(3);
            after[ndim - 1] = random.nextInt(3);
        }
        int broadcastAxis = mayBroadcast && ndim >= 3 && random.nextInt(8) == 0 ? random.nextInt(ndim - 2) : -1;
        return new Layout(order, before, after, broadcastAxis, heap);
    }

    private Tensor buffer(Arena arena, Layout layout) {
        int ndim = shape.length;
        long[] memoryShape = new long[ndim];
        long count = 1;
        for (int i = 0; i < ndim; i++) {
            int axis = layout.memoryOrder()[i];
            memoryShape[i] = layout.padBefore()[axis] + shape[axis] + layout.padAfter()[axis];
            count *= memoryShape[i];
        }
        if (!layout.heap()) {
            return Tensor.allocate(arena, dtype, memoryShape);
        }
        return dtype == DType.FLOAT32
                ? Tensor.wrap(new float[Math.toIntExact(count)], memoryShape)
                : Tensor.wrap(new short[Math.toIntExact(count)], dtype, memoryShape);
    }

    private Tensor view(Tensor buffer, Layout layout) {
        int ndim = shape.length;
        int[] order = layout.memoryOrder();
        Tensor sliced = buffer;
        for (int i = 0; i < ndim; i++) {
            long start = layout.padBefore()[order[i]];
            sliced = sliced.slice(i, start, start + shape[order[i]]);
        }
        int[] inverseOrder = new int[ndim];
        for (int i = 0; i < ndim; i++) {
            inverseOrder[order[i]] = i;
        }
        Tensor view = sliced.permute(inverseOrder);
        if (layout.broadcastAxis() < 0) {
            return view;
        }
        long[] strides = view.strides();
        strides[layout.broadcastAxis()] = 0;
        return Tensor.wrap(view.segment(), dtype, view.shape(), strides, view.offset());
    }

    private static boolean isIdentity(int[] order) {
        for (int i = 0; i < order.length; i++) {
            if (order[i] != i) {
                return false;
            }
        }
        return true;
    }
}
