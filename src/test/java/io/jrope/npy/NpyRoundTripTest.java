package io.jrope.npy;

import io.jrope.DType;
import io.jrope.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyRoundTripTest {
    @TempDir
    Path folder;

    @ParameterizedTest
    @EnumSource(DType.class)
    void tensorRoundTripKeepsBits(DType dtype) throws IOException {
        long[] shape = {2, 3, 5, 8};
        Path file = folder.resolve(dtype + ".npy");
        try (Tensor written = randomTensor(dtype, shape, 7)) {
            Npy.writeTensor(file, written);
            try (Tensor read = Npy.readTensor(file, dtype)) {
                assertEquals(dtype, read.dtype());
                assertArrayEquals(shape, read.shape());
                assertTrue(read.isContiguous());
                assertArrayEquals(bits(written), bits(read));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void headerNamesTheNumpyDtype(DType dtype) throws IOException {
        Path file = folder.resolve("header.npy");
        try (Tensor tensor = randomTensor(dtype, new long[] {4, 6}, 1)) {
            Npy.writeTensor(file, tensor);
        }
        NpyHeader header = Npy.readHeader(file);
        String expected = switch (dtype) {
            case FLOAT32 -> "<f4";
            case FLOAT16 -> "<f2";
            case BFLOAT16 -> "<u2";
        };
        assertEquals(expected, header.descr());
        assertEquals(1, header.majorVersion());
        assertFalse(header.fortranOrder());
        assertEquals(0, header.dataOffset() % 64, "data offset " + header.dataOffset() + " is not 64-byte aligned");
        assertEquals(header.dataOffset() + 4L * 6 * dtype.byteSize(), Files.size(file));
    }

    @Test
    void floatFilesNeedNoDtype() throws IOException {
        Path file = folder.resolve("f16.npy");
        try (Tensor tensor = randomTensor(DType.FLOAT16, new long[] {3, 4}, 2)) {
            Npy.writeTensor(file, tensor);
            try (Tensor read = Npy.readTensor(file)) {
                assertEquals(DType.FLOAT16, read.dtype());
                assertArrayEquals(bits(tensor), bits(read));
            }
        }
    }

    @Test
    void stridedTensorWritesLogicalOrder() throws IOException {
        Path file = folder.resolve("strided.npy");
        try (Tensor base = randomTensor(DType.FLOAT32, new long[] {2, 6, 3, 10}, 3)) {
            Tensor view = base.transpose(1, 2).slice(3, 2, 9);
            assertFalse(view.isContiguous());
            Npy.writeTensor(file, view);
            try (Tensor read = Npy.readTensor(file)) {
                assertArrayEquals(view.shape(), read.shape());
                assertArrayEquals(view.toFloatArray(), read.toFloatArray());
            }
        }
    }

    @Test
    void emptyTensorRoundTrips() throws IOException {
        Path file = folder.resolve("empty.npy");
        try (Tensor empty = Tensor.allocate(DType.FLOAT32, 2, 0, 4)) {
            Npy.writeTensor(file, empty);
        }
        try (Tensor read = Npy.readTensor(file)) {
            assertArrayEquals(new long[] {2, 0, 4}, read.shape());
            assertEquals(0, read.elementCount());
        }
    }

    @Test
    void tensorLargerThanOneChunkRoundTrips() throws IOException {
        Path file = folder.resolve("large.npy");
        long[] shape = {3, 300_001};
        try (Tensor written = randomTensor(DType.FLOAT32, shape, 4)) {
            Npy.writeTensor(file, written);
            try (Tensor read = Npy.readTensor(file)) {
                assertArrayEquals(bits(written), bits(read));
            }
        }
    }

    @Test
    void nanPayloadSurvives() throws IOException {
        Path file = folder.resolve("nan.npy");
        int payload = 0x7FA0_0001;
        try (Tensor tensor = Tensor.allocate(DType.FLOAT32, 2)) {
            tensor.segment().setAtIndex(ValueLayout.JAVA_INT, 0, payload);
            Npy.writeTensor(file, tensor);
        }
        try (Tensor read = Npy.readTensor(file)) {
            assertEquals(payload, read.segment().getAtIndex(ValueLayout.JAVA_INT, 0));
        }
    }

    @Test
    void streamReadUsesCallerArena() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Tensor tensor = randomTensor(DType.BFLOAT16, new long[] {5, 4}, 5)) {
            Npy.writeTensor(bytes, tensor);
            try (Arena arena = Arena.ofConfined()) {
                Tensor read = Npy.readTensor(new ByteArrayInputStream(bytes.toByteArray()), "memory", DType.BFLOAT16,
                        arena);
                assertArrayEquals(bits(tensor), bits(read));
                assertEquals(arena.scope(), read.segment().scope());
            }
        }
    }

    @Test
    void int64RoundTripKeepsShape() throws IOException {
        Path file = folder.resolve("i8.npy");
        long[] values = {0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 7, 1L << 40};
        IntegerArray written = new IntegerArray(new long[] {2, 3}, values);
        Npy.writeInt64(file, written);
        assertEquals("<i8", Npy.readHeader(file).descr());
        assertEquals(written, Npy.readIntegers(file));
    }

    @Test
    void int32RoundTripWidens() throws IOException {
        Path file = folder.resolve("i4.npy");
        IntegerArray written = IntegerArray.of(0, -5, Integer.MAX_VALUE, Integer.MIN_VALUE);
        Npy.writeInt32(file, written);
        assertEquals("<i4", Npy.readHeader(file).descr());
        assertEquals(written, Npy.readIntegers(file));
    }

    @Test
    void scalarIntegerRoundTrips() throws IOException {
        Path file = folder.resolve("scalar.npy");
        IntegerArray scalar = new IntegerArray(new long[0], new long[] {42});
        Npy.writeInt64(file, scalar);
        assertEquals("()", Npy.readHeader(file).shapeText());
        assertEquals(scalar, Npy.readIntegers(file));
    }

    @Test
    void writeReplacesExistingFile() throws IOException {
        Path file = folder.resolve("replace.npy");
        Files.writeString(file, "old contents that are not an array");
        Npy.writeInt64(file, IntegerArray.of(1, 2, 3));
        assertEquals(IntegerArray.of(1, 2, 3), Npy.readIntegers(file));
        try (var listing = Files.list(folder)) {
            assertEquals(1, listing.count(), "a temporary file was left behind");
        }
    }

    static Tensor randomTensor(DType dtype, long[] shape, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Tensor tensor = Tensor.allocate(dtype, shape);
        long count = tensor.elementCount();
        for (long i = 0; i < count; i++) {
            dtype.store(tensor.segment(), i * dtype.byteSize(), (float) (random.nextGaussian() * 3));
        }
        return tensor;
    }

    /** Returns the bit patterns of the tensor's values widened to float32, in logical order. */
    static int[] bits(Tensor tensor) {
        float[] values = tensor.toFloatArray();
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }
}
