package io.jrope.npy;

import java.util.Arrays;
import java.util.Objects;

/**
 * An n-dimensional array of integers in C order, as read from an int32 or int64 {@code .npy} file:
 * RoPE offsets (shape {@code (B)}) and positions (shape {@code (T)} or {@code (B, T)}).
 *
 * @param shape  extent of each axis; empty for a 0-d array holding one value
 * @param values the elements in row-major order, widened to 64 bits
 */
public record IntegerArray(long[] shape, long[] values) {
    public IntegerArray {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(values, "values");
        shape = shape.clone();
        values = values.clone();
        long count = 1;
        for (int axis = 0; axis < shape.length; axis++) {
            if (shape[axis] < 0) {
                throw new IllegalArgumentException("shape[" + axis + "] must be >= 0, got " + shape[axis]);
            }
            count = Math.multiplyExact(count, shape[axis]);
        }
        if (count != values.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + count
                    + " values, got " + values.length);
        }
    }

    /** Creates a 1-D array of {@code values}. */
    public static IntegerArray of(long... values) {
        return new IntegerArray(new long[] {values.length}, values);
    }

    /** Returns a copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Returns a copy of the values, row-major. */
    @Override
    public long[] values() {
        return values.clone();
    }

    /** Returns the number of axes, 0 for a single value of shape {@code ()}. */
    public int ndim() {
        return shape.length;
    }

    /** Returns the extent of {@code axis}. */
    public long shape(int axis) {
        return shape[axis];
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof IntegerArray array
                && Arrays.equals(shape, array.shape)
                && Arrays.equals(values, array.values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "IntegerArray(shape " + Arrays.toString(shape) + ", values "
                + (values.length <= 16 ? Arrays.toString(values) : values.length + " values") + ")";
    }
}
