package io.jrope;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/**
 * Element type of a tensor. Conversions from float32 round to nearest, ties to even, and keep
 * NaN a NaN; conversions to float32 are exact.
 */
public enum DType {
    FLOAT32("float32", 4, 0),
    FLOAT16("float16", 2, 1),
    BFLOAT16("bfloat16", 2, 2);

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final String label;
    private final int byteSize;
    private final int nativeCode;

    DType(String label, int byteSize, int nativeCode) {
        this.label = label;
        this.byteSize = byteSize;
        this.nativeCode = nativeCode;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Name as MLX and NumPy spell it: {@code float32}, {@code float16}, {@code bfloat16}. */
    public String label() {
        return label;
    }

    /** Code of this dtype in the native C ABI ({@code JROPE_FLOAT32} and so on). */
    public int nativeCode() {
        return nativeCode;
    }

    @Override
    public String toString() {
        return label;
    }

    /**
     * Parses a dtype name: {@code float32}, {@code float16}, {@code bfloat16}, also {@code f32},
     * {@code f16}, {@code bf16}, {@code half}; case-insensitive.
     *
     * @throws IllegalArgumentException naming the valid names
     */
    public static DType fromName(String name) {
        String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        return switch (key) {
            case "float32", "f32", "float" -> FLOAT32;
            case "float16", "f16", "half" -> FLOAT16;
            case "bfloat16", "bf16" -> BFLOAT16;
            default -> throw new IllegalArgumentException(
                    "dtype must be one of float32, float16, bfloat16, got '" + name + "'");
        };
    }

    /** Rounds a float32 value to this dtype and widens it back: the value a store would keep. */
    public float round(float value) {
        return switch (this) {
            case FLOAT32 -> value;
            case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16(value));
            case BFLOAT16 -> bfloat16ToFloat(floatToBfloat16(value));
        };
    }

    /** Reads the element at {@code byteOffset} and widens it to float32. */
    public float load(MemorySegment segment, long byteOffset) {
        return switch (this) {
            case FLOAT32 -> segment.get(FLOAT, byteOffset);
            case FLOAT16 -> Float.float16ToFloat(segment.get(SHORT, byteOffset));
            case BFLOAT16 -> bfloat16ToFloat(segment.get(SHORT, byteOffset));
        };
    }

    /** Rounds {@code value} to this dtype and writes it at {@code byteOffset}. */
    public void store(MemorySegment segment, long byteOffset, float value) {
        switch (this) {
            case FLOAT32 -> segment.set(FLOAT, byteOffset, value);
            case FLOAT16 -> segment.set(SHORT, byteOffset, Float.floatToFloat16(value));
            case BFLOAT16 -> segment.set(SHORT, byteOffset, floatToBfloat16(value));
        }
    }

    /** Widens bfloat16 bits to float32; exact, since bfloat16 is the upper half of float32. */
    public static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Rounds float32 to bfloat16 bits, to nearest with ties to even; NaN becomes a quiet NaN. */
    public static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
