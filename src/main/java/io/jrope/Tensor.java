package io.jrope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * A strided view of memory: a {@link MemorySegment} plus dtype, shape, strides and an offset.
 *
 * <p>Strides and the offset count elements, not bytes; all index arithmetic is 64-bit. Element
 * {@code (i0, i1, ...)} lives at byte {@code (offset + i0*strides[0] + i1*strides[1] + ...) * dtype.byteSize()}
 * of the segment, in the platform's byte order. Layout convention for RoPE: {@code (B, *, T, D)},
 * see {@link Rope}.
 *
 * <p>Ownership: a tensor made by {@link #allocate(DType, long...)} owns its memory and frees it on
 * {@link #close()}; views ({@link #transpose}, {@link #permute}, {@link #slice}) share the memory of
 * the tensor they come from and become unusable once it is closed. Tensors made from a caller's
 * segment, arena or array never free anything: the caller keeps ownership. Closing a view or a
 * wrapped tensor only marks that handle closed.
 *
 * <p>Thread safety: the handle is immutable apart from its closed flag; concurrent writes to the
 * same elements are the caller's responsibility.
 */
public final class Tensor implements AutoCloseable {
    private final MemorySegment segment;
    private final DType dtype;
    private final long[] shape;
    private final long[] strides;
    private final long offset;
    private final Arena ownedArena;
    private final Tensor parent;
    private volatile boolean closed;
    private volatile Boolean uniqueElements;

    private Tensor(MemorySegment segment, DType dtype, long[] shape, long[] strides, long offset,
                   Arena ownedArena, Tensor parent) {
        this.segment = segment;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.ownedArena = ownedArena;
        this.parent = parent;
    }

    // ---- factories ---------------------------------------------------------------------------

    /** Allocates a zeroed row-contiguous tensor that owns its memory; free it with {@link #close()}. */
    public static Tensor allocate(DType dtype, long... shape) {
        Objects.requireNonNull(dtype, "dtype");
        long[] checkedShape = checkShape(shape);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment memory = arena.allocate(byteSizeOf(dtype, checkedShape), 64);
            return new Tensor(memory, dtype, checkedShape, contiguousStrides(checkedShape), 0, arena, null);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Allocates a zeroed row-contiguous tensor in the caller's arena, which owns the memory. */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(dtype, "dtype");
        long[] checkedShape = checkShape(shape);
        MemorySegment memory = arena.allocate(byteSizeOf(dtype, checkedShape), 64);
        return new Tensor(memory, dtype, checkedShape, contiguousStrides(checkedShape), 0, null, null);
    }

    /** Wraps a row-contiguous tensor that starts at byte 0 of {@code segment}. */
    public static Tensor wrap(MemorySegment segment, DType dtype, long... shape) {
        long[] checkedShape = checkShape(shape);
        return wrap(segment, dtype, checkedShape, contiguousStrides(checkedShape), 0);
    }

    /**
     * Wraps an arbitrary strided view of {@code segment}, without copying.
     *
     * @param strides element strides, one per axis, each {@code >= 0}
     * @param offset  element offset of element {@code (0, ..., 0)}
     * @throws IllegalArgumentException if the view reaches past the end of the segment
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, long[] shape, long[] strides, long offset) {
        return wrapChecked(segment, dtype, shape, strides, offset, "segment");
    }

    /** Wraps after checking; {@code memoryName} names the caller's parameter in messages. */
    private static Tensor wrapChecked(MemorySegment segment, DType dtype, long[] shape, long[] strides, long offset,
                                      String memoryName) {
        Objects.requireNonNull(segment, memoryName);
        Objects.requireNonNull(dtype, "dtype");
        Tensor tensor = new Tensor(segment, dtype, checkShape(shape), checkStrides(shape, strides),
                checkOffset(offset), null, null);
        tensor.checkFitsSegment(memoryName);
        return tensor;
    }

    /** Wraps a {@code float[]} as a row-contiguous float32 tensor, without copying. */
    public static Tensor wrap(float[] data, long... shape) {
        return wrap(data, 0, shape);
    }

    /**
     * Wraps part of a {@code float[]}, starting at element {@code offset}, as a row-contiguous float32
     * tensor, without copying: writes go straight to the array. The shape is an array, not varargs,
     * so that {@code wrap(data, 2, 64)} keeps meaning shape {@code (2, 64)}.
     */
    public static Tensor wrap(float[] data, int offset, long[] shape) {
        Objects.requireNonNull(data, "data");
        long[] checkedShape = checkShape(shape);
        return wrapChecked(MemorySegment.ofArray(data), DType.FLOAT32, checkedShape, contiguousStrides(checkedShape),
                offset, "data");
    }

    /** Wraps a {@code short[]} of float16 or bfloat16 bit patterns as a row-contiguous tensor, without copying. */
    public static Tensor wrap(short[] bits, DType dtype, long... shape) {
        Objects.requireNonNull(bits, "bits");
        if (dtype == DType.FLOAT32) {
            throw new IllegalArgumentException("dtype must be float16 or bfloat16 for a short[], got float32");
        }
        long[] checkedShape = checkShape(shape);
        return wrapChecked(MemorySegment.ofArray(bits), dtype, checkedShape, contiguousStrides(checkedShape), 0, "bits");
    }

    /** Copies float values, rounded to {@code dtype}, into a new owned row-contiguous tensor. */
    public static Tensor copyOf(float[] data, DType dtype, long... shape) {
        Objects.requireNonNull(data, "data");
        long[] checkedShape = checkShape(shape);
        long count = elementCountOf(checkedShape);
        if (count != data.length) {
            throw new IllegalArgumentException("data has " + data.length + " elements but shape "
                    + Arrays.toString(checkedShape) + " needs " + count);
        }
        Tensor tensor = allocate(dtype, checkedShape);
        for (int i = 0; i < data.length; i++) {
            dtype.store(tensor.segment, (long) i * dtype.byteSize(), data[i]);
        }
        return tensor;
    }

    // ---- views -------------------------------------------------------------------------------

    /** Returns a view with axes {@code a} and {@code b} swapped (negative axes count from the end). */
    public Tensor transpose(int a, int b) {
        int[] order = new int[shape.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        int axisA = axis(a, "a");
        int axisB = axis(b, "b");
        order[axisA] = axisB;
        order[axisB] = axisA;
        return permute(order);
    }

    /** Returns a view whose axis {@code i} is this tensor's axis {@code order[i]}. */
    public Tensor permute(int... order) {
        ensureOpen();
        if (order.length != shape.length) {
            throw new IllegalArgumentException("order must list all " + shape.length + " axes, got "
                    + Arrays.toString(order));
        }
        boolean[] seen = new boolean[shape.length];
        long[] newShape = new long[shape.length];
        long[] newStrides = new long[shape.length];
        for (int i = 0; i < order.length; i++) {
            int source = axis(order[i], "order[" + i + "]");
            if (seen[source]) {
                throw new IllegalArgumentException("order must be a permutation of 0.." + (shape.length - 1)
                        + ", got " + Arrays.toString(order));
            }
            seen[source] = true;
            newShape[i] = shape[source];
            newStrides[i] = strides[source];
        }
        return view(newShape, newStrides, offset);
    }

    /** Returns the view of indices {@code [start, end)} along {@code axis}, sharing memory. */
    public Tensor slice(int axis, long start, long end) {
        ensureOpen();
        int a = axis(axis, "axis");
        if (start < 0 || end < start || end > shape[a]) {
            throw new IllegalArgumentException("slice [" + start + ", " + end + ") of axis " + a
                    + " must satisfy 0 <= start <= end <= " + shape[a]);
        }
        long[] newShape = shape.clone();
        newShape[a] = end - start;
        return view(newShape, strides.clone(), offset + start * strides[a]);
    }

    private Tensor view(long[] newShape, long[] newStrides, long newOffset) {
        return new Tensor(segment, dtype, newShape, newStrides, newOffset, null, this);
    }

    // ---- element access ----------------------------------------------------------------------

    /** Reads one element, widened to float32. */
    public float getFloat(long... index) {
        ensureOpen();
        return dtype.load(segment, byteOffsetOf(index));
    }

    /** Writes one element, rounded to the dtype. */
    public void setFloat(float value, long... index) {
        ensureOpen();
        dtype.store(segment, byteOffsetOf(index), value);
    }

    /** Copies every element, widened to float32, in row-major order of the logical shape. */
    public float[] toFloatArray() {
        ensureOpen();
        long count = elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor has " + count + " elements, too many for a float[]");
        }
        float[] values = new float[(int) count];
        long[] index = new long[shape.length];
        for (int i = 0; i < values.length; i++) {
            values[i] = dtype.load(segment, byteOffsetOf(index));
            increment(index);
        }
        return values;
    }

    /** Returns a new owned row-contiguous tensor with the same dtype and values. */
    public Tensor contiguousCopy() {
        ensureOpen();
        Tensor copy = allocate(dtype, shape);
        long[] index = new long[shape.length];
        long count = elementCount();
        int size = dtype.byteSize();
        for (long i = 0; i < count; i++) {
            MemorySegment.copy(segment, byteOffsetOf(index), copy.segment, i * size, size);
            increment(index);
        }
        return copy;
    }

    private void increment(long[] index) {
        for (int axis = index.length - 1; axis >= 0; axis--) {
            if (++index[axis] < shape[axis]) {
                return;
            }
            index[axis] = 0;
        }
    }

    private long byteOffsetOf(long[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index needs " + shape.length + " values, got " + index.length);
        }
        long element = offset;
        for (int axis = 0; axis < index.length; axis++) {
            if (index[axis] < 0 || index[axis] >= shape[axis]) {
                throw new IndexOutOfBoundsException("index " + index[axis] + " of axis " + axis
                        + " must be in [0, " + shape[axis] + ")");
            }
            element += index[axis] * strides[axis];
        }
        return element * dtype.byteSize();
    }

    // ---- properties --------------------------------------------------------------------------

    /** The memory this tensor views (all of it, not only the elements the view reaches). */
    public MemorySegment segment() {
        return segment;
    }

    public DType dtype() {
        return dtype;
    }

    /** Number of axes. */
    public int ndim() {
        return shape.length;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** Extent of {@code axis}; negative axes count from the end. */
    public long shape(int axis) {
        return shape[axis(axis, "axis")];
    }

    /** A copy of the strides, in elements. */
    public long[] strides() {
        return strides.clone();
    }

    /** Stride of {@code axis} in elements; negative axes count from the end. */
    public long stride(int axis) {
        return strides[axis(axis, "axis")];
    }

    /** Element offset of element {@code (0, ..., 0)} within {@link #segment()}. */
    public long offset() {
        return offset;
    }

    public long elementCount() {
        return elementCountOf(shape);
    }

    /**
     * True if no two indices name the same memory, so the tensor can be written without races; false
     * for zero or interleaved strides. Sufficient test: sorted by stride, each axis steps past
     * everything the smaller axes span. Computed once.
     *
     * <p>NOTE: the test is conservative: a few layouts whose elements are distinct but whose axes
     * interleave (shape (3, 2) with strides (2, 3)) are reported as overlapping.
     */
    public boolean hasUniqueElements() {
        Boolean unique = uniqueElements;
        if (unique == null) {
            unique = isContiguous() || elementCount() == 0 || computeUniqueElements();
            uniqueElements = unique;
        }
        return unique;
    }

    private boolean computeUniqueElements() {
        Integer[] axes = new Integer[shape.length];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = i;
        }
        Arrays.sort(axes, (a, b) -> Long.compare(strides[a], strides[b]));

        long span = 0;
        for (int axis : axes) {
            if (shape[axis] <= 1) {
                continue;
            }
            if (strides[axis] <= span) {
                return false;
            }
            span += (shape[axis] - 1) * strides[axis];
        }
        return true;
    }

    /** True if the elements are laid out in row-major order without gaps. */
    public boolean isContiguous() {
        long expected = 1;
        for (int axis = shape.length - 1; axis >= 0; axis--) {
            if (shape[axis] != 1 && strides[axis] != expected) {
                return false;
            }
            expected *= shape[axis];
        }
        return true;
    }

    /**
     * Returns the bytes this view can touch, from its lowest to its highest element, as a slice of
     * {@link #segment()}; empty for a tensor with no elements.
     */
    public MemorySegment footprint() {
        if (elementCount() == 0) {
            return segment.asSlice(0, 0);
        }
        long last = offset;
        for (int axis = 0; axis < shape.length; axis++) {
            last += (shape[axis] - 1) * strides[axis];
        }
        return segment.asSlice(offset * dtype.byteSize(), (last - offset + 1) * dtype.byteSize());
    }

    /** True once this handle, or the tensor it is a view of, is closed or its memory freed. */
    public boolean isClosed() {
        return closed || (parent != null && parent.isClosed()) || !segment.scope().isAlive();
    }

    /**
     * Closes this handle. A tensor that owns its memory frees it, which also invalidates its views;
     * closing a view or a wrapped tensor frees nothing. Closing twice has no effect.
     *
     * @throws IllegalStateException if the memory is in use by a native call on another thread; the
     *                               tensor then stays open, and closing it later frees it
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (ownedArena != null) {
            try {
                ownedArena.close();
            } catch (IllegalStateException e) {
                throw new IllegalStateException("tensor " + describe() + " cannot be closed while another thread is"
                        + " using it in a native call; close it after that call returns", e);
            }
        }
        closed = true;
    }

    /** @throws IllegalStateException if this tensor is closed */
    public void ensureOpen() {
        ensureOpen("tensor");
    }

    /**
     * @param name the caller's name for this tensor in the message, for example {@code x}
     * @throws IllegalStateException if this tensor is closed
     */
    public void ensureOpen(String name) {
        if (isClosed()) {
            String why = closed ? "it was closed" : "the tensor it views, or its memory, was closed";
            throw new IllegalStateException(name + " (" + describe() + ") is closed: " + why
                    + "; it can no longer be read or written");
        }
    }

    /** A short description for messages: dtype, shape and strides. */
    public String describe() {
        return dtype + Arrays.toString(shape) + " strides " + Arrays.toString(strides);
    }

    @Override
    public String toString() {
        return "Tensor(" + describe() + ", offset " + offset + (isClosed() ? ", closed" : "") + ")";
    }

    // ---- checks ------------------------------------------------------------------------------

    private int axis(int axis, String name) {
        int resolved = axis < 0 ? axis + shape.length : axis;
        if (resolved < 0 || resolved >= shape.length) {
            throw new IllegalArgumentException(name + " must be an axis in [" + (-shape.length) + ", "
                    + (shape.length - 1) + "], got " + axis);
        }
        return resolved;
    }

    private void checkFitsSegment(String name) {
        if (elementCount() == 0) {
            return;
        }
        long last = offset;
        try {
            for (int axis = 0; axis < shape.length; axis++) {
                last = Math.addExact(last, Math.multiplyExact(shape[axis] - 1, strides[axis]));
            }
            long endByte = Math.multiplyExact(Math.addExact(last, 1), dtype.byteSize());
            if (endByte > segment.byteSize()) {
                throw new IllegalArgumentException(name + " is too small for " + describe() + " at offset "
                        + offset + ": the view needs " + endByte + " bytes, the segment has "
                        + segment.byteSize());
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape and strides of " + describe()
                    + " address more than 2^63 elements", e);
        }
    }

    private static long[] checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length == 0) {
            throw new IllegalArgumentException("shape must have at least one axis, got []");
        }
        for (int axis = 0; axis < shape.length; axis++) {
            if (shape[axis] < 0) {
                throw new IllegalArgumentException("shape[" + axis + "] must be >= 0, got " + shape[axis]);
            }
        }
        elementCountOf(shape);
        return shape.clone();
    }

    private static long[] checkStrides(long[] shape, long[] strides) {
        Objects.requireNonNull(strides, "strides");
        if (strides.length != shape.length) {
            throw new IllegalArgumentException("strides must have one value per axis (" + shape.length
                    + "), got " + Arrays.toString(strides));
        }
        for (int axis = 0; axis < strides.length; axis++) {
            if (strides[axis] < 0) {
                throw new IllegalArgumentException("strides[" + axis + "] must be >= 0, got " + strides[axis]);
            }
        }
        return strides.clone();
    }

    private static long checkOffset(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0 elements, got " + offset);
        }
        return offset;
    }

    private static long elementCountOf(long[] shape) {
        long count = 1;
        try {
            for (long extent : shape) {
                count = Math.multiplyExact(count, extent);
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^63 elements", e);
        }
        return count;
    }

    private static long byteSizeOf(DType dtype, long[] shape) {
        try {
            return Math.multiplyExact(elementCountOf(shape), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs more than 2^63 bytes", e);
        }
    }

    static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long stride = 1;
        for (int axis = shape.length - 1; axis >= 0; axis--) {
            strides[axis] = stride;
            stride *= Math.max(shape[axis], 1);
        }
        return strides;
    }
}
