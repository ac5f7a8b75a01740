package io.jrope;

import java.util.Arrays;
import java.util.Objects;

/**
 * Where each token sits in its sequence: the {@code p} that RoPE rotates by.
 *
 * <p>Three forms, matching {@code mx.fast.rope} plus one extension:
 * <ul>
 *   <li>{@link #offset(long)}: token {@code t} of every batch row is at {@code offset + t};</li>
 *   <li>{@link #offsets(long...)}: token {@code t} of batch row {@code b} is at {@code offsets[b] + t}
 *       (length {@code B}, or 1 to broadcast);</li>
 *   <li>{@link #ofTokens(long...)} and {@link #ofTokens(long[][])}: an explicit position per token,
 *       shape {@code (T)} shared by all batch rows, or {@code (B, T)}.</li>
 * </ul>
 * Positions may be negative. Instances are immutable.
 */
public final class Positions {
    /** How {@link #values()} is read. */
    public enum Mode {
        /** {@code p(b, t) = values[b * rowStride] + t}. */
        OFFSETS,
        /** {@code p(b, t) = values[b * rowStride + t]}. */
        EXPLICIT
    }

    private static final Positions ZERO = new Positions(Mode.OFFSETS, new long[] {0}, 1, 1);

    private final Mode mode;
    private final long[] values;
    private final int rows;
    private final int tokens;

    private Positions(Mode mode, long[] values, int rows, int tokens) {
        this.mode = mode;
        this.values = values;
        this.rows = rows;
        this.tokens = tokens;
    }

    /** Positions {@code 0, 1, 2, ...} for every batch row. */
    public static Positions zero() {
        return ZERO;
    }

    /** Token {@code t} of every batch row is at {@code offset + t}. */
    public static Positions offset(long offset) {
        return offset == 0 ? ZERO : new Positions(Mode.OFFSETS, new long[] {offset}, 1, 1);
    }

    /** Token {@code t} of batch row {@code b} is at {@code offsets[b] + t}; one value broadcasts to all rows. */
    public static Positions offsets(long... offsets) {
        Objects.requireNonNull(offsets, "offsets");
        if (offsets.length == 0) {
            throw new IllegalArgumentException("offsets must have length B or 1, got length 0");
        }
        return new Positions(Mode.OFFSETS, offsets.clone(), offsets.length, 1);
    }

    /** One explicit position per token, shape {@code (T)}, shared by every batch row. */
    public static Positions ofTokens(long... positions) {
        Objects.requireNonNull(positions, "positions");
        return new Positions(Mode.EXPLICIT, positions.clone(), 1, positions.length);
    }

    /** One explicit position per token and batch row, shape {@code (B, T)}. */
    public static Positions ofTokens(long[][] positions) {
        Objects.requireNonNull(positions, "positions");
        if (positions.length == 0) {
            throw new IllegalArgumentException("positions must have shape (B, T) with B >= 1, got 0 rows");
        }
        int tokens = positions[0].length;
        long[] flat = new long[Math.multiplyExact(positions.length, tokens)];
        for (int b = 0; b < positions.length; b++) {
            if (positions[b].length != tokens) {
                throw new IllegalArgumentException("positions must be rectangular (B, T): row 0 has " + tokens
                        + " tokens, row " + b + " has " + positions[b].length);
            }
            System.arraycopy(positions[b], 0, flat, b * tokens, tokens);
        }
        return new Positions(Mode.EXPLICIT, flat, positions.length, tokens);
    }

    /**
     * Explicit positions from a flat row-major array of shape {@code (rows, tokens)}; {@code rows}
     * is 1 for a {@code (T)} vector shared by every batch row.
     */
    public static Positions ofTokens(long[] flat, int rows, int tokens) {
        Objects.requireNonNull(flat, "positions");
        if (rows < 1 || tokens < 0 || (long) rows * tokens != flat.length) {
            throw new IllegalArgumentException("positions of shape (" + rows + ", " + tokens + ") need "
                    + ((long) rows * tokens) + " values and rows >= 1, got " + flat.length + " values");
        }
        return new Positions(Mode.EXPLICIT, flat.clone(), rows, tokens);
    }

    public Mode mode() {
        return mode;
    }

    /** Batch rows given: 1 (shared by all) or B. */
    public int rows() {
        return rows;
    }

    /** Tokens per row for {@link Mode#EXPLICIT}; 1 for offsets. */
    public int tokens() {
        return tokens;
    }

    /** A copy of the values, row-major. */
    public long[] values() {
        return values.clone();
    }

    /** The values without a copy, for backends; callers must not modify them. */
    long[] valuesUnsafe() {
        return values;
    }

    /** Elements between consecutive batch rows in {@link #values()}: 0 when one row is shared. */
    public int rowStride() {
        if (rows == 1) {
            return 0;
        }
        return mode == Mode.OFFSETS ? 1 : tokens;
    }

    /** Position of token {@code t} in batch row {@code b}, before {@code scale}. */
    public long positionOf(long b, long t) {
        int stride = rowStride();
        return mode == Mode.OFFSETS
                ? values[(int) (b * stride)] + t
                : values[(int) (b * stride + t)];
    }

    /** Largest position of a call with {@code tokens} tokens per row; {@code Long.MIN_VALUE} when empty. */
    public long maxPosition(long tokens) {
        if (tokens <= 0) {
            return Long.MIN_VALUE;
        }
        long max = Long.MIN_VALUE;
        for (long value : values) {
            max = Math.max(max, mode == Mode.OFFSETS ? value + (tokens - 1) : value);
        }
        return max;
    }

    /**
     * Checks that these positions fit a tensor with {@code batch} rows and {@code tokens} tokens.
     *
     * @throws IllegalArgumentException naming the expected and actual lengths
     */
    public void checkFits(long batch, long tokenCount) {
        if (rows != 1 && rows != batch) {
            String what = mode == Mode.OFFSETS ? "offsets" : "positions";
            throw new IllegalArgumentException(what + " must have " + (mode == Mode.OFFSETS ? "length" : "rows")
                    + " B=" + batch + " or 1, got " + rows);
        }
        if (mode == Mode.EXPLICIT && tokens != tokenCount) {
            throw new IllegalArgumentException("positions must have T=" + tokenCount + " tokens per row, got " + tokens);
        }
        if (mode == Mode.OFFSETS && tokenCount > 0) {
            for (long value : values) {
                if (value > Long.MAX_VALUE - (tokenCount - 1)) {
                    throw new IllegalArgumentException("offset " + value + " + T-1=" + (tokenCount - 1)
                            + " overflows a 64-bit position; offsets must be at most " + (Long.MAX_VALUE - tokenCount + 1));
                }
            }
        }
    }

    @Override
    public String toString() {
        return switch (mode) {
            case OFFSETS -> rows == 1 ? "offset " + values[0] : "offsets " + Arrays.toString(values);
            case EXPLICIT -> "positions (" + (rows == 1 ? "" : rows + ", ") + tokens + ")";
        };
    }
}
