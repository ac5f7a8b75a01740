package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;

import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * A short timed loop of out-of-place rotations on one backend: a rough throughput figure for the
 * demo, not a benchmark (no forks, no statistics).
 *
 * @param shape   the tensor rotated, float32, layout (B, H, T, D)
 * @param calls   rotations timed
 * @param seconds wall time of the timed calls
 * @param bytes   bytes read plus bytes written by one call
 */
record Throughput(long[] shape, int calls, double seconds, long bytes) {
    /** (1, 32, 512, 128) float32 is 8 MiB: 32 heads of a 512-token prefill at head size 128. */
    static final long[] SHAPE = {1, 32, 512, 128};
    /** {@link #SHAPE} for help text, which needs a constant. */
    static final String SHAPE_TEXT = "(1, 32, 512, 128)";
    private static final double WARM_UP_SECONDS = 0.2;
    private static final double TIMED_SECONDS = 0.5;
    private static final int MIN_CALLS = 3;

    /** Gigabytes (10^9 bytes) moved per second. */
    double gigabytesPerSecond() {
        return calls * (double) bytes / seconds / 1e9;
    }

    static Throughput measure(Backend backend) {
        Rope rope = Rope.of((int) SHAPE[3]).withBackend(backend);
        Positions positions = Positions.zero();
        try (Tensor x = Tensor.allocate(DType.FLOAT32, SHAPE); Tensor out = Tensor.allocate(DType.FLOAT32, SHAPE)) {
            fillUniform(x, 1234);
            runFor(rope, x, positions, out, WARM_UP_SECONDS, 1);

            long start = System.nanoTime();
            int calls = runFor(rope, x, positions, out, TIMED_SECONDS, MIN_CALLS);
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Throughput(SHAPE.clone(), calls, seconds, 2 * x.elementCount() * DType.FLOAT32.byteSize());
        }
    }

    private static int runFor(Rope rope, Tensor x, Positions positions, Tensor out, double seconds, int minCalls) {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        int calls = 0;
        while (calls < minCalls || System.nanoTime() < deadline) {
            rope.apply(x, positions, out);
            calls++;
        }
        return calls;
    }

    private static void fillUniform(Tensor x, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long count = x.elementCount();
        for (long i = 0; i < count; i++) {
            x.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextDouble(-1.0, 1.0));
        }
    }
}
