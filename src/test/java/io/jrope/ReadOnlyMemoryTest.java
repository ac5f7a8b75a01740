package io.jrope;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Read-only memory is rejected in Java on every backend: a native kernel would fault on a read-only
 * file mapping (killing the JVM) or write through a read-only view of writable memory.
 */
class ReadOnlyMemoryTest {
    private static final long[] SHAPE = {2, 4, 64};

    @TempDir
    Path folder;

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jrope.BackendsUnderTest#names")
    void readOnlyMappingRejected(String backendName) throws IOException {
        Backend backend = BackendsUnderTest.open(backendName);
        Path file = folder.resolve("x.bin");
        ByteBuffer bytes = ByteBuffer.allocate(2 * 4 * 64 * 4).order(ByteOrder.nativeOrder());
        for (int i = 0; bytes.hasRemaining(); i++) {
            bytes.putFloat(i * 0.25f);
        }
        Files.write(file, bytes.array());
        Rope rope = Rope.of(64).withBackend(backend);

        try (Arena arena = Arena.ofConfined();
             FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            Tensor x = Tensor.wrap(mapped, DType.FLOAT32, SHAPE);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rope.applyInPlace(x, 3));
            assertTrue(e.getMessage().startsWith("x "), e.getMessage());
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        }
        assertArrayEquals(bytes.array(), Files.readAllBytes(file), "file unchanged");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jrope.BackendsUnderTest#names")
    void readOnlyViewOfArrayRejected(String backendName) {
        Backend backend = BackendsUnderTest.open(backendName);
        float[] data = new float[2 * 4 * 64];
        for (int i = 0; i < data.length; i++) {
            data[i] = i;
        }
        float[] before = data.clone();
        Rope rope = Rope.of(64).withBackend(backend);
        Tensor readOnly = Tensor.wrap(MemorySegment.ofArray(data).asReadOnly(), DType.FLOAT32, SHAPE);

        IllegalArgumentException inPlace = assertThrows(IllegalArgumentException.class,
                () -> rope.applyInPlace(readOnly, 5));
        try (Tensor x = Tensor.copyOf(before, DType.FLOAT32, SHAPE)) {
            IllegalArgumentException outOfPlace = assertThrows(IllegalArgumentException.class,
                    () -> rope.apply(x, Positions.offset(5), readOnly));
            assertTrue(outOfPlace.getMessage().startsWith("out "), outOfPlace.getMessage());
        }

        assertTrue(inPlace.getMessage().startsWith("x "), inPlace.getMessage());
        assertArrayEquals(before, data, "array unchanged");
    }
}
