package io.jrope;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Views, offsets, copies, wrapping and closing of {@link Tensor}. */
class TensorTest {

    // ---- views -------------------------------------------------------------------------------

    @Test
    void transposeSharesMemory() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3, 4)) {
            Tensor view = parent.transpose(0, 2);
            view.setFloat(7.5f, 3, 1, 0);
            assertEquals(7.5f, parent.getFloat(0, 1, 3), "a write through the view lands in the parent");
            parent.setFloat(-2f, 1, 2, 1);
            assertEquals(-2f, view.getFloat(1, 2, 1), "a write to the parent shows through the view");
        }
    }

    @Test
    void transposeSwapsShapeAndStrides() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT16, 2, 3, 4)) {
            Tensor view = parent.transpose(-1, 0);
            assertArrayEquals(new long[] {4, 3, 2}, view.shape(), "shape");
            assertArrayEquals(new long[] {1, 4, 12}, view.strides(), "strides");
            assertFalse(view.isContiguous(), "a transposed view is not contiguous");
        }
    }

    @Test
    void permuteReordersAxes() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3, 4, 5)) {
            Tensor view = parent.permute(0, 2, 1, 3);
            assertArrayEquals(new long[] {2, 4, 3, 5}, view.shape(), "shape");
            assertArrayEquals(new long[] {60, 5, 20, 1}, view.strides(), "strides");
            view.setFloat(3f, 1, 3, 2, 4);
            assertEquals(3f, parent.getFloat(1, 2, 3, 4), "the permuted view writes the parent's element");
        }
    }

    @Test
    void permuteAcceptsNegativeAxes() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3)) {
            assertArrayEquals(parent.transpose(0, 1).strides(), parent.permute(-1, -2).strides(), "strides");
        }
    }

    @Test
    void permuteRejectsWrongLength() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parent.permute(0, 1));
            assertTrue(e.getMessage().contains("order must list all 3 axes"), e.getMessage());
        }
    }

    @Test
    void permuteRejectsRepeatedAxis() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parent.permute(0, 1, 1));
            assertTrue(e.getMessage().contains("permutation of 0..2"), e.getMessage());
        }
    }

    @Test
    void permuteRejectsAxisOutOfRange() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parent.permute(0, 1, 3));
            assertTrue(e.getMessage().contains("[-3, 2]"), e.getMessage());
            assertTrue(e.getMessage().contains("got 3"), e.getMessage());
        }
    }

    @Test
    void sliceMovesOffsetAndKeepsStrides() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 4, 6)) {
            Tensor rows = parent.slice(0, 1, 3);
            assertEquals(6, rows.offset(), "offset of rows 1..2");
            assertArrayEquals(new long[] {2, 6}, rows.shape(), "shape of rows 1..2");
            assertTrue(rows.isContiguous(), "a slice of the first axis is contiguous");

            Tensor columns = rows.slice(-1, 2, 5);
            assertEquals(8, columns.offset(), "offset of columns 2..4 of rows 1..2");
            assertArrayEquals(new long[] {6, 1}, columns.strides(), "strides of the column slice");
            assertFalse(columns.isContiguous(), "a slice of the last axis is not contiguous");

            columns.setFloat(9f, 1, 0);
            assertEquals(9f, parent.getFloat(2, 2), "the slice writes the parent's element");
        }
    }

    @Test
    void sliceAcceptsEmptyRange() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 4, 6)) {
            assertEquals(0, parent.slice(1, 6, 6).elementCount(), "slice [6, 6) of an axis of 6");
        }
    }

    @Test
    void sliceRejectsBoundsOutOfRange() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 4, 6)) {
            long[][] bounds = {{-1, 2}, {3, 2}, {0, 7}};
            for (long[] bound : bounds) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> parent.slice(1, bound[0], bound[1]));
                assertTrue(e.getMessage().contains("[" + bound[0] + ", " + bound[1] + ")"), e.getMessage());
                assertTrue(e.getMessage().contains("0 <= start <= end <= 6"), e.getMessage());
            }
        }
    }

    @Test
    void sliceRejectsAxisOutOfRange() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 4, 6)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parent.slice(2, 0, 1));
            assertTrue(e.getMessage().contains("axis must be an axis in [-2, 1], got 2"), e.getMessage());
        }
    }

    // ---- copies and element access -----------------------------------------------------------

    @Test
    void contiguousCopyKeepsValuesInOwnMemory() {
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        for (DType dtype : DType.values()) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor parent = TestTensors.random(arena, random, dtype, 3, 4, 5);
                Tensor view = parent.permute(2, 0, 1).slice(1, 1, 3);
                try (Tensor copy = view.contiguousCopy()) {
                    String context = dtype + ", " + TestSeeds.describe(seed);
                    TestTensors.assertSameBits(view, copy, context);
                    assertTrue(copy.isContiguous(), "the copy is contiguous; " + context);
                    assertEquals(0, copy.offset(), "the copy starts at offset 0; " + context);

                    float before = view.getFloat(0, 0, 0);
                    copy.setFloat(before + 1, 0, 0, 0);
                    assertEquals(before, view.getFloat(0, 0, 0), "writing the copy leaves the source; " + context);
                }
            }
        }
    }

    @Test
    void toFloatArrayIsRowMajor() {
        float[] data = {0, 1, 2, 3, 4, 5};
        Tensor tensor = Tensor.wrap(data, 2, 3).transpose(0, 1);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, tensor.toFloatArray(), "(3, 2) view of a (2, 3) array");
    }

    @Test
    void copyOfRoundsToDtype() {
        float[] data = {1.0f + 0x1p-9f, 3.14159f, -65519.0f, 1e-8f};
        for (DType dtype : DType.values()) {
            try (Tensor tensor = Tensor.copyOf(data, dtype, 2, 2)) {
                for (int i = 0; i < data.length; i++) {
                    assertEquals(ExactRounding.round(data[i], dtype), tensor.getFloat(i / 2, i % 2), 0.0,
                            dtype + " element " + i);
                }
            }
        }
    }

    @Test
    void copyOfRejectsLengthMismatch() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.copyOf(new float[5], DType.FLOAT32, 2, 3));
        assertTrue(e.getMessage().contains("5 elements"), e.getMessage());
        assertTrue(e.getMessage().contains("needs 6"), e.getMessage());
    }

    @Test
    void getFloatRejectsIndexOutOfBounds() {
        try (Tensor tensor = Tensor.allocate(DType.FLOAT32, 2, 3)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> tensor.getFloat(1, 3));
            assertTrue(e.getMessage().contains("index 3 of axis 1 must be in [0, 3)"), e.getMessage());
        }
    }

    @Test
    void getFloatRejectsWrongIndexLength() {
        try (Tensor tensor = Tensor.allocate(DType.FLOAT32, 2, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tensor.getFloat(1));
            assertTrue(e.getMessage().contains("index needs 2 values, got 1"), e.getMessage());
        }
    }

    @Test
    void negativeAxesCountFromEnd() {
        try (Tensor tensor = Tensor.allocate(DType.FLOAT32, 2, 3, 4)) {
            assertEquals(4, tensor.shape(-1), "shape(-1)");
            assertEquals(3, tensor.shape(-2), "shape(-2)");
            assertEquals(12, tensor.stride(-3), "stride(-3)");
        }
    }

    @Test
    void footprintCoversFirstToLastElement() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT16, 4, 6)) {
            MemorySegment footprint = parent.slice(0, 1, 3).slice(1, 2, 5).footprint();
            assertEquals(parent.segment().address() + 8L * 2, footprint.address(), "start: element (1, 2) = 8");
            assertEquals((16 - 8 + 1) * 2L, footprint.byteSize(), "length: elements 8..16, up to (2, 4)");
        }
    }

    // ---- wrapping ----------------------------------------------------------------------------

    @Test
    void wrapFloatArrayAtOffset() {
        float[] data = new float[20];
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.5f;
        }
        Tensor tensor = Tensor.wrap(data, 5, new long[] {3, 4});
        assertEquals(5, tensor.offset(), "offset");
        assertEquals(data[5 + 2 * 4 + 3], tensor.getFloat(2, 3), "element (2, 3) is data[5 + 2*4 + 3]");
        tensor.setFloat(-1f, 1, 1);
        assertEquals(-1f, data[5 + 4 + 1], "a write lands in data[5 + 1*4 + 1]");
    }

    @Test
    void wrapFloatArrayVarargsAreShape() {
        Tensor tensor = Tensor.wrap(new float[128], 2, 64);
        assertArrayEquals(new long[] {2, 64}, tensor.shape(), "shape");
        assertEquals(0, tensor.offset(), "offset");
    }

    @Test
    void wrapFloatArrayRejectsOffsetPastEnd() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.wrap(new float[20], 9, new long[] {3, 4}));
        assertTrue(e.getMessage().contains("needs 84 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("has 80"), e.getMessage());
    }

    @Test
    void wrapShortArrayDecodesBits() {
        long seed = TestSeeds.next();
        Random random = new Random(seed);
        short[] bits = new short[12];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = (short) (random.nextInt(0x7000) | (random.nextBoolean() ? 0x8000 : 0));
        }
        Tensor half = Tensor.wrap(bits, DType.FLOAT16, 3, 4);
        Tensor brain = Tensor.wrap(bits, DType.BFLOAT16, 3, 4);
        for (int i = 0; i < bits.length; i++) {
            assertEquals(Float.float16ToFloat(bits[i]), half.getFloat(i / 4, i % 4),
                    "float16 element " + i + "; " + TestSeeds.describe(seed));
            assertEquals(Float.intBitsToFloat((bits[i] & 0xFFFF) << 16), brain.getFloat(i / 4, i % 4),
                    "bfloat16 element " + i + "; " + TestSeeds.describe(seed));
        }
    }

    @Test
    void wrapShortArrayWritesArray() {
        short[] bits = new short[6];
        Tensor tensor = Tensor.wrap(bits, DType.BFLOAT16, 2, 3);
        tensor.setFloat(1.5f, 1, 2);
        assertEquals((short) 0x3FC0, bits[5], "bfloat16 bits of 1.5 in element 5");
    }

    @Test
    void wrapShortArrayRejectsFloat32() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.wrap(new short[4], DType.FLOAT32, 2, 2));
        assertTrue(e.getMessage().contains("float16 or bfloat16"), e.getMessage());
    }

    @Test
    void wrapStridedViewReadsElements() {
        float[] data = new float[30];
        for (int i = 0; i < data.length; i++) {
            data[i] = i;
        }
        Tensor tensor = Tensor.wrap(MemorySegment.ofArray(data), DType.FLOAT32, new long[] {2, 3}, new long[] {1, 7}, 4);
        assertArrayEquals(new float[] {4, 11, 18, 5, 12, 19}, tensor.toFloatArray(), "elements at 4 + i + 7j");
    }

    // ---- closing -----------------------------------------------------------------------------

    @Test
    void closeFreesOwnedMemory() {
        Tensor tensor = Tensor.allocate(DType.FLOAT32, 2, 3);
        MemorySegment segment = tensor.segment();
        tensor.close();
        assertTrue(tensor.isClosed(), "isClosed after close");
        assertFalse(segment.scope().isAlive(), "the owned memory is freed");
        assertThrows(IllegalStateException.class, () -> tensor.getFloat(0, 0), "reading a closed tensor");
    }

    @Test
    void closeTwiceIsHarmless() {
        Tensor tensor = Tensor.allocate(DType.FLOAT32, 2, 3);
        tensor.close();
        assertDoesNotThrow(tensor::close, "second close");
    }

    @Test
    void closingViewKeepsParentOpen() {
        try (Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3)) {
            Tensor view = parent.transpose(0, 1);
            view.close();
            assertTrue(view.isClosed(), "the view is closed");
            assertFalse(parent.isClosed(), "the parent stays open");
            assertThrows(IllegalStateException.class, () -> view.getFloat(0, 0), "reading the closed view");
            assertDoesNotThrow(() -> parent.getFloat(0, 0), "reading the parent");
        }
    }

    @Test
    void closingParentInvalidatesViews() {
        Tensor parent = Tensor.allocate(DType.FLOAT32, 2, 3, 4);
        Tensor view = parent.transpose(0, 2);
        Tensor viewOfView = view.slice(0, 1, 3);
        parent.close();
        assertTrue(view.isClosed(), "view");
        assertTrue(viewOfView.isClosed(), "view of a view");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> viewOfView.getFloat(0, 0, 0));
        assertTrue(e.getMessage().contains("is closed"), e.getMessage());
    }

    @Test
    void closingWrappedTensorKeepsCallerMemory() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(64);
            Tensor tensor = Tensor.wrap(segment, DType.FLOAT32, 4, 4);
            tensor.close();
            assertTrue(tensor.isClosed(), "the handle is closed");
            assertTrue(segment.scope().isAlive(), "the caller's segment stays alive");
        }
    }

    @Test
    void closingArenaClosesTensor() {
        Tensor tensor;
        try (Arena arena = Arena.ofConfined()) {
            tensor = Tensor.allocate(arena, DType.BFLOAT16, 2, 2);
            assertFalse(tensor.isClosed(), "open while the arena is");
        }
        assertTrue(tensor.isClosed(), "closed with its arena");
    }

    @Test
    void contiguousCopyOfClosedTensorFails() {
        Tensor tensor = Tensor.allocate(DType.FLOAT32, 2, 3);
        tensor.close();
        assertThrows(IllegalStateException.class, tensor::contiguousCopy, "copy of a closed tensor");
    }
}
