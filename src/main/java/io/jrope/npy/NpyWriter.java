package io.jrope.npy;

import io.jrope.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Writes tensors and integer arrays as little-endian, C-order {@code .npy} version 1.0 files. */
final class NpyWriter {
    private static final int CHUNK_BYTES = 1 << 20;

    private NpyWriter() {
    }

    /** Writes the logical contents of {@code tensor} in C order, whatever its strides. */
    static void writeTensor(OutputStream out, Tensor tensor) throws IOException {
        tensor.ensureOpen();
        NpyType type = NpyType.of(tensor.dtype());
        long[] shape = tensor.shape();
        out.write(NpyHeader.encode(type.descr(), shape));
        long count = tensor.elementCount();
        if (count == 0) {
            return;
        }

        ChunkedOutput chunks = new ChunkedOutput(out, type.byteSize());
        MemorySegment memory = tensor.segment();
        if (tensor.isContiguous()) {
            chunks.appendRun(memory, tensor.offset(), count, 1);
            chunks.flush();
            return;
        }

        // Walks every index of the leading axes; each step emits one row of the last axis.
        int lastAxis = shape.length - 1;
        long[] strides = tensor.strides();
        long rowLength = shape[lastAxis];
        long rows = count / rowLength;
        long[] index = new long[lastAxis];
        for (long row = 0; row < rows; row++) {
            long start = tensor.offset();
            for (int axis = 0; axis < lastAxis; axis++) {
                start += index[axis] * strides[axis];
            }
            chunks.appendRun(memory, start, rowLength, strides[lastAxis]);
            increment(index, shape);
        }
        chunks.flush();
    }

    /** Writes {@code array} as {@code <i4} or {@code <i8}; int32 rejects values outside its range. */
    static void writeIntegers(OutputStream out, IntegerArray array, NpyType type) throws IOException {
        if (!type.isInteger()) {
            throw new IllegalArgumentException("type must be int32 or int64, got " + type.descr());
        }
        long[] values = array.values();
        out.write(NpyHeader.encode(type.descr(), array.shape()));

        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            if (chunk.remaining() < type.byteSize()) {
                out.write(chunk.array(), 0, chunk.position());
                chunk.clear();
            }
            if (type == NpyType.INT64) {
                chunk.putLong(values[i]);
            } else {
                if (values[i] != (int) values[i]) {
                    throw new IllegalArgumentException("values[" + i + "] = " + values[i]
                            + " does not fit in int32; write the array as int64");
                }
                chunk.putInt((int) values[i]);
            }
        }
        out.write(chunk.array(), 0, chunk.position());
    }

    private static void increment(long[] index, long[] shape) {
        for (int axis = index.length - 1; axis >= 0; axis--) {
            if (++index[axis] < shape[axis]) {
                return;
            }
            index[axis] = 0;
        }
    }

    /** A buffer that converts elements from native to little-endian order on their way to the stream. */
    private static final class ChunkedOutput {
        private final OutputStream out;
        private final int size;
        private final byte[] chunk;
        private final MemorySegment chunkSegment;
        private final ValueLayout memoryLayout;
        private final ValueLayout fileLayout;
        private int filled;

        ChunkedOutput(OutputStream out, int size) {
            this.out = out;
            this.size = size;
            this.chunk = new byte[CHUNK_BYTES];
            this.chunkSegment = MemorySegment.ofArray(chunk);
            this.memoryLayout = size == 2 ? ValueLayout.JAVA_SHORT_UNALIGNED : ValueLayout.JAVA_INT_UNALIGNED;
            this.fileLayout = memoryLayout.withOrder(ByteOrder.LITTLE_ENDIAN);
        }

        /** Appends {@code count} elements starting at element {@code start}, {@code step} elements apart. */
        void appendRun(MemorySegment memory, long start, long count, long step) throws IOException {
            long done = 0;
            while (done < count) {
                int room = (chunk.length - filled) / size;
                int take = (int) Math.min(count - done, room);
                if (step == 1) {
                    MemorySegment.copy(memory, memoryLayout, (start + done) * size, chunkSegment, fileLayout,
                            (long) filled, take);
                } else {
                    for (int i = 0; i < take; i++) {
                        MemorySegment.copy(memory, memoryLayout, (start + (done + i) * step) * size, chunkSegment,
                                fileLayout, (long) filled + (long) i * size, 1);
                    }
                }
                filled += take * size;
                done += take;
                if (filled + size > chunk.length) {
                    flush();
                }
            }
        }

        void flush() throws IOException {
            out.write(chunk, 0, filled);
            filled = 0;
        }
    }
}
