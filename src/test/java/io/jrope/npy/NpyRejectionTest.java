package io.jrope.npy;

import io.jrope.DType;
import io.jrope.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files this package must read although it did not write them, and files it must reject. */
class NpyRejectionTest {
    @TempDir
    Path folder;

    // ---- headers written by other tools ------------------------------------------------------

    @Test
    void version2HeaderIsRead() throws IOException {
        Path file = write("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats(1.5f, -2f));
        try (Tensor tensor = Npy.readTensor(file)) {
            assertArrayEquals(new float[] {1.5f, -2f}, tensor.toFloatArray());
        }
        assertEquals(2, Npy.readHeader(file).majorVersion());
    }

    @Test
    void version3HeaderIsRead() throws IOException {
        String dict = "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1, 2)}";
        Path file = write("v3.npy", 3, dict, floats(3f, 4f));
        try (Tensor tensor = Npy.readTensor(file)) {
            assertArrayEquals(new long[] {1, 2}, tensor.shape());
            assertArrayEquals(new float[] {3f, 4f}, tensor.toFloatArray());
        }
    }

    @Test
    void python2LongSuffixIsRead() throws IOException {
        Path file = write("py2.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2L,), }", longs(5, -6));
        assertEquals(IntegerArray.of(5, -6), Npy.readIntegers(file));
    }

    // ---- rejected files ----------------------------------------------------------------------

    @Test
    void badMagicIsRejected() throws IOException {
        Path file = folder.resolve("text.npy");
        Files.writeString(file, "this is not an array");
        IOException error = assertThrows(IOException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "not a .npy file", "\\x93NUMPY");
    }

    @Test
    void emptyFileIsRejected() throws IOException {
        Path file = folder.resolve("empty.npy");
        Files.write(file, new byte[0]);
        IOException error = assertThrows(IOException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "empty");
    }

    @Test
    void unknownVersionIsRejected() throws IOException {
        Path file = write("v4.npy", 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1f));
        IOException error = assertThrows(IOException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "4.0", "1.0, 2.0 and 3.0");
    }

    @Test
    void bigEndianIsRejected() throws IOException {
        Path file = write("big.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "big-endian", ">f4", "<f4");
    }

    @Test
    void fortranOrderIsRejected() throws IOException {
        Path file = write("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "Fortran", "C order");
    }

    @Test
    void float64IsRejected() throws IOException {
        Path file = write("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new byte[8]);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "<f8", "<f4", "<f2", "<u2");
    }

    @Test
    void structuredDtypeIsRejected() throws IOException {
        Path file = write("struct.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                new byte[4]);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "structured");
    }

    @Test
    void truncatedDataIsRejected() throws IOException {
        Path file = write("short.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", floats(1f, 2f));
        IOException error = assertThrows(IOException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "truncated", "16 bytes", "found 8");
    }

    @Test
    void truncatedStreamIsRejected() throws IOException {
        Path file = write("short.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", new byte[4]);
        IOException error = assertThrows(IOException.class,
                () -> Npy.readTensor(Files.newInputStream(file), "stream", null, null));
        assertMentions(error, "stream", "truncated", "6 bytes", "found 4");
    }

    @Test
    void trailingBytesAreRejected() throws IOException {
        Path file = write("long.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1f, 2f));
        IOException error = assertThrows(IOException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "after the data");
    }

    @Test
    void invalidHeaderDictIsRejected() throws IOException {
        Path file = write("dict.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", floats(1f));
        IOException error = assertThrows(IOException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "invalid .npy header");
    }

    @Test
    void missingHeaderKeyIsRejected() throws IOException {
        Path file = write("keys.npy", 1, "{'descr': '<f4', 'shape': (1,), }", floats(1f));
        IOException error = assertThrows(IOException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "fortran_order");
    }

    @Test
    void uint16NeedsBfloat16Request() throws IOException {
        Path file = write("u2.npy", 1, "{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }", new byte[2]);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "<u2", "bfloat16");
        try (Tensor tensor = Npy.readTensor(file, DType.BFLOAT16)) {
            assertEquals(DType.BFLOAT16, tensor.dtype());
        }
    }

    @Test
    void dtypeMismatchIsRejected() throws IOException {
        Path file = write("f4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1f));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> Npy.readTensor(file, DType.FLOAT16));
        assertMentions(error, file.toString(), "<f4", "float16", "<f2");
    }

    @Test
    void scalarTensorIsRejected() throws IOException {
        Path file = write("scalar.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats(1f));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Npy.readTensor(file));
        assertMentions(error, file.toString(), "0-d");
    }

    @Test
    void floatFileIsNotIntegers() throws IOException {
        Path file = write("f4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1f));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> Npy.readIntegers(file));
        assertMentions(error, file.toString(), "<f4", "<i4", "<i8");
    }

    @Test
    void int32WriteRejectsWideValues() {
        Path file = folder.resolve("wide.npy");
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> Npy.writeInt32(file, IntegerArray.of(1, 1L << 33)));
        assertMentions(error, "values[1]", "int32", "int64");
        assertTrue(Files.notExists(file), "a failed write left " + file);
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static void assertMentions(Exception error, String... fragments) {
        for (String fragment : fragments) {
            assertTrue(error.getMessage().contains(fragment),
                    "message \"" + error.getMessage() + "\" does not mention \"" + fragment + "\"");
        }
    }

    /** Writes a .npy file by hand: magic, version, header length, the dict padded to 64 bytes, data. */
    private Path write(String name, int major, String dict, byte[] data) throws IOException {
        int lengthBytes = major == 1 ? 2 : 4;
        byte[] dictBytes = dict.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int unpadded = 8 + lengthBytes + dictBytes.length + 1;
        int headerLength = dictBytes.length + 1 + (64 - unpadded % 64) % 64;

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        for (int i = 0; i < lengthBytes; i++) {
            bytes.write((headerLength >>> (8 * i)) & 0xFF);
        }
        bytes.writeBytes(dictBytes);
        byte[] padding = new byte[headerLength - dictBytes.length - 1];
        Arrays.fill(padding, (byte) ' ');
        bytes.writeBytes(padding);
        bytes.write('\n');
        bytes.writeBytes(data);

        Path file = folder.resolve(name);
        Files.write(file, bytes.toByteArray());
        return file;
    }

    private static byte[] floats(float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        return buffer.array();
    }

    private static byte[] longs(long... values) {
        ByteBuffer buffer = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long value : values) {
            buffer.putLong(value);
        }
        return buffer.array();
    }
}
