package io.jrope.internal;

/** What each backend implements: one rotation of an already validated request. */
public interface RopeKernel {
    /** Backend name as users select it: {@code java}, {@code native}, {@code metal}, ... */
    String name();

    /** Why this backend cannot run here, with the fix; {@code null} when it can. */
    String unavailableReason();

    /**
     * Rotates {@code request.x()} into {@code request.out()}. Called only when
     * {@link #unavailableReason()} is null.
     */
    void rotate(RopeRequest request);
}
