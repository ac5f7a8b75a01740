package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.bench.PairedBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code jrope bench}: rotation speed as a ratio to copying the same bytes, measured pair by pair. */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
                "Times RoPE against a copy of the same bytes with the same thread count, alternating the two "
                        + "sample by sample, and prints the median time, GB/s (bytes read + written) and the median "
                        + "ratio copy time / rotation time (above 1.0 = faster than the copy).",
                "With --decode, times the whole Java call for one decode step in place, in ns per call.",
        })
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BackendOption backend;

    @Option(names = "--shape", paramLabel = "B,H,T,D", split = ",", defaultValue = "1,32,4096,128",
            description = "Tensor shape, comma-separated (default: ${DEFAULT-VALUE}); --decode defaults to 1,32,1,128.")
    long[] shape;

    @Option(names = "--dtype", paramLabel = "TYPE", split = ",", defaultValue = "float32",
            converter = DTypeConverter.class,
            description = "float32, float16 or bfloat16; a comma-separated list runs each (default: ${DEFAULT-VALUE}).")
    DType[] dtypes;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Worker threads for the rotation and the copy; 0 = the backend default (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--in-place", description = "Rotate in place instead of into a separate output.")
    boolean inPlace;

    @Option(names = "--pairs", paramLabel = "N", defaultValue = "21",
            description = "Measured rotation/copy pairs (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--min-sample-ms", paramLabel = "MS", defaultValue = "20",
            description = "Minimum length of one sample in milliseconds (default: ${DEFAULT-VALUE}).")
    double minSampleMillis;

    @Option(names = "--decode", description = "Time one in-place decode step per call instead (ns per call).")
    boolean decode;

    @Option(names = "--json", description = "Print one JSON object per case instead of a table.")
    boolean json;

    @Override
    public Integer call() {
        checkArguments();
        PrintWriter out = spec.commandLine().getOut();
        Backend selected = backend.resolve(spec);
        if (!selected.isAvailable()) {
            throw new ParameterException(spec.commandLine(), "backend '" + selected.name() + "' is not available: "
                    + selected.unavailableReason().orElse(""));
        }
        if (decode) {
            runDecode(out, selected.withThreads(threads));
            return 0;
        }
        if (!json) {
            out.println("backend   shape              dtype     threads  in_place  median_us     GB/s  copy_GB/s  ratio");
        }
        for (DType dtype : dtypes) {
            PairedBenchmark.Result result;
            try {
                result = PairedBenchmark.run(new PairedBenchmark.Settings(
                        selected, shape, dtype, threads, inPlace, pairs, 3, (long) (minSampleMillis * 1e6)));
            } catch (OutOfMemoryError | ArithmeticException e) {
                throw new ParameterException(spec.commandLine(), "--shape " + Arrays.toString(shape) + " in " + dtype
                        + " needs more memory than this machine can allocate (four buffers of the tensor's size): "
                        + e.getMessage());
            }
            out.println(json ? toJson(result) : toRow(result));
        }
        if (!json) {
            out.println("ratio = median over " + pairs + " pairs of copy time / rotation time; copy baseline: "
                    + copyMethod(selected));
        }
        return 0;
    }

    private void runDecode(PrintWriter out, Backend selected) {
        long[] decodeShape = spec.commandLine().getParseResult().hasMatchedOption("--shape") ? shape
                : new long[] {1, 32, 1, 128};
        for (DType dtype : dtypes) {
            PairedBenchmark.DecodeResult result = PairedBenchmark.decode(selected, decodeShape, dtype, 21, 20_000);
            if (json) {
                out.printf(Locale.ROOT, "{\"backend\":\"%s\",\"shape\":%s,\"dtype\":\"%s\",\"mode\":\"decode\","
                                + "\"in_place\":true,\"ns_per_call\":%.1f,\"calls\":%d}%n",
                        result.backend(), jsonArray(result.shape()), result.dtype(), result.nanosPerCall(), result.calls());
            } else {
                out.printf(Locale.ROOT, "decode %s %s on %s, in place: %.0f ns per call (median of 21 batches, %d calls)%n",
                        Arrays.toString(result.shape()), result.dtype(), result.backend(), result.nanosPerCall(),
                        result.calls());
            }
        }
    }

    private void checkArguments() {
        if (shape.length < 2) {
            throw new ParameterException(spec.commandLine(), "--shape needs at least 2 axes (T,D), got "
                    + Arrays.toString(shape));
        }
        for (long extent : shape) {
            if (extent < 1) {
                throw new ParameterException(spec.commandLine(), "--shape extents must be >= 1, got " + Arrays.toString(shape));
            }
        }
        if (shape[shape.length - 1] % 2 != 0) {
            throw new ParameterException(spec.commandLine(), "--shape must end in an even D (all features rotate), got "
                    + shape[shape.length - 1]);
        }
        if (threads < 0 || threads > Backend.MAX_THREADS) {
            throw new ParameterException(spec.commandLine(), "--threads must be in [0, " + Backend.MAX_THREADS
                    + "], got " + threads);
        }
        if (pairs < 1) {
            throw new ParameterException(spec.commandLine(), "--pairs must be >= 1, got " + pairs);
        }
        if (!(minSampleMillis > 0)) {
            throw new ParameterException(spec.commandLine(), "--min-sample-ms must be > 0, got " + minSampleMillis);
        }
    }

    private static String copyMethod(Backend backend) {
        return Backend.named("native").isAvailable() ? "jrope_parallel_copy with the same thread count"
                : "MemorySegment.copy on one thread (the native library is not loaded)";
    }

    private static String toRow(PairedBenchmark.Result r) {
        return String.format(Locale.ROOT, "%-9s %-18s %-9s %7d  %-8s %10.1f %8.1f %10.1f %6.2f",
                r.backend(), Arrays.stream(r.shape()).mapToObj(Long::toString).collect(Collectors.joining(",")),
                r.dtype(), r.threads(), r.inPlace(), r.medianNanos() / 1e3, r.gbps(), r.copyGbps(), r.ratio());
    }

    private static String toJson(PairedBenchmark.Result r) {
        return String.format(Locale.ROOT, "{\"backend\":\"%s\",\"shape\":%s,\"dtype\":\"%s\",\"threads\":%d,"
                        + "\"in_place\":%s,\"median_ns\":%.1f,\"gbps\":%.3f,\"memcpy_gbps\":%.3f,\"ratio\":%.4f}",
                r.backend(), jsonArray(r.shape()), r.dtype(), r.threads(), r.inPlace(), r.medianNanos(), r.gbps(),
                r.copyGbps(), r.ratio());
    }

    private static String jsonArray(long[] values) {
        return Arrays.stream(values).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]"));
    }
}
