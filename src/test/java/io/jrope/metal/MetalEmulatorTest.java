package io.jrope.metal;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import io.jrope.backend.metal.MetalBackend;
import io.jrope.internal.RopeRequest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Tests of the Metal backend's planning, memory handling and fused query/key call, run on the
 * {@code metal-emu} backend (the kernels of shaders/rope.metal compiled as C++). Skipped when the
 * emulator library is absent, unless {@code -Djrope.test.require} lists {@code metal-emu}.
 */
class MetalEmulatorTest {
    private static final long[] SHAPE = {2, 4, 5, 64};
    /** Page size of Apple silicon, the alignment of shared-arena memory. */
    private static final long PAGE_BYTES = 16384;

    @Test
    void metalOffMacSaysWhy() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        Assumptions.assumeFalse(os.contains("mac"), "this check is for machines without Metal");
        Backend metal = Backend.named("metal");
        assertTrue(metal.unavailableReason().orElse("").startsWith("Metal needs macOS on Apple silicon"),
                metal.unavailableReason().toString());
    }

    @Test
    void planUsesVectorKernelForContiguousRows() {
        MetalBackend emulator = emulator();
        try (Tensor x = randomTensor(DType.FLOAT32, SHAPE); Tensor out = Tensor.allocate(DType.FLOAT32, SHAPE)) {
            String plan = emulator.describePlan(request(x, out, Positions.offset(3), 64));
            assertTrue(plan.startsWith("kernel=rope_f32_split_v2_i32 "), plan);
        }
    }

    @Test
    void planUsesScalarKernelForStridedFeatures() {
        MetalBackend emulator = emulator();
        try (Tensor wide = randomTensor(DType.BFLOAT16, 2, 4, 5, 128); Tensor out = Tensor.allocate(DType.BFLOAT16, SHAPE)) {
            Tensor everyOther = Tensor.wrap(wide.segment(), DType.BFLOAT16, SHAPE, new long[] {2560, 640, 128, 2}, 0);
            String plan = emulator.describePlan(request(everyOther, out, Positions.offset(0), 64));
            assertTrue(plan.startsWith("kernel=rope_bf16_split_v1_i32 "), plan);
        }
    }

    @Test
    void fusedQueryKeyMatchesSeparateCalls() {
        MetalBackend emulator = emulator();
        long[] queryShape = {2, 8, 5, 64};
        long[] keyShape = {2, 2, 5, 64};
        try (Tensor query = randomTensor(DType.FLOAT16, queryShape); Tensor key = randomTensor(DType.FLOAT16, keyShape);
             Tensor queryFused = Tensor.allocate(DType.FLOAT16, queryShape);
             Tensor keyFused = Tensor.allocate(DType.FLOAT16, keyShape);
             Tensor querySeparate = Tensor.allocate(DType.FLOAT16, queryShape);
             Tensor keySeparate = Tensor.allocate(DType.FLOAT16, keyShape)) {
            Positions positions = Positions.offsets(7, 1000);
            emulator.rotateQueryKey(request(query, queryFused, positions, 48), request(key, keyFused, positions, 48));
            emulator.rotate(request(query, querySeparate, positions, 48));
            emulator.rotate(request(key, keySeparate, positions, 48));
            assertArrayEquals(bytes(querySeparate), bytes(queryFused), "query");
            assertArrayEquals(bytes(keySeparate), bytes(keyFused), "key");
        }
    }

    @Test
    void fusedQueryKeyRejectsDifferentPositions() {
        MetalBackend emulator = emulator();
        try (Tensor query = randomTensor(DType.FLOAT32, SHAPE); Tensor key = randomTensor(DType.FLOAT32, SHAPE)) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> emulator.rotateQueryKey(
                    request(query, query, Positions.offset(1), 64), request(key, key, Positions.offset(2), 64)));
            assertEquals("query and key must have the same positions to be rotated in one dispatch", error.getMessage());
        }
    }

    @Test
    void sharedArenaTensorMatchesOrdinaryTensor() {
        MetalBackend emulator = emulator();
        Rope rope = Rope.of(64).withBackend(Backend.named("metal-emu"));
        try (Arena shared = emulator.newArena(); Tensor ordinary = randomTensor(DType.FLOAT32, SHAPE)) {
            Tensor inShared = Tensor.allocate(shared, DType.FLOAT32, SHAPE);
            MemorySegment.copy(ordinary.segment(), 0, inShared.segment(), 0, ordinary.segment().byteSize());
            assertEquals(0, inShared.segment().address() % PAGE_BYTES, "shared memory starts on a page");

            rope.applyInPlace(inShared, Positions.offset(11));
            rope.applyInPlace(ordinary, Positions.offset(11));
            assertArrayEquals(bytes(ordinary), bytes(inShared));
        }
    }

    @Test
    void heapTensorMatchesNativeTensor() {
        emulator();
        Rope rope = Rope.of(32).withTraditional(true).withBackend(Backend.named("metal-emu"));
        float[] values = randomValues(2 * 3 * 7 * 40, 5);
        try (Tensor nativeX = Tensor.copyOf(values, DType.FLOAT32, 2, 3, 7, 40)) {
            Tensor heapX = Tensor.wrap(values.clone(), 2, 3, 7, 40);
            Tensor heapOut = Tensor.wrap(new float[values.length], 2, 3, 7, 40);
            try (Tensor nativeOut = rope.apply(nativeX, Positions.offset(-4))) {
                rope.apply(heapX, Positions.offset(-4), heapOut);
                assertArrayEquals(nativeOut.toFloatArray(), heapOut.toFloatArray());
            }
        }
    }

    @Test
    void bothSchedulesGiveSameBits() {
        MetalBackend emulator = emulator();
        byte[] forward = rotateWithEmulator(emulator, 32, 1024, 65536, 0);
        byte[] reverse = rotateWithEmulator(emulator, 32, 1024, 65536, 1);
        byte[] smallGroups = rotateWithEmulator(emulator, 4, 12, 40, 1);
        assertArrayEquals(forward, reverse, "reverse schedule");
        assertArrayEquals(forward, smallGroups, "small threadgroups and head chunks");
    }

    private static byte[] rotateWithEmulator(MetalBackend emulator, int width, int maxThreads, long target, int schedule) {
        emulator.configureEmulator(width, maxThreads, target, schedule);
        try (Tensor x = randomTensor(DType.BFLOAT16, 3, 6, 9, 24)) {
            Rope.of(16).withBackend(Backend.named("metal-emu")).applyInPlace(x, Positions.ofTokens(
                    new long[] {0, 5, 9, -3, 100000, 2147483647L, 12, 13, 14}));
            return bytes(x);
        } finally {
            emulator.configureEmulator(32, 1024, 65536, 0);
        }
    }

    private static MetalBackend emulator() {
        MetalBackend emulator = MetalBackend.emulator();
        String reason = emulator.unavailableReason();
        if (reason != null) {
            if (Arrays.asList(System.getProperty("jrope.test.require", "").split(",")).contains("metal-emu")) {
                fail("backend 'metal-emu' is required but not available: " + reason);
            }
            Assumptions.abort("backend 'metal-emu' is not available: " + reason);
        }
        return emulator;
    }

    private static RopeRequest request(Tensor x, Tensor out, Positions positions, int dims) {
        Rope rope = Rope.of(dims);
        return new RopeRequest(x, out, x == out, dims, false, false, rope.inverseFrequencies(), 1.0, 1.0,
                positions.mode(), positions.values(), positions.rowStride(), 0);
    }

    private static float[] randomValues(int count, long seed) {
        Random random = new Random(seed);
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        return values;
    }

    private static Tensor randomTensor(DType dtype, long... shape) {
        long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        return Tensor.copyOf(randomValues(Math.toIntExact(count), count), dtype, shape);
    }

    private static byte[] bytes(Tensor tensor) {
        return tensor.segment().toArray(ValueLayout.JAVA_BYTE);
    }
}
