package io.jrope.bench;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import io.jrope.backend.nativecpu.NativeBackend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Times a rotation against a memory copy of the same bytes, pair by pair, in one run.
 *
 * <p>Why pairs: two-thread memory bandwidth on small cloud machines jumps between levels within
 * seconds, so an absolute GB/s figure is not repeatable, while the ratio of a kernel sample to the
 * copy sample taken right after it is. Each pair times the kernel, then the copy, each repeated
 * enough times to last at least {@link Settings#minSampleNanos}; the reported ratio is the median
 * over pairs of {@code copyTime / kernelTime}, so above 1.0 means faster than the copy.
 *
 * <p>Bytes moved: a rotation reads {@code N} elements and writes {@code N} (in place or not), the
 * same traffic as copying {@code N} elements; GB/s counts read plus written bytes.
 */
public final class PairedBenchmark {

    /** What to time. */
    public record Settings(Backend backend, long[] shape, DType dtype, int threads, boolean inPlace,
                           int pairs, int warmupPairs, long minSampleNanos) {
        public Settings {
            if (pairs < 1) {
                throw new IllegalArgumentException("pairs must be >= 1, got " + pairs);
            }
            shape = shape.clone();
        }
    }

    /** One measured case; times in nanoseconds per call, bandwidth in GB/s (1e9 bytes per second). */
    public record Result(String backend, long[] shape, DType dtype, int threads, boolean inPlace,
                         double medianNanos, double gbps, double copyGbps, double ratio, String copyMethod) {
    }

    /** One decode measurement: nanoseconds per whole Java call, median over batches. */
    public record DecodeResult(String backend, long[] shape, DType dtype, double nanosPerCall, int calls) {
    }

    private PairedBenchmark() {
    }

    public static Result run(Settings settings) {
        Backend backend = settings.backend().withThreads(settings.threads());
        int dims = (int) settings.shape()[settings.shape().length - 1];
        Rope rope = Rope.of(dims).withBackend(backend);
        long elements = Arrays.stream(settings.shape()).reduce(1, Math::multiplyExact);
        long bytes = elements * settings.dtype().byteSize();
        boolean nativeCopy = Backend.named("native").isAvailable();
        int copyThreads = settings.threads() > 0 ? settings.threads()
                : nativeCopy ? NativeBackend.defaultThreads() : 1;

        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, settings.dtype(), settings.shape());
            Tensor out = settings.inPlace() ? x : Tensor.allocate(arena, settings.dtype(), settings.shape());
            fillRandom(x.segment(), settings.dtype(), 1234);
            MemorySegment copySource = arena.allocate(bytes, 64);
            MemorySegment copyTarget = arena.allocate(bytes, 64);
            fillRandom(copySource, DType.FLOAT32, 99);

            Runnable kernel = settings.inPlace()
                    ? () -> rope.applyInPlace(x, Positions.offset(7))
                    : () -> rope.apply(x, Positions.offset(7), out);
            Runnable copy = nativeCopy
                    ? () -> NativeBackend.parallelCopy(copyTarget, copySource, bytes, copyThreads)
                    : () -> MemorySegment.copy(copySource, 0, copyTarget, 0, bytes);

            int repeats = repeatsFor(kernel, copy, settings.minSampleNanos());
            double[] kernelNanos = new double[settings.pairs()];
            double[] copyNanos = new double[settings.pairs()];
            double[] ratios = new double[settings.pairs()];
            for (int pair = -settings.warmupPairs(); pair < settings.pairs(); pair++) {
                double k = time(kernel, repeats);
                double c = time(copy, repeats);
                if (pair >= 0) {
                    kernelNanos[pair] = k;
                    copyNanos[pair] = c;
                    ratios[pair] = c / k;
                }
            }

            double medianKernel = median(kernelNanos);
            double medianCopy = median(copyNanos);
            double trafficBytes = 2.0 * bytes;
            return new Result(backend.name(), settings.shape(), settings.dtype(), copyThreads, settings.inPlace(),
                    medianKernel, trafficBytes / medianKernel, trafficBytes / medianCopy, median(ratios),
                    nativeCopy ? "jrope_parallel_copy, " + copyThreads + " thread(s)" : "MemorySegment.copy, 1 thread");
        }
    }

    /**
     * Times the whole Java call that rotates one decode step in place ({@code x} of {@code shape},
     * position growing like a real decode loop), after a warm-up long enough for the JIT.
     */
    public static DecodeResult decode(Backend backend, long[] shape, DType dtype, int batches, int callsPerBatch) {
        int dims = (int) shape[shape.length - 1];
        Rope rope = Rope.of(dims).withBackend(backend);
        long elements = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        float[] data = new float[Math.toIntExact(elements)];
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextDouble(-1, 1);
        }
        try (Tensor x = dtype == DType.FLOAT32 ? Tensor.wrap(data, shape) : Tensor.copyOf(data, dtype, shape)) {
            long position = 0;
            for (int i = 0; i < 20_000; i++) {
                rope.applyInPlace(x, Positions.offset(position++ & 0xFFFF));
            }
            double[] perCall = new double[batches];
            for (int batch = 0; batch < batches; batch++) {
                long start = System.nanoTime();
                for (int i = 0; i < callsPerBatch; i++) {
                    rope.applyInPlace(x, Positions.offset(position++ & 0xFFFF));
                }
                perCall[batch] = (System.nanoTime() - start) / (double) callsPerBatch;
            }
            return new DecodeResult(backend.name(), shape, dtype, median(perCall), batches * callsPerBatch);
        }
    }

    private static int repeatsFor(Runnable kernel, Runnable copy, long minSampleNanos) {
        for (int i = 0; i < 3; i++) {
            kernel.run();
            copy.run();
        }
        double once = Math.min(time(kernel, 1), time(copy, 1));
        return (int) Math.max(1, Math.min(1_000_000, Math.ceil(minSampleNanos / Math.max(once, 1.0))));
    }

    /** Nanoseconds per run of {@code task}, averaged over {@code repeats} back-to-back runs. */
    private static double time(Runnable task, int repeats) {
        long start = System.nanoTime();
        for (int i = 0; i < repeats; i++) {
            task.run();
        }
        return (System.nanoTime() - start) / (double) repeats;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /** Fills a segment with values in [-1, 1) of {@code dtype}, so no kernel reads NaN or subnormals. */
    private static void fillRandom(MemorySegment segment, DType dtype, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long count = segment.byteSize() / dtype.byteSize();
        for (long i = 0; i < count; i++) {
            dtype.store(segment, i * dtype.byteSize(), (float) random.nextDouble(-1, 1));
        }
    }
}
