package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.RopeScaling;
import io.jrope.Tensor;
import io.jrope.npy.IntegerArray;
import io.jrope.npy.Npy;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** {@code jrope apply}: rotates the tensor of one {@code .npy} file into another. */
@Command(name = "apply",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
                "Applies RoPE to the tensor in a .npy file and writes the result, with the input's shape and dtype.",
                "Layout (B, *, T, D): axis -1 holds the D features of a head, axis -2 the T tokens, axis 0 the "
                        + "batch rows; a 2-D input is one sequence (T, D).",
        })
final class ApplyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "FILE",
            description = "Input .npy: float32 (<f4), float16 (<f2) or bfloat16 bits (<u2, with --dtype bfloat16).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE",
            description = "Output .npy, written in the input's dtype; replaced if it exists.")
    Path output;

    @Option(names = "--dims", paramLabel = "N",
            description = "Leading features of each head that rotate: even, 2 <= N <= D. The rest pass through. "
                    + "Required unless --rope-config gives it.")
    Integer dims;

    @Option(names = "--traditional",
            description = "Rotate interleaved pairs (2i, 2i+1), GPT-J style, instead of the halves (i, i + N/2).")
    boolean traditional;

    @ArgGroup(exclusive = true)
    Frequencies frequencies;

    @Option(names = "--scale", paramLabel = "S", defaultValue = "1.0",
            description = "Multiplies every position before the angle is taken (default: ${DEFAULT-VALUE}).")
    double scale;

    @ArgGroup(exclusive = true)
    PositionSource positionSource;

    @Option(names = "--inverse",
            description = "Rotate by -theta: undoes the forward rotation, and is its gradient.")
    boolean inverse;

    @Option(names = "--dtype", paramLabel = "TYPE", converter = DTypeConverter.class,
            description = "Dtype of the input: float32, float16 or bfloat16. Default: from the file, where <f4 is "
                    + "float32 and <f2 float16. A <u2 file is read as bfloat16 bits only with bfloat16, and the "
                    + "output is then written as bfloat16 bits in <u2 too.")
    DType dtype;

    @Mixin
    BackendOption backendOption;

    @ArgGroup(exclusive = false, heading = "Long-context scaling:%n")
    ScalingOptions scaling = new ScalingOptions();

    /** Source of the inverse frequencies: at most one of the two options. */
    static final class Frequencies {
        @Option(names = "--base", paramLabel = "B",
                description = "Base of the inverse frequencies w_i = B^(-2i/N), finite and > 0 (default: 10000).")
        Double base;

        @Option(names = "--freqs", paramLabel = "FILE",
                description = "float32 .npy of N/2 periods: w_i = 1 / freqs[i], as mx.fast.rope takes them.")
        Path freqs;
    }

    /** Source of the positions: at most one of the three options (default: offset 0). */
    static final class PositionSource {
        @Option(names = "--offset", paramLabel = "N",
                description = "Position of token 0 in every batch row; may be negative (default: 0).")
        Long offset;

        @Option(names = "--offsets", paramLabel = "FILE",
                description = "int32/int64 .npy of shape (B) or (1): the position of token 0 in each batch row.")
        Path offsets;

        @Option(names = "--positions", paramLabel = "FILE",
                description = "int32/int64 .npy of shape (T) or (B, T): the position of every token.")
        Path positions;
    }

    @Override
    public Integer call() throws IOException {
        Backend backend = backendOption.resolve(spec);
        Rope rope = rope(backend);
        Positions positions = positions();

        try (Tensor x = Npy.readTensor(input, dtype)) {
            Tensor y;
            try {
                if (scaling.sequenceLength > 0) {
                    rope = rope.forSequenceLength(scaling.sequenceLength);
                }
                y = rope.apply(x, positions);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "invalid options for input " + input + " ("
                        + x.describe() + "): " + e.getMessage());
            }
            try (y) {
                Npy.writeTensor(output, y);
            }
            spec.commandLine().getOut().println("wrote " + output + ": " + y.dtype() + " " + Arrays.toString(y.shape())
                    + ", dims " + rope.dims() + ", " + positions + ", backend " + rope.backend().name());
        }
        return 0;
    }

    private Rope rope(Backend backend) throws IOException {
        Rope rope = baseParameters();
        rope = rope.withTraditional(traditional).withInverse(inverse).withBackend(backend);
        try {
            rope = rope.withScale(scale);
        } catch (IllegalArgumentException e) {
            throw invalid("--scale", e);
        }
        rope = withFrequencies(rope);

        try {
            RopeScaling preset = scaling.preset(0);
            if (preset != null) {
                rope = rope.withScaling(preset);
            }
            if (scaling.attentionFactor != null) {
                rope = rope.withAttentionFactor(scaling.attentionFactor);
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "invalid scaling options: " + e.getMessage(), e);
        }
        return rope;
    }

    /** dims, and with --rope-config also base and scaling, before the other options apply. */
    private Rope baseParameters() throws IOException {
        String misplaced = scaling.misplacedOption();
        if (misplaced != null) {
            throw new ParameterException(spec.commandLine(), misplaced);
        }
        if (scaling.ropeConfig != null) {
            if (scaling.ropeType != null) {
                throw new ParameterException(spec.commandLine(), "--rope-config and --rope-type both set the scaling;"
                        + " use one");
            }
            if (frequencies != null) {
                throw new ParameterException(spec.commandLine(), "--rope-config sets the frequencies (rope_theta and"
                        + " rope_scaling); leave out --base and --freqs");
            }
            Rope fromConfig;
            try {
                fromConfig = scaling.fromConfig();
            } catch (IllegalArgumentException e) {
                throw invalid("--rope-config", e);
            }
            if (dims != null && dims != fromConfig.dims()) {
                throw new ParameterException(spec.commandLine(), "--dims " + dims + " contradicts " + scaling.ropeConfig
                        + ", which gives " + fromConfig.dims() + "; leave --dims out");
            }
            return fromConfig;
        }
        if (dims == null) {
            throw new ParameterException(spec.commandLine(), "missing required option: '--dims=N' (or --rope-config)");
        }
        try {
            return Rope.of(dims);
        } catch (IllegalArgumentException e) {
            throw invalid("--dims", e);
        }
    }

    private Rope withFrequencies(Rope rope) throws IOException {
        int dims = rope.dims();
        if (frequencies != null && frequencies.base != null) {
            try {
                return rope.withBase(frequencies.base);
            } catch (IllegalArgumentException e) {
                throw invalid("--base", e);
            }
        }
        if (frequencies != null && frequencies.freqs != null) {
            try (Tensor periods = Npy.readTensor(frequencies.freqs, DType.FLOAT32)) {
                if (periods.ndim() != 1) {
                    throw new ParameterException(spec.commandLine(), "invalid value for option '--freqs': "
                            + frequencies.freqs + " must be 1-D with N/2=" + (dims / 2) + " periods, got shape "
                            + Arrays.toString(periods.shape()));
                }
                return rope.withFreqs(periods.toFloatArray());
            } catch (IllegalArgumentException e) {
                throw invalid("--freqs", e);
            }
        }
        return rope;
    }

    private Positions positions() throws IOException {
        if (positionSource == null) {
            return Positions.zero();
        }
        if (positionSource.offset != null) {
            return Positions.offset(positionSource.offset);
        }
        if (positionSource.offsets != null) {
            IntegerArray offsets = Npy.readIntegers(positionSource.offsets);
            if (offsets.ndim() == 0) {
                return Positions.offset(offsets.values()[0]);
            }
            if (offsets.ndim() != 1 || offsets.shape(0) == 0) {
                throw new ParameterException(spec.commandLine(), "invalid value for option '--offsets': "
                        + positionSource.offsets + " must have shape (B) or (1), got "
                        + Arrays.toString(offsets.shape()));
            }
            return Positions.offsets(offsets.values());
        }

        IntegerArray positions = Npy.readIntegers(positionSource.positions);
        try {
            return switch (positions.ndim()) {
                case 1 -> Positions.ofTokens(positions.values());
                case 2 -> Positions.ofTokens(positions.values(), Math.toIntExact(positions.shape(0)),
                        Math.toIntExact(positions.shape(1)));
                default -> throw new IllegalArgumentException(positionSource.positions + " must have shape (T) or"
                        + " (B, T), got " + Arrays.toString(positions.shape()));
            };
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw invalid("--positions", e);
        }
    }

    private ParameterException invalid(String option, Exception cause) {
        return new ParameterException(spec.commandLine(), "invalid value for option '" + option + "': "
                + cause.getMessage(), cause);
    }
}
