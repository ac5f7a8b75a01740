package io.jrope.npy;

import io.jrope.DType;
import io.jrope.Tensor;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Reads and writes NumPy {@code .npy} files: tensors and integer arrays.
 *
 * <p>Supported element types, all little-endian: {@code <f4} (float32), {@code <f2} (float16),
 * {@code <u2} holding bfloat16 bit patterns (NumPy has no bfloat16, so the caller says when a
 * {@code <u2} file is bfloat16), and {@code <i4}/{@code <i8} for offsets and positions. Files are
 * read in format versions 1.0, 2.0 and 3.0 and written in version 1.0 (2.0 for headers over 64 KiB),
 * always in C order.
 *
 * <p>Errors: {@link IOException} when a file cannot be read or is not a well-formed {@code .npy}
 * file (bad magic string, unknown version, invalid header, truncated data, bytes after the data);
 * {@link IllegalArgumentException} when it is well formed but contains something this package does not
 * support (big-endian or other dtypes, Fortran order, a 0-d array for a tensor, a dtype other than the
 * one requested). Every message names the file, the value found and what is supported.
 *
 * <p>Thread safety: the methods keep no state; concurrent calls on different files are safe.
 */
public final class Npy {
    private Npy() {
    }

    // ---- tensors -----------------------------------------------------------------------------

    /**
     * Reads a float32 ({@code <f4}) or float16 ({@code <f2}) file into a new row-contiguous tensor
     * that owns its memory (close it). A {@code <u2} file is rejected: use
     * {@link #readTensor(Path, DType)} with {@link DType#BFLOAT16} if it contains bfloat16 bits.
     */
    public static Tensor readTensor(Path file) throws IOException {
        return readTensor(file, null);
    }

    /**
     * Reads a file that must hold {@code dtype} ({@code <f4} for float32, {@code <f2} for float16,
     * {@code <u2} bit patterns for bfloat16) into a new owned row-contiguous tensor.
     *
     * @param dtype the expected dtype, or null to take float32 or float16 from the file
     */
    public static Tensor readTensor(Path file, DType dtype) throws IOException {
        Objects.requireNonNull(file, "file");
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            return NpyReader.readTensor(in, file.toString(), dtype, null, Files.size(file));
        }
    }

    /**
     * Reads one array from {@code in} into a new row-contiguous tensor. The stream is left after the
     * data and is not closed; it must end there.
     *
     * @param source label for error messages, usually the file or resource name
     * @param dtype  the expected dtype, or null to take float32 or float16 from the file
     * @param arena  arena that allocates and owns the memory, or null for a tensor that owns it
     */
    public static Tensor readTensor(InputStream in, String source, DType dtype, Arena arena) throws IOException {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(source, "source");
        return NpyReader.readTensor(in, source, dtype, arena, -1);
    }

    /**
     * Writes the logical contents of {@code tensor} (any strides) in C order: float32 as {@code <f4},
     * float16 as {@code <f2}, bfloat16 bits as {@code <u2}. The file appears complete or not at all:
     * the data goes to a temporary file in the same folder, which then replaces {@code file}.
     */
    public static void writeTensor(Path file, Tensor tensor) throws IOException {
        Objects.requireNonNull(tensor, "tensor");
        writeAtomically(file, out -> NpyWriter.writeTensor(out, tensor));
    }

    /** Writes {@code tensor} to {@code out} as {@link #writeTensor(Path, Tensor)} does; leaves it open. */
    public static void writeTensor(OutputStream out, Tensor tensor) throws IOException {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(tensor, "tensor");
        NpyWriter.writeTensor(out, tensor);
    }

    // ---- integers ----------------------------------------------------------------------------

    /** Reads an int32 ({@code <i4}) or int64 ({@code <i8}) file of any shape, including 0-d. */
    public static IntegerArray readIntegers(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            return NpyReader.readIntegers(in, file.toString(), Files.size(file));
        }
    }

    /** Reads one int32 or int64 array from {@code in}, which must end after the data; leaves it open. */
    public static IntegerArray readIntegers(InputStream in, String source) throws IOException {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(source, "source");
        return NpyReader.readIntegers(in, source, -1);
    }

    /** Writes {@code array} as int64 ({@code <i8}). */
    public static void writeInt64(Path file, IntegerArray array) throws IOException {
        Objects.requireNonNull(array, "array");
        writeAtomically(file, out -> NpyWriter.writeIntegers(out, array, NpyType.INT64));
    }

    /**
     * Writes {@code array} as int32 ({@code <i4}).
     *
     * @throws IllegalArgumentException if a value does not fit in 32 bits; nothing is written then
     */
    public static void writeInt32(Path file, IntegerArray array) throws IOException {
        Objects.requireNonNull(array, "array");
        writeAtomically(file, out -> NpyWriter.writeIntegers(out, array, NpyType.INT32));
    }

    // ---- headers -----------------------------------------------------------------------------

    /** Reads only the header of {@code file}: its version, dtype string, memory order and shape. */
    public static NpyHeader readHeader(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            return NpyHeader.read(in, file.toString());
        }
    }

    private interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    private static void writeAtomically(Path file, Body body) throws IOException {
        Objects.requireNonNull(file, "file");
        Path absolute = file.toAbsolutePath();
        Path folder = absolute.getParent();
        // Files.createTempFile would create the file with mode 0600; newOutputStream applies the umask
        // like any other new file, so the result gets the permissions users expect.
        String suffix = "." + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime()) + ".tmp";
        Path temporary = (folder == null ? Path.of("") : folder).resolve("." + absolute.getFileName() + suffix);
        if (folder != null && !Files.isDirectory(folder)) {
            throw new NoSuchFileException(file.toString(), null, "its folder " + folder + " does not exist");
        }
        try {
            OutputStream stream = Files.newOutputStream(temporary, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            try (OutputStream out = new BufferedOutputStream(stream, 1 << 16)) {
                body.writeTo(out);
            }
            Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
