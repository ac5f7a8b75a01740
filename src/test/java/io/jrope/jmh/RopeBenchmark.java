package io.jrope.jmh;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import io.jrope.backend.nativecpu.NativeBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Prefill-sized rotation and a copy of the same bytes with the same thread count, in one JMH run.
 *
 * <p>JMH runs the two methods one after the other, not interleaved, so on machines whose memory
 * bandwidth drifts compare them only roughly; {@code ./jrope bench} pairs the samples. Run with
 * {@code scripts/jmh.sh} (see the benchmarks page).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class RopeBenchmark {
    @Param({"native"})
    public String backend;

    @Param({"float32", "float16", "bfloat16"})
    public String dtype;

    @Param({"1,32,4096,128"})
    public String shape;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private Rope rope;
    private Tensor x;
    private Tensor out;
    private MemorySegment copySource;
    private MemorySegment copyTarget;
    private long bytes;

    @Setup(Level.Trial)
    public void setUp() {
        long[] dims = Arrays.stream(shape.split(",")).mapToLong(Long::parseLong).toArray();
        DType type = DType.fromName(dtype);
        arena = Arena.ofShared();
        x = Tensor.allocate(arena, type, dims);
        out = Tensor.allocate(arena, type, dims);
        SplittableRandom random = new SplittableRandom(3);
        long count = x.elementCount();
        for (long i = 0; i < count; i++) {
            type.store(x.segment(), i * type.byteSize(), (float) random.nextDouble(-1, 1));
        }
        bytes = count * type.byteSize();
        copySource = arena.allocate(bytes, 64);
        copyTarget = arena.allocate(bytes, 64);
        rope = Rope.of((int) dims[dims.length - 1]).withBackend(Backend.named(backend).withThreads(threads));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void rotateOutOfPlace() {
        rope.apply(x, Positions.offset(7), out);
    }

    @Benchmark
    public void rotateInPlace() {
        rope.applyInPlace(x, Positions.offset(7));
    }

    /** The baseline: the same bytes copied with the same thread split as the native kernels. */
    @Benchmark
    public void copySameBytes() {
        NativeBackend.parallelCopy(copyTarget, copySource, bytes, threads);
    }
}
