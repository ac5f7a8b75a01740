package io.jrope.npy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The preamble of a {@code .npy} file: format version, element type, memory order and shape.
 *
 * <p>Layout (NumPy's {@code numpy.lib.format}): the magic string {@code \x93NUMPY}, one byte each for
 * the major and minor version, the header length (2 bytes little-endian in version 1.0, 4 bytes in
 * 2.0 and 3.0), then a Python dict literal with the keys {@code descr}, {@code fortran_order} and
 * {@code shape}, padded with spaces and ended by a newline. Version 3.0 encodes the dict in UTF-8,
 * the others in Latin-1. The data follows at {@link #dataOffset()}.
 *
 * @param majorVersion 1, 2 or 3
 * @param minorVersion 0
 * @param descr        NumPy's type string as written in the file, for example {@code <f4}
 * @param fortranOrder true if the data is in column-major order
 * @param shape        extent of each axis; empty for a 0-d array
 * @param dataOffset   bytes from the start of the file to the first element
 */
public record NpyHeader(int majorVersion, int minorVersion, String descr, boolean fortranOrder, long[] shape,
                        long dataOffset) {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Preamble sizes are padded to this many bytes ({@code ARRAY_ALIGN} in NumPy 2.4), so the data starts aligned. */
    private static final int ALIGNMENT = 64;
    /**
     * Guards against allocating for a corrupt length field. NumPy 2.4 itself rejects headers over 10000
     * bytes unless np.load gets a larger {@code max_header_size} ({@code _MAX_HEADER_SIZE} in
     * {@code numpy.lib.format}).
     */
    private static final int MAX_HEADER_BYTES = 1 << 20;

    public NpyHeader {
        Objects.requireNonNull(descr, "descr");
        shape = shape.clone();
    }

    /** Returns a copy of the shape. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Returns the number of axes, 0 for a scalar. */
    public int ndim() {
        return shape.length;
    }

    /**
     * Returns the number of elements.
     *
     * @throws ArithmeticException if it exceeds {@code Long.MAX_VALUE}
     */
    public long elementCount() {
        long count = 1;
        for (long extent : shape) {
            count = Math.multiplyExact(count, extent);
        }
        return count;
    }

    /** Returns the shape in NumPy's tuple notation, for messages: {@code (2, 3)}, {@code (5,)}, {@code ()}. */
    public String shapeText() {
        return tupleText(shape);
    }

    /**
     * Reads the preamble from {@code in}, leaving the stream at the first data byte.
     *
     * @param source file name or other label used in error messages
     * @throws IOException if the stream ends early, the magic string is wrong, the version is not
     *                     1.0, 2.0 or 3.0, or the dict is not valid
     */
    public static NpyHeader read(InputStream in, String source) throws IOException {
        byte[] prefix = in.readNBytes(8);
        int compared = Math.min(prefix.length, MAGIC.length);
        if (prefix.length == 0 || !Arrays.equals(prefix, 0, compared, MAGIC, 0, compared)) {
            throw new IOException(source + ": not a .npy file: it starts with " + hex(prefix)
                    + ", expected the magic string 93 4E 55 4D 50 59 (\\x93NUMPY)");
        }
        if (prefix.length < 8) {
            throw new IOException(source + ": truncated .npy preamble: the file has only " + prefix.length
                    + " bytes, fewer than the magic string and version");
        }
        int major = prefix[6] & 0xFF;
        int minor = prefix[7] & 0xFF;
        if (major < 1 || major > 3 || minor != 0) {
            throw new IOException(source + ": .npy format version " + major + "." + minor
                    + " is not supported; supported versions are 1.0, 2.0 and 3.0");
        }

        int lengthBytes = major == 1 ? 2 : 4;
        byte[] lengthField = in.readNBytes(lengthBytes);
        if (lengthField.length < lengthBytes) {
            throw new IOException(source + ": truncated .npy preamble: the file ends inside the header length field");
        }
        long headerLength = 0;
        for (int i = lengthBytes - 1; i >= 0; i--) {
            headerLength = (headerLength << 8) | (lengthField[i] & 0xFF);
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new IOException(source + ": .npy header length " + headerLength + " bytes exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes; the file is probably corrupt");
        }
        byte[] headerBytes = in.readNBytes((int) headerLength);
        if (headerBytes.length < headerLength) {
            throw new IOException(source + ": truncated .npy header: expected " + headerLength + " bytes, found "
                    + headerBytes.length);
        }
        Charset charset = major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
        String dict = new String(headerBytes, charset);
        long dataOffset = MAGIC.length + 2 + lengthBytes + headerLength;
        return parseDict(dict, major, minor, dataOffset, source);
    }

    /**
     * Encodes a version 1.0 preamble (version 2.0 if the dict does not fit in 65535 bytes) for a
     * C-order array, padded so that the data starts at a multiple of 64 bytes.
     */
    static byte[] encode(String descr, long[] shape) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + tupleText(shape) + ", }";
        int major = 1;
        int fixed = MAGIC.length + 2 + 2;
        int padded = paddedLength(fixed, dict.length() + 1);
        if (padded > 0xFFFF) {
            major = 2;
            fixed = MAGIC.length + 2 + 4;
            padded = paddedLength(fixed, dict.length() + 1);
        }

        ByteArrayOutputStream bytes = new ByteArrayOutputStream(fixed + padded);
        bytes.writeBytes(MAGIC);
        bytes.write(major);
        bytes.write(0);
        int lengthBytes = major == 1 ? 2 : 4;
        for (int i = 0; i < lengthBytes; i++) {
            bytes.write((padded >>> (8 * i)) & 0xFF);
        }
        bytes.writeBytes(dict.getBytes(StandardCharsets.ISO_8859_1));
        for (int i = dict.length() + 1; i < padded; i++) {
            bytes.write(' ');
        }
        bytes.write('\n');
        return bytes.toByteArray();
    }

    private static int paddedLength(int fixed, int minimum) {
        int total = fixed + minimum;
        int aligned = (total + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        return aligned - fixed;
    }

    private static NpyHeader parseDict(String dict, int major, int minor, long dataOffset, String source)
            throws IOException {
        Object parsed;
        try {
            parsed = PythonLiteral.parse(dict);
        } catch (IllegalArgumentException e) {
            throw new IOException(source + ": invalid .npy header dict " + quote(dict) + ": " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> map)) {
            throw new IOException(source + ": invalid .npy header: expected a dict, found " + quote(dict));
        }
        Set<String> expected = Set.of("descr", "fortran_order", "shape");
        if (!map.keySet().equals(expected)) {
            throw new IOException(source + ": invalid .npy header: the dict must have exactly the keys "
                    + "descr, fortran_order and shape, found " + map.keySet());
        }

        Object descr = map.get("descr");
        if (!(descr instanceof String descrText)) {
            throw new IllegalArgumentException(source + ": structured dtype " + descr + " is not supported; supported: "
                    + NpyType.supportedList());
        }
        if (!(map.get("fortran_order") instanceof Boolean fortranOrder)) {
            throw new IOException(source + ": invalid .npy header: fortran_order must be True or False, found "
                    + map.get("fortran_order"));
        }
        return new NpyHeader(major, minor, descrText, fortranOrder, parseShape(map.get("shape"), source), dataOffset);
    }

    private static long[] parseShape(Object value, String source) throws IOException {
        if (!(value instanceof List<?> items)) {
            throw new IOException(source + ": invalid .npy header: shape must be a tuple of integers, found " + value);
        }
        long[] shape = new long[items.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(items.get(i) instanceof Long extent) || extent < 0) {
                throw new IOException(source + ": invalid .npy header: shape must contain integers >= 0, found "
                        + items.get(i) + " at axis " + i);
            }
            shape[i] = extent;
        }
        return shape;
    }

    private static String tupleText(long[] shape) {
        if (shape.length == 1) {
            return "(" + shape[0] + ",)";
        }
        StringBuilder text = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            text.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return text.append(')').toString();
    }

    private static String hex(byte[] bytes) {
        if (bytes.length == 0) {
            return "nothing (the file is empty)";
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.length, MAGIC.length); i++) {
            text.append(i == 0 ? "" : " ").append(String.format("%02X", bytes[i] & 0xFF));
        }
        return text.toString();
    }

    private static String quote(String dict) {
        String trimmed = dict.strip();
        return "\"" + (trimmed.length() > 200 ? trimmed.substring(0, 200) + "..." : trimmed) + "\"";
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof NpyHeader header
                && majorVersion == header.majorVersion
                && minorVersion == header.minorVersion
                && descr.equals(header.descr)
                && fortranOrder == header.fortranOrder
                && Arrays.equals(shape, header.shape)
                && dataOffset == header.dataOffset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(majorVersion, minorVersion, descr, fortranOrder, Arrays.hashCode(shape), dataOffset);
    }

    @Override
    public String toString() {
        return "NpyHeader(version " + majorVersion + "." + minorVersion + ", descr " + descr + ", fortran_order "
                + fortranOrder + ", shape " + shapeText() + ")";
    }
}
