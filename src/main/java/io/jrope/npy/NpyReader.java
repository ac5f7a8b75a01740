package io.jrope.npy;

import io.jrope.DType;
import io.jrope.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Reads the data section of {@code .npy} files into tensors and integer arrays. */
final class NpyReader {
    /** Bytes converted per step: large enough to amortise the copy calls, small enough to stay in cache. */
    private static final int CHUNK_BYTES = 1 << 20;

    private NpyReader() {
    }

    /**
     * @param fileBytes size of the whole file if known, else -1; lets a truncated file be reported
     *                  before memory for its claimed shape is allocated
     */
    static Tensor readTensor(InputStream in, String source, DType requested, Arena arena, long fileBytes)
            throws IOException {
        NpyHeader header = NpyHeader.read(in, source);
        NpyType type = checkedType(header, source);
        DType dtype = tensorDType(type, requested, source);
        if (header.ndim() == 0) {
            throw new IllegalArgumentException(source + ": a 0-d array (shape ()) cannot become a tensor, which needs"
                    + " at least one axis; save it with shape (1,)");
        }
        long count = elementCount(header, type, source);
        checkFileSize(header, type, count, fileBytes, source);

        long[] shape = header.shape();
        Tensor tensor = arena == null ? Tensor.allocate(dtype, shape) : Tensor.allocate(arena, dtype, shape);
        try {
            copyData(in, tensor.segment(), type, count, header, source);
            checkEnd(in, header, source);
        } catch (IOException | RuntimeException e) {
            if (arena == null) {
                tensor.close();
            }
            throw e;
        }
        return tensor;
    }

    /** @param fileBytes size of the whole file if known, else -1 */
    static IntegerArray readIntegers(InputStream in, String source, long fileBytes) throws IOException {
        NpyHeader header = NpyHeader.read(in, source);
        NpyType type = checkedType(header, source);
        if (!type.isInteger()) {
            throw new IllegalArgumentException(source + ": dtype " + type.descr() + " is not an integer type; "
                    + "positions and offsets must be int32 (<i4) or int64 (<i8)");
        }
        long count = elementCount(header, type, source);
        checkFileSize(header, type, count, fileBytes, source);
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(source + ": " + count + " integers do not fit in a Java long[]");
        }

        long[] values = new long[(int) count];
        if (type == NpyType.INT64) {
            copyData(in, MemorySegment.ofArray(values), type, count, header, source);
        } else {
            int[] narrow = new int[(int) count];
            copyData(in, MemorySegment.ofArray(narrow), type, count, header, source);
            for (int i = 0; i < narrow.length; i++) {
                values[i] = narrow[i];
            }
        }
        checkEnd(in, header, source);
        return new IntegerArray(header.shape(), values);
    }

    /** Rejects byte orders, Fortran order and element types this package does not read. */
    private static NpyType checkedType(NpyHeader header, String source) {
        String descr = header.descr();
        if (header.fortranOrder()) {
            throw new IllegalArgumentException(source + ": Fortran-order (column-major) data is not supported; "
                    + "only C order is. Save the array with numpy.ascontiguousarray(a)");
        }
        if (descr.startsWith(">")) {
            throw new IllegalArgumentException(source + ": big-endian dtype " + descr + " is not supported; "
                    + "convert it with a.astype('<" + descr.substring(1) + "'). Supported: " + NpyType.supportedList());
        }
        NpyType type = NpyType.fromDescr(descr);
        if (type == null) {
            throw new IllegalArgumentException(source + ": dtype " + descr + " is not supported; supported: "
                    + NpyType.supportedList() + " (bfloat16 as raw bits in <u2)");
        }
        return type;
    }

    private static DType tensorDType(NpyType type, DType requested, String source) {
        if (requested == null) {
            return switch (type) {
                case FLOAT32 -> DType.FLOAT32;
                case FLOAT16 -> DType.FLOAT16;
                case UINT16 -> throw new IllegalArgumentException(source + ": dtype <u2 is uint16; if the values"
                        + " are bfloat16 bit patterns, read the file as bfloat16"
                        + " (DType.BFLOAT16, or --dtype bfloat16)");
                default -> throw new IllegalArgumentException(source + ": dtype " + type.descr() + " is an integer "
                        + "type; tensors must be float32 (<f4), float16 (<f2) or bfloat16 (raw bits in <u2)");
            };
        }
        NpyType expected = NpyType.of(requested);
        if (type != expected) {
            throw new IllegalArgumentException(source + ": dtype " + type.descr() + " cannot contain " + requested
                    + "; a " + requested + " tensor is stored as " + expected.descr());
        }
        return requested;
    }

    private static long elementCount(NpyHeader header, NpyType type, String source) {
        try {
            long count = header.elementCount();
            Math.multiplyExact(count, type.byteSize());
            return count;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(source + ": shape " + header.shapeText() + " of " + type.descr()
                    + " needs more than 2^63 bytes", e);
        }
    }

    private static void checkFileSize(NpyHeader header, NpyType type, long count, long fileBytes, String source)
            throws IOException {
        long dataBytes = count * type.byteSize();
        if (fileBytes >= 0 && fileBytes - header.dataOffset() < dataBytes) {
            throw new IOException(source + ": truncated .npy data: shape " + header.shapeText() + " of "
                    + header.descr() + " needs " + dataBytes + " bytes after the header, found "
                    + Math.max(0, fileBytes - header.dataOffset()));
        }
    }

    /**
     * Copies {@code count} little-endian elements from {@code in} to {@code target} in native order.
     * Integer layouts move the bits unchanged, so NaN payloads survive.
     */
    private static void copyData(InputStream in, MemorySegment target, NpyType type, long count, NpyHeader header,
                                 String source) throws IOException {
        int size = type.byteSize();
        ValueLayout fileLayout = bitsLayout(size).withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout memoryLayout = bitsLayout(size);
        long expectedBytes = count * size;
        byte[] chunk = new byte[(int) Math.min(CHUNK_BYTES, Math.max(expectedBytes, size))];
        MemorySegment chunkSegment = MemorySegment.ofArray(chunk);

        long done = 0;
        while (done < count) {
            int elements = (int) Math.min(count - done, chunk.length / size);
            int bytes = elements * size;
            int read = in.readNBytes(chunk, 0, bytes);
            if (read < bytes) {
                long found = done * size + read;
                throw new IOException(source + ": truncated .npy data: shape " + header.shapeText() + " of "
                        + header.descr() + " needs " + expectedBytes + " bytes after the header, found " + found);
            }
            MemorySegment.copy(chunkSegment, fileLayout, 0, target, memoryLayout, done * size, elements);
            done += elements;
        }
    }

    private static void checkEnd(InputStream in, NpyHeader header, String source) throws IOException {
        if (in.read() != -1) {
            throw new IOException(source + ": the file has bytes after the data that shape " + header.shapeText()
                    + " of " + header.descr() + " describes; it is corrupt or not a single .npy array");
        }
    }

    private static ValueLayout bitsLayout(int size) {
        return switch (size) {
            case 2 -> ValueLayout.JAVA_SHORT_UNALIGNED;
            case 4 -> ValueLayout.JAVA_INT_UNALIGNED;
            case 8 -> ValueLayout.JAVA_LONG_UNALIGNED;
            default -> throw new IllegalStateException("no layout for " + size + "-byte elements");
        };
    }
}
