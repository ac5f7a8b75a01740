/**
 * jrope: rotary positional encoding (RoPE) for attention tensors, on the plain-Java reference backend,
 * native CPU kernels through FFM, and (on Apple silicon) Metal.
 *
 * <p>The library needs only the JDK. picocli and Jackson are for the command-line tool alone.
 */
module io.jrope {
    exports io.jrope;
    exports io.jrope.npy;

    requires static info.picocli;
    requires static com.fasterxml.jackson.databind;

    opens io.jrope.cli to info.picocli;
}
