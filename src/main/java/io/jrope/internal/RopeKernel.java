package io.jrope.internal;

import java.lang.foreign.Arena;

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

    /**
     * Rotates a query and a key request that share positions and parameters (they may differ in head
     * count). Backends that can do both in one dispatch override this; the default makes two calls.
     */
    default void rotateQueryKey(RopeRequest query, RopeRequest key) {
        rotate(query);
        rotate(key);
    }

    /**
     * Returns a new arena whose memory this backend reads and writes without copies: shared GPU
     * buffers for Metal, ordinary native memory elsewhere. Closing it frees its tensors.
     */
    default Arena newArena() {
        return Arena.ofShared();
    }
}
