/*
 * C ABI of the Metal RoPE shim (libjrope_metal.dylib) and of its CPU emulator
 * (libjrope_metal_emu.so), which export the same functions so that one Java binding serves both.
 *
 * Calls take the call descriptor of jrope_rope (native/include/jrope.h). Every function may be called
 * from any thread; GPU work is serialised per process. No function throws or aborts: failures return
 * a non-zero status and jrope_metal_last_error() returns the message on the calling thread.
 */
#ifndef JROPE_METAL_H
#define JROPE_METAL_H

#include <stdint.h>

#define JROPE_METAL_API __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

#define JROPE_METAL_ABI_VERSION 1

JROPE_METAL_API int32_t jrope_metal_abi_version(void);

/* Why no usable device was found (for example "no Metal device: ..."), or NULL when one is. */
JROPE_METAL_API const char *jrope_metal_unavailable_reason(void);

/* Name of the device in use ("Apple M2 Pro"), or of the emulator. */
JROPE_METAL_API const char *jrope_metal_device_name(void);

/*
 * Rotates x into out on the GPU, like jrope_rope. x and out may point into memory from
 * jrope_metal_buffer_alloc (used without a copy), into other memory that starts on a page boundary
 * (wrapped without a copy), or anywhere else (copied into a GPU buffer and back). Returns 0 on
 * success, JROPE_ERROR_INVALID_ARGUMENT (1) or JROPE_ERROR_INTERNAL (2).
 */
JROPE_METAL_API int32_t jrope_metal_rope(const int64_t *call, void *x, void *out, const int64_t *positions,
                                         const double *inv_freq);

/*
 * Rotates q and k in one dispatch. Both descriptors must agree in everything but the head count and
 * the strides (grouped-query attention); positions and inv_freq are shared.
 */
JROPE_METAL_API int32_t jrope_metal_rope_qk(const int64_t *q_call, void *q, void *q_out, const int64_t *k_call,
                                            void *k, void *k_out, const int64_t *positions,
                                            const double *inv_freq);

/*
 * Writes a one-line description of the dispatch jrope_metal_rope would make ("kernel=... grid=x,y,z
 * threadgroup=x,y,z head_chunk=n") into text (NUL-terminated, truncated to capacity). Returns a
 * status code.
 */
JROPE_METAL_API int32_t jrope_metal_describe_plan(const int64_t *call, const void *x, const void *out,
                                                  char *text, int64_t capacity);

/* Message of the last failed call on this thread, "" after a successful call. */
JROPE_METAL_API const char *jrope_metal_last_error(void);

/*
 * Allocates bytes of memory that the CPU and the GPU share (a StorageModeShared MTLBuffer; in the
 * emulator, page-aligned host memory). Returns its contents address, or NULL with the reason in
 * jrope_metal_last_error(). Free it with jrope_metal_buffer_free.
 */
JROPE_METAL_API void *jrope_metal_buffer_alloc(int64_t bytes);

/* Frees memory from jrope_metal_buffer_alloc; contents must be the address it returned. */
JROPE_METAL_API int32_t jrope_metal_buffer_free(void *contents);

#ifdef __cplusplus
}
#endif

#endif /* JROPE_METAL_H */
