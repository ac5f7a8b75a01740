package io.jrope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/** Tensors for tests: random contents, poisoned outputs, raw bits and bit-for-bit comparison. */
final class TestTensors {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private TestTensors() {
    }

    /** Returns a random finite value: a normal sample times 2^k for k in [-4, 4], so |value| stays below about 100. */
    static float randomValue(Random random) {
        return (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(9) - 4));
    }

    /** Returns a row-contiguous tensor in {@code arena} holding random values rounded to {@code dtype}. */
    static Tensor random(Arena arena, Random random, DType dtype, long... shape) {
        Tensor tensor = Tensor.allocate(arena, dtype, shape);
        fillRandom(tensor, random);
        return tensor;
    }

    /** Writes a random value into every element of the view {@code tensor}. */
    static void fillRandom(Tensor tensor, Random random) {
        long[] offsets = elementOffsets(tensor);
        int size = tensor.dtype().byteSize();
        for (long offset : offsets) {
            tensor.dtype().store(tensor.segment(), offset * size, randomValue(random));
        }
    }

    /** Returns a row-contiguous tensor in {@code arena} filled with the NaN pattern of {@code dtype}. */
    static Tensor poisoned(Arena arena, DType dtype, long... shape) {
        Tensor tensor = Tensor.allocate(arena, dtype, shape);
        poison(tensor.segment(), dtype);
        return tensor;
    }

    /** Returns a row-contiguous copy of {@code tensor} in {@code arena}, copied bit for bit. */
    static Tensor copy(Arena arena, Tensor tensor) {
        DType dtype = tensor.dtype();
        Tensor copy = Tensor.allocate(arena, dtype, tensor.shape());
        long[] offsets = elementOffsets(tensor);
        int size = dtype.byteSize();
        for (int i = 0; i < offsets.length; i++) {
            MemorySegment.copy(tensor.segment(), offsets[i] * size, copy.segment(), (long) i * size, size);
        }
        return copy;
    }

    /** Fills all of {@code segment} with the quiet-NaN pattern of {@code dtype}, so an unwritten output fails. */
    static void poison(MemorySegment segment, DType dtype) {
        int size = dtype.byteSize();
        for (long byteOffset = 0; byteOffset + size <= segment.byteSize(); byteOffset += size) {
            dtype.store(segment, byteOffset, Float.NaN);
        }
    }

    /** Element offsets (in elements, into the segment) of every element of {@code tensor}, in row-major order. */
    static long[] elementOffsets(Tensor tensor) {
        long count = tensor.elementCount();
        long[] shape = tensor.shape();
        long[] strides = tensor.strides();
        long[] offsets = new long[Math.toIntExact(count)];
        long[] index = new long[shape.length];
        for (int i = 0; i < offsets.length; i++) {
            long element = tensor.offset();
            for (int axis = 0; axis < shape.length; axis++) {
                element += index[axis] * strides[axis];
            }
            offsets[i] = element;
            increment(index, shape);
        }
        return offsets;
    }

    /** Raw bits of every element in row-major order: float32 as int bits, float16 and bfloat16 zero-extended. */
    static int[] bits(Tensor tensor) {
        tensor.ensureOpen();
        long[] offsets = elementOffsets(tensor);
        int[] bits = new int[offsets.length];
        for (int i = 0; i < offsets.length; i++) {
            bits[i] = bitsAt(tensor.segment(), tensor.dtype(), offsets[i]);
        }
        return bits;
    }

    /** Raw bits of the element at element offset {@code offset} of {@code segment}. */
    static int bitsAt(MemorySegment segment, DType dtype, long offset) {
        long byteOffset = offset * dtype.byteSize();
        return dtype == DType.FLOAT32 ? segment.get(INT, byteOffset) : segment.get(SHORT, byteOffset) & 0xFFFF;
    }

    /** Copies every byte of {@code segment}, for checking later that a call left it unchanged. */
    static byte[] bytes(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Largest |x| over the elements of {@code tensor}, or 0 for an empty one. */
    static double maxAbs(Tensor tensor) {
        double max = 0;
        for (float value : tensor.toFloatArray()) {
            max = Math.max(max, Math.abs(value));
        }
        return max;
    }

    /** Fails unless both tensors have the same shape and every element the same bits. */
    static void assertSameBits(Tensor expected, Tensor actual, String context) {
        if (!Arrays.equals(expected.shape(), actual.shape())) {
            fail(context + ": shape " + Arrays.toString(actual.shape()) + ", expected "
                    + Arrays.toString(expected.shape()));
        }
        int[] want = bits(expected);
        int[] got = bits(actual);
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                fail(context + ": element " + indexText(i, expected.shape()) + " is "
                        + bitsText(got[i], actual.dtype()) + ", expected " + bitsText(want[i], expected.dtype())
                        + " (first of " + countDifferent(want, got) + " different elements)");
            }
        }
    }

    /** Fails unless both tensors hold equal values (signed zeros count as equal, NaN never does). */
    static void assertSameValues(Tensor expected, Tensor actual, String context) {
        float[] want = expected.toFloatArray();
        float[] got = actual.toFloatArray();
        for (int i = 0; i < want.length; i++) {
            if (!(want[i] == got[i])) {
                fail(context + ": element " + indexText(i, expected.shape()) + " is " + got[i] + ", expected "
                        + want[i]);
            }
        }
    }

    /**
     * Fails unless every element of {@code segment} outside the view {@code view} still has the bits it
     * had in {@code before}: a call may write only the elements of its output.
     */
    static void assertOnlyViewWritten(MemorySegment segment, byte[] before, Tensor view, String context) {
        DType dtype = view.dtype();
        int size = dtype.byteSize();
        boolean[] inView = new boolean[Math.toIntExact(segment.byteSize() / size)];
        for (long offset : elementOffsets(view)) {
            inView[Math.toIntExact(offset)] = true;
        }
        MemorySegment original = MemorySegment.ofArray(before);
        for (int element = 0; element < inView.length; element++) {
            if (!inView[element] && bitsAt(segment, dtype, element) != bitsAt(original, dtype, element)) {
                fail(context + ": element " + element + " of the buffer lies outside the output view "
                        + view.describe() + " at offset " + view.offset() + " but was changed from "
                        + bitsText(bitsAt(original, dtype, element), dtype) + " to "
                        + bitsText(bitsAt(segment, dtype, element), dtype));
            }
        }
    }

    /** Row-major multi-index of flat position {@code flat} in {@code shape}, as text. */
    static String indexText(long flat, long[] shape) {
        long[] index = new long[shape.length];
        long rest = flat;
        for (int axis = shape.length - 1; axis >= 0; axis--) {
            index[axis] = shape[axis] == 0 ? 0 : rest % shape[axis];
            rest = shape[axis] == 0 ? 0 : rest / shape[axis];
        }
        return Arrays.toString(index);
    }

    /** Formats a value with its bits for messages, for example {@code 1.5 (0x3fc0)}. */
    static String bitsText(int bits, DType dtype) {
        float value = dtype == DType.FLOAT32 ? Float.intBitsToFloat(bits)
                : dtype.load(MemorySegment.ofArray(new short[] {(short) bits}), 0);
        return value + " (0x" + Integer.toHexString(bits) + ")";
    }

    static void increment(long[] index, long[] shape) {
        for (int axis = index.length - 1; axis >= 0; axis--) {
            if (++index[axis] < shape[axis]) {
                return;
            }
            index[axis] = 0;
        }
    }

    private static int countDifferent(int[] want, int[] got) {
        int count = 0;
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                count++;
            }
        }
        return count;
    }
}
