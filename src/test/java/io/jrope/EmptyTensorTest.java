package io.jrope;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tensors with a zero extent are valid whatever their strides, and a rotation leaves them empty. */
class EmptyTensorTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.jrope.BackendsUnderTest#names")
    void emptyOutputWithZeroStrideAccepted(String backendName) {
        Backend backend = BackendsUnderTest.open(backendName);
        Rope rope = Rope.of(8).withBackend(backend);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(64);
            Tensor x = Tensor.wrap(memory, DType.FLOAT32, new long[] {2, 0, 3, 8}, new long[] {0, 0, 8, 1}, 0);
            Tensor out = Tensor.wrap(arena.allocate(64), DType.FLOAT32, new long[] {2, 0, 3, 8},
                    new long[] {0, 0, 0, 1}, 0);

            rope.apply(x, Positions.offset(5), out);
            rope.applyInPlace(x, Positions.offset(5));

            assertEquals(0, out.elementCount(), "elements");
            assertTrue(out.hasUniqueElements(), "an empty tensor has no elements to share");
        }
    }
}
