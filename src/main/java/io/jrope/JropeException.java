package io.jrope;

/**
 * A failure reported by native code (the C++ shim or the GPU driver), carrying its message. Invalid
 * arguments never reach native code: they are rejected earlier with {@link IllegalArgumentException}.
 */
public class JropeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JropeException(String message) {
        super(message);
    }

    public JropeException(String message, Throwable cause) {
        super(message, cause);
    }
}
