package io.jrope.golden;

import com.fasterxml.jackson.databind.JsonNode;
import io.jrope.Backend;
import io.jrope.DType;
import io.jrope.Positions;
import io.jrope.Rope;
import io.jrope.Tensor;
import io.jrope.npy.Npy;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One case of a golden manifest: an input, the RoPE parameters MLX ran it with, and MLX's result.
 *
 * <p>The case's files live in the folder named after the case, next to {@code manifest.json}. The
 * {@code files} map of the manifest names them by role: {@code input}, {@code output},
 * {@code freqs}, {@code cotangent}, {@code grad}, {@code input_base}.
 *
 * <p>Instances are immutable; the read methods open the files each time they are called.
 */
public final class GoldenCase {
    /** MLX's outcome for a case, from the manifest's {@code mlx_status}. */
    public enum MlxStatus {
        /** MLX ran the case as described. */
        OK("ok"),
        /** MLX rejected the input; {@link #mlxError()} returns its message. */
        ERROR("error"),
        /** MLX rejected the requested shape and ran the data reshaped (2-D input run as {@code (1, T, D)}). */
        RAN_RESHAPED("rejected_requested_shape_ran_reshaped");

        private final String label;

        MlxStatus(String label) {
            this.label = label;
        }

        /** Returns the value as the manifest spells it. */
        public String label() {
            return label;
        }

        static MlxStatus fromLabel(String label) {
            for (MlxStatus status : values()) {
                if (status.label.equals(label)) {
                    return status;
                }
            }
            return null;
        }
    }

    /** File and folder names that stay inside the manifest folder. */
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*");

    private final String name;
    private final String group;
    private final long[] shape;
    private final DType dtype;
    private final int dims;
    private final boolean traditional;
    private final Double base;
    private final double scale;
    private final long[] offsets;
    private final boolean scalarOffset;
    private final MlxStatus mlxStatus;
    private final String mlxError;
    private final Map<String, String> files;
    private final double suggestedAtol;
    private final double mlxErrorVsFloat64;
    private final double gradMlxErrorVsFloat64;
    private final long[] baseShape;
    private final long[] viewStrides;
    private final String note;
    private final GoldenFiles storage;

    private GoldenCase(Builder builder) {
        this.name = builder.name;
        this.group = builder.group;
        this.shape = builder.shape;
        this.dtype = builder.dtype;
        this.dims = builder.dims;
        this.traditional = builder.traditional;
        this.base = builder.base;
        this.scale = builder.scale;
        this.offsets = builder.offsets;
        this.scalarOffset = builder.scalarOffset;
        this.mlxStatus = builder.mlxStatus;
        this.mlxError = builder.mlxError;
        this.files = builder.files;
        this.suggestedAtol = builder.suggestedAtol;
        this.mlxErrorVsFloat64 = builder.mlxErrorVsFloat64;
        this.gradMlxErrorVsFloat64 = builder.gradMlxErrorVsFloat64;
        this.baseShape = builder.baseShape;
        this.viewStrides = builder.viewStrides;
        this.note = builder.note;
        this.storage = builder.storage;
    }

    // ---- manifest fields ---------------------------------------------------------------------

    public String name() {
        return name;
    }

    /** Returns the manifest's group label, for example {@code long_context}, or an empty string. */
    public String group() {
        return group;
    }

    /** Returns a copy of the logical input shape. */
    public long[] shape() {
        return shape.clone();
    }

    public DType dtype() {
        return dtype;
    }

    /** Returns the {@code dims} MLX was called with, which is invalid (odd, for example) in some cases MLX rejects. */
    public int dims() {
        return dims;
    }

    public boolean traditional() {
        return traditional;
    }

    public MlxStatus mlxStatus() {
        return mlxStatus;
    }

    /** MLX's error message for {@link MlxStatus#ERROR} cases; empty otherwise. */
    public String mlxError() {
        return mlxError;
    }

    /**
     * True when jrope must reject the case with {@link IllegalArgumentException}: every case MLX
     * rejects, except a 2-D {@code (T, D)} input, which jrope accepts as one sequence where MLX needs
     * at least 3 axes.
     */
    public boolean expectsRejection() {
        return switch (mlxStatus) {
            case OK -> false;
            case ERROR -> true;
            case RAN_RESHAPED -> shape.length != 2;
        };
    }

    /** Returns the elementwise absolute tolerance against MLX's output, or NaN for cases without an output. */
    public double suggestedAtol() {
        return suggestedAtol;
    }

    /** Returns MLX's own max abs distance from a float64 evaluation of the formula, or NaN when not recorded. */
    public double mlxErrorVsFloat64() {
        return mlxErrorVsFloat64;
    }

    /** Returns the same distance for MLX's gradient ({@code grad.npy}), or NaN when not recorded. */
    public double gradMlxErrorVsFloat64() {
        return gradMlxErrorVsFloat64;
    }

    /** True when the input is a strided view of {@code input_base.npy}. */
    public boolean isStridedView() {
        return viewStrides != null;
    }

    /** Returns a copy of the view's element strides, or null for a row-contiguous input. */
    public long[] viewStrides() {
        return viewStrides == null ? null : viewStrides.clone();
    }

    /** True when the case has a file for {@code role} (for example {@code grad}). */
    public boolean hasFile(String role) {
        return files.containsKey(role);
    }

    /** True when the case checks the inverse rotation: it has {@code cotangent} and {@code grad}. */
    public boolean hasGradient() {
        return hasFile("cotangent") && hasFile("grad");
    }

    /** Returns the manifest's free-text note, or an empty string. */
    public String note() {
        return note;
    }

    // ---- what the case runs ------------------------------------------------------------------

    /**
     * Builds the case's rotation: dims, traditional, base or the periods of {@code freqs.npy}, and
     * scale, running on {@code backend}.
     *
     * @throws IllegalArgumentException if jrope rejects the parameters (as it must for some cases MLX rejects)
     * @throws IOException              if {@code freqs.npy} cannot be read
     */
    public Rope rope(Backend backend) throws IOException {
        Objects.requireNonNull(backend, "backend");
        Rope rope = Rope.of(dims).withTraditional(traditional).withScale(scale).withBackend(backend);
        boolean hasFreqs = hasFile("freqs");
        if (base != null && hasFreqs) {
            throw new IllegalArgumentException("case " + name + ": only one of base and freqs may be given");
        }
        if (hasFreqs) {
            return rope.withFreqs(readFreqs());
        }
        if (base == null) {
            throw new IOException("case " + name + " in " + storage.describe("manifest.json")
                    + " has neither base nor a freqs file");
        }
        return rope.withBase(base);
    }

    /** Returns the case's positions: one offset shared by every batch row, or one offset per batch row. */
    public Positions positions() {
        return scalarOffset ? Positions.offset(offsets[0]) : Positions.offsets(offsets);
    }

    // ---- files -------------------------------------------------------------------------------

    /**
     * Reads the input in {@code arena}. For a strided case this is a view with the manifest's
     * strides over the contents of {@code input_base.npy}, not a contiguous copy.
     */
    public Tensor readInput(Arena arena) throws IOException {
        if (!isStridedView()) {
            return readTensor("input", arena);
        }
        Tensor base = readTensor("input_base", arena);
        if (baseShape != null && !Arrays.equals(base.shape(), baseShape)) {
            throw new IOException(describe("input_base") + " has shape " + Arrays.toString(base.shape())
                    + " but the manifest's base_shape is " + Arrays.toString(baseShape));
        }
        // The manifest gives no element offset: the recorded views (swapaxes) start at element 0.
        try {
            return Tensor.wrap(base.segment(), dtype, shape, viewStrides, 0);
        } catch (IllegalArgumentException e) {
            throw new IOException("case " + name + ": the view with strides " + Arrays.toString(viewStrides)
                    + " does not fit " + describe("input_base") + ": " + e.getMessage(), e);
        }
    }

    /** Reads the file of {@code role} (input, output, cotangent, grad, ...) as a tensor of the case dtype. */
    public Tensor readTensor(String role, Arena arena) throws IOException {
        Objects.requireNonNull(arena, "arena");
        String path = path(role);
        try (InputStream in = storage.open(path)) {
            return Npy.readTensor(in, storage.describe(path), dtype, arena);
        }
    }

    /** Reads {@code freqs.npy}: the periods, float32, length {@code dims/2}. */
    public float[] readFreqs() throws IOException {
        String path = path("freqs");
        try (InputStream in = storage.open(path); Arena arena = Arena.ofConfined()) {
            Tensor freqs = Npy.readTensor(in, storage.describe(path), DType.FLOAT32, arena);
            if (freqs.ndim() != 1) {
                throw new IOException(storage.describe(path) + " must be 1-D, got shape "
                        + Arrays.toString(freqs.shape()));
            }
            return freqs.toFloatArray();
        }
    }

    /** Returns the full location of the file of {@code role}, for messages. */
    public String describe(String role) {
        return files.containsKey(role) ? storage.describe(name + "/" + files.get(role)) : "(no " + role + " file)";
    }

    private String path(String role) throws IOException {
        String file = files.get(role);
        if (file == null) {
            throw new IOException("case " + name + " has no '" + role + "' file; it has " + files.keySet());
        }
        return name + "/" + file;
    }

    @Override
    public String toString() {
        return "GoldenCase(" + name + ", " + dtype + Arrays.toString(shape) + ", dims " + dims
                + (traditional ? ", traditional" : "") + ", " + mlxStatus.label() + ")";
    }

    // ---- parsing -----------------------------------------------------------------------------

    /** Parses one entry of the manifest's {@code cases} array. */
    static GoldenCase fromJson(JsonNode node, GoldenFiles storage, String manifest) throws IOException {
        Builder builder = new Builder();
        builder.storage = storage;
        builder.name = text(node, "name", manifest);
        String where = manifest + ", case " + builder.name;
        if (!SAFE_NAME.matcher(builder.name).matches()) {
            throw new IOException(where + ": the name must be a plain folder name matching " + SAFE_NAME.pattern());
        }
        builder.group = node.path("group").asText("");
        builder.shape = longs(node, "shape", where);
        builder.dtype = dtype(text(node, "dtype", where), where);
        builder.dims = integer(node, "dims", where);
        builder.traditional = node.path("traditional").asBoolean(false);
        JsonNode base = node.path("base");
        builder.base = base.isNumber() ? base.asDouble() : null;
        builder.scale = node.path("scale").isNumber() ? node.path("scale").asDouble() : 1.0;
        readOffset(node.path("offset"), builder, where);

        String status = node.path("mlx_status").asText("ok");
        builder.mlxStatus = MlxStatus.fromLabel(status);
        if (builder.mlxStatus == null) {
            throw new IOException(where + ": mlx_status '" + status + "' is not one of ok, error, "
                    + MlxStatus.RAN_RESHAPED.label());
        }
        builder.mlxError = node.path("mlx_error").asText("");
        builder.files = files(node.path("files"), where);
        if (!builder.files.containsKey("input")) {
            throw new IOException(where + ": files must name an 'input', got " + builder.files.keySet());
        }
        if (builder.mlxStatus != MlxStatus.ERROR && !builder.files.containsKey("output")) {
            throw new IOException(where + ": a case MLX ran must name an 'output' file, got " + builder.files.keySet());
        }
        builder.suggestedAtol = number(node, "suggested_atol");
        builder.mlxErrorVsFloat64 = number(node, "mlx_max_abs_diff_vs_float64_math");
        builder.gradMlxErrorVsFloat64 = number(node, "grad_mlx_max_abs_diff_vs_float64_math");
        builder.note = node.path("note").asText("");

        if (node.has("input_view_strides_elems")) {
            builder.viewStrides = longs(node, "input_view_strides_elems", where);
            builder.baseShape = node.has("base_shape") ? longs(node, "base_shape", where) : null;
            if (builder.viewStrides.length != builder.shape.length) {
                throw new IOException(where + ": input_view_strides_elems " + Arrays.toString(builder.viewStrides)
                        + " must have one stride per axis of shape " + Arrays.toString(builder.shape));
            }
            if (!builder.files.containsKey("input_base")) {
                throw new IOException(where + ": a strided case must name an 'input_base' file");
            }
        }
        return new GoldenCase(builder);
    }

    private static void readOffset(JsonNode offset, Builder builder, String where) throws IOException {
        if (offset.isMissingNode() || offset.isNull()) {
            builder.offsets = new long[] {0};
            builder.scalarOffset = true;
        } else if (offset.isIntegralNumber()) {
            builder.offsets = new long[] {offset.asLong()};
            builder.scalarOffset = true;
        } else if (offset.isArray() && !offset.isEmpty()) {
            builder.offsets = new long[offset.size()];
            for (int i = 0; i < offset.size(); i++) {
                if (!offset.get(i).isIntegralNumber()) {
                    throw new IOException(where + ": offset[" + i + "] must be an integer, got " + offset.get(i));
                }
                builder.offsets[i] = offset.get(i).asLong();
            }
            builder.scalarOffset = false;
        } else {
            throw new IOException(where + ": offset must be an integer or a non-empty list of integers, got " + offset);
        }
    }

    private static Map<String, String> files(JsonNode node, String where) throws IOException {
        if (!node.isObject()) {
            throw new IOException(where + ": files must be an object mapping roles to file names, got " + node);
        }
        Map<String, String> files = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : node.properties()) {
            String file = entry.getValue().asText("");
            if (!SAFE_NAME.matcher(file).matches()) {
                throw new IOException(where + ": files." + entry.getKey() + " must be a plain file name in the case"
                        + " folder, got '" + file + "'");
            }
            files.put(entry.getKey(), file);
        }
        return Map.copyOf(files);
    }

    private static DType dtype(String label, String where) throws IOException {
        try {
            return DType.fromName(label);
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode node, String field, String where) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IOException(where + ": every case needs a text field '" + field + "', got " + value);
        }
        return value.asText();
    }

    private static int integer(JsonNode node, String field, String where) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || !value.canConvertToInt() || !value.isIntegralNumber()) {
            throw new IOException(where + ": '" + field + "' must be a 32-bit integer, got " + value);
        }
        return value.asInt();
    }

    private static double number(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && value.isNumber() ? value.asDouble() : Double.NaN;
    }

    private static long[] longs(JsonNode node, String field, String where) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || !value.isArray()) {
            throw new IOException(where + ": '" + field + "' must be a list of integers, got " + value);
        }
        long[] result = new long[value.size()];
        for (int i = 0; i < result.length; i++) {
            if (!value.get(i).isIntegralNumber()) {
                throw new IOException(where + ": " + field + "[" + i + "] must be an integer, got " + value.get(i));
            }
            result[i] = value.get(i).asLong();
        }
        return result;
    }

    private static final class Builder {
        String name;
        String group;
        long[] shape;
        DType dtype;
        int dims;
        boolean traditional;
        Double base;
        double scale;
        long[] offsets;
        boolean scalarOffset;
        MlxStatus mlxStatus;
        String mlxError;
        Map<String, String> files;
        double suggestedAtol;
        double mlxErrorVsFloat64;
        double gradMlxErrorVsFloat64;
        long[] baseShape;
        long[] viewStrides;
        String note;
        GoldenFiles storage;
    }
}
