package io.jrope.npy;

import io.jrope.DType;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The {@code .npy} element types this package reads and writes, all little-endian. */
enum NpyType {
    FLOAT32("<f4", 4),
    FLOAT16("<f2", 2),
    /** uint16, which carries bfloat16 bit patterns when the caller requests bfloat16, because NumPy has no bfloat16. */
    UINT16("<u2", 2),
    INT32("<i4", 4),
    INT64("<i8", 8);

    private final String descr;
    private final int byteSize;

    NpyType(String descr, int byteSize) {
        this.descr = descr;
        this.byteSize = byteSize;
    }

    /** NumPy's type string, for example {@code <f4}. */
    String descr() {
        return descr;
    }

    int byteSize() {
        return byteSize;
    }

    boolean isInteger() {
        return this == INT32 || this == INT64;
    }

    /** Returns the type whose descr is {@code descr}, or null if this package does not support it. */
    static NpyType fromDescr(String descr) {
        for (NpyType type : values()) {
            if (type.descr.equals(descr)) {
                return type;
            }
        }
        return null;
    }

    /** Returns the file type that stores tensors of {@code dtype}: bfloat16 goes to {@code <u2} as raw bits. */
    static NpyType of(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> FLOAT32;
            case FLOAT16 -> FLOAT16;
            case BFLOAT16 -> UINT16;
        };
    }

    /** Returns all supported descrs, comma-separated, for error messages. */
    static String supportedList() {
        return Arrays.stream(values()).map(NpyType::descr).collect(Collectors.joining(", "));
    }
}
