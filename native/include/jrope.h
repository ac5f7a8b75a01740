/*
 * C ABI of libjrope: rotary positional encoding (RoPE) on CPU.
 *
 * Tensors have the shape (B, H, T, D): batch, heads, tokens, features. Strides are in elements.
 * Every function is safe to call from several threads at once. Calls that use the worker pool
 * run one after the other. No function throws or aborts: failures return a status code, and
 * jrope_last_error() returns the message on the calling thread.
 */
#ifndef JROPE_H
#define JROPE_H

#include <stdint.h>

#if defined(_WIN32)
#define JROPE_API __declspec(dllexport)
#else
#define JROPE_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define JROPE_ABI_VERSION 1

/* dtype codes */
enum { JROPE_FLOAT32 = 0, JROPE_FLOAT16 = 1, JROPE_BFLOAT16 = 2 };

/* status codes */
enum { JROPE_OK = 0, JROPE_ERROR_INVALID_ARGUMENT = 1, JROPE_ERROR_INTERNAL = 2 };

/* position modes */
enum { JROPE_POSITIONS_OFFSETS = 0, JROPE_POSITIONS_EXPLICIT = 1 };

/* Slots of the call descriptor, an array of JROPE_CALL_SLOTS int64 values. */
enum jrope_call_slot {
  JROPE_SLOT_ABI_VERSION = 0,   /* must equal JROPE_ABI_VERSION */
  JROPE_SLOT_DTYPE,             /* dtype code, same for x and out */
  JROPE_SLOT_DIMS,              /* rotated features, even, 2 <= dims <= D */
  JROPE_SLOT_TRADITIONAL,       /* 0: pairs (i, i + dims/2); 1: pairs (2i, 2i+1) */
  JROPE_SLOT_INVERSE,           /* 1: rotate by -theta */
  JROPE_SLOT_BATCH,             /* B */
  JROPE_SLOT_HEADS,             /* H */
  JROPE_SLOT_TOKENS,            /* T */
  JROPE_SLOT_FEATURES,          /* D */
  JROPE_SLOT_X_STRIDE_BATCH,
  JROPE_SLOT_X_STRIDE_HEAD,
  JROPE_SLOT_X_STRIDE_TOKEN,
  JROPE_SLOT_X_STRIDE_FEATURE,
  JROPE_SLOT_OUT_STRIDE_BATCH,
  JROPE_SLOT_OUT_STRIDE_HEAD,
  JROPE_SLOT_OUT_STRIDE_TOKEN,
  JROPE_SLOT_OUT_STRIDE_FEATURE,
  JROPE_SLOT_POSITION_MODE,         /* JROPE_POSITIONS_OFFSETS: pos(b,t) = positions[b*pbs] + t
                                       JROPE_POSITIONS_EXPLICIT: pos(b,t) = positions[b*pbs + t] */
  JROPE_SLOT_POSITION_BATCH_STRIDE, /* pbs, in int64 elements (0 broadcasts one row to every batch) */
  JROPE_SLOT_SCALE_BITS,            /* double scale, as IEEE-754 bits */
  JROPE_SLOT_ATTENTION_FACTOR_BITS, /* double m multiplying cos and sin (1.0 by default), as bits */
  JROPE_SLOT_THREADS,               /* worker threads, 0 = default (hardware concurrency) */
  JROPE_CALL_SLOTS
};

/*
 * Rotates x into out. out == x with equal strides means in place; any other overlap gives
 * unspecified values. Strides must be non-negative. x and out point at element (0,0,0,0).
 * positions: int64 array read as JROPE_SLOT_POSITION_MODE describes. inv_freq: dims/2 inverse
 * frequencies w_i in radians per position. Position offsets are added with two's complement
 * wrap-around, as Java's long arithmetic does. Returns a status code.
 */
JROPE_API int32_t jrope_rope(const int64_t *call, void *x, void *out, const int64_t *positions,
                             const double *inv_freq);

/* Message of the last failed call on this thread, "" after a successful call. */
JROPE_API const char *jrope_last_error(void);

JROPE_API int32_t jrope_abi_version(void);

/* Name of the CPU kernel variant in use: "avx512", "avx2" or "generic". */
JROPE_API const char *jrope_cpu_kernel(void);

/* Thread count used when a call passes 0: the hardware concurrency, at least 1. */
JROPE_API int32_t jrope_default_threads(void);

/*
 * Copies bytes from src to dst (no overlap) with the same worker pool and unit size as
 * jrope_rope; the memcpy baseline of the benchmark. threads: 0 = default. Returns a status code.
 */
JROPE_API int32_t jrope_parallel_copy(void *dst, const void *src, int64_t bytes, int32_t threads);

#ifdef __cplusplus
}
#endif

#endif /* JROPE_H */
