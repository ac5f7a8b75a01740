// Body of the CPU kernel, compiled once per instruction-set variant.
//
// Each kernel_<variant>.cpp defines JROPE_KERNEL_NS and JROPE_KERNEL_NAME and includes this file
// under its own -m flags. Everything here has internal linkage (anonymous namespace) and calls no
// C++ standard library templates, because an inline function with external linkage compiled with
// AVX-512 flags could be chosen by the linker for the generic variant and fault on older CPUs.
// Vector width follows the predefined ISA macros: 16 lanes with AVX-512, 8 with AVX2, and 4
// (SSE2 on x86-64, NEON on arm64) otherwise.

#include <cstddef>
#include <cstdint>

#include "rope_call.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#if !defined(JROPE_KERNEL_NS) || !defined(JROPE_KERNEL_NAME)
#error "define JROPE_KERNEL_NS and JROPE_KERNEL_NAME before including cpu_kernel_body.h"
#endif

namespace jrope {
namespace JROPE_KERNEL_NS {
namespace {

#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX2__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif

typedef float VecF __attribute__((vector_size(kLanes * 4)));
typedef uint32_t VecU __attribute__((vector_size(kLanes * 4)));
typedef uint16_t VecH __attribute__((vector_size(kLanes * 2)));

template <class V>
inline V load_vec(const void *p) {
  V v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

template <class V>
inline void store_vec(void *p, V v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// a * b + c. Fused where the variant has FMA; the build uses -ffp-contract=off, so the scalar
// tails and the vector body round identically and in-place equals out-of-place bit for bit.
inline float madd(float a, float b, float c) {
#if defined(__FMA__) || defined(__aarch64__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

inline VecF madd(VecF a, VecF b, VecF c) {
#if defined(__AVX512F__)
  return (VecF)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__AVX2__) && defined(__FMA__)
  return (VecF)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#elif defined(__aarch64__)
  return (VecF)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
#else
  return a * b + c;
#endif
}

// Exchanges the two lanes of every pair: (x0, x1, x2, x3, ...) -> (x1, x0, x3, x2, ...).
inline VecF swap_pairs(VecF v) {
#if defined(__AVX512F__)
  return (VecF)_mm512_permute_ps((__m512)v, 0xB1);
#elif defined(__AVX2__)
  return (VecF)_mm256_permute_ps((__m256)v, 0xB1);
#else
  return __builtin_shufflevector(v, v, 1, 0, 3, 2);
#endif
}

inline void store_fence() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_sfence();
#endif
}

// ---- Element types: exact widening loads and round-to-nearest-even narrowing stores. ----

inline float bits_to_float(uint32_t bits) { return __builtin_bit_cast(float, bits); }
inline uint32_t float_to_bits(float value) { return __builtin_bit_cast(uint32_t, value); }

// IEEE binary16 to float32, exact for every input, including subnormals, infinities and NaN.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) {
    return bits_to_float(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent != 0) {
    return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
  // Subnormal or zero: mantissa * 2^-24 is exact in float32.
  return bits_to_float(sign | float_to_bits(static_cast<float>(mantissa) * 0x1p-24f));
}

// float32 to IEEE binary16, rounding to nearest even; NaN becomes a quiet NaN.
inline uint16_t float_to_half(float value) {
  const uint32_t bits = float_to_bits(value);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {
    return static_cast<uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  }
  if (magnitude >= 0x477ff000u) {  // 65520 and above round to infinity
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (magnitude >= 0x38800000u) {  // 2^-14 and above are normal in binary16
    const uint32_t rebiased = magnitude - 0x38000000u;
    return static_cast<uint16_t>(sign | ((rebiased + 0xfffu + ((rebiased >> 13) & 1u)) >> 13));
  }
  // Below 2^-14 the binary16 spacing is 2^-24, the float32 spacing in [0.5, 1): adding 0.5
  // rounds to a multiple of 2^-24 with round-to-nearest-even, and the low bits are the result.
  const float shifted = bits_to_float(magnitude) + 0.5f;
  return static_cast<uint16_t>(sign | (float_to_bits(shifted) - 0x3f000000u));
}

inline uint16_t float_to_bfloat16(float value) {
  const uint32_t bits = float_to_bits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((bits >> 16) | 0x40u);
  }
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

struct Float32 {
  typedef float Storage;

  static float load1(const float *p) { return *p; }
  static void store1(float *p, float value) { *p = value; }
  static VecF load(const float *p) { return load_vec<VecF>(p); }
  static void store(float *p, VecF value) { store_vec(p, value); }

  // Requires p aligned to sizeof(VecF).
  static void stream(float *p, VecF value) {
#if defined(__AVX512F__)
    _mm512_stream_ps(p, (__m512)value);
#elif defined(__AVX2__)
    _mm256_stream_ps(p, (__m256)value);
#else
    store(p, value);
#endif
  }
};

struct Float16 {
  typedef uint16_t Storage;

  static float load1(const uint16_t *p) {
#if defined(__F16C__)
    return _cvtsh_ss(*p);
#elif defined(__aarch64__)
    return static_cast<float>(__builtin_bit_cast(__fp16, *p));
#else
    return half_to_float(*p);
#endif
  }

  static void store1(uint16_t *p, float value) {
#if defined(__F16C__)
    *p = static_cast<uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT));
#elif defined(__aarch64__)
    *p = __builtin_bit_cast(uint16_t, static_cast<__fp16>(value));
#else
    *p = float_to_half(value);
#endif
  }

  static VecF load(const uint16_t *p) {
#if defined(__AVX512F__)
    return (VecF)_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
#elif defined(__AVX2__) && defined(__F16C__)
    return (VecF)_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
#else
    VecF result;
    for (int lane = 0; lane < kLanes; ++lane) {
      result[lane] = load1(p + lane);
    }
    return result;
#endif
  }

  static VecH narrow(VecF value) {
#if defined(__AVX512F__)
    return (VecH)_mm512_cvtps_ph((__m512)value, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#elif defined(__AVX2__) && defined(__F16C__)
    return (VecH)_mm256_cvtps_ph((__m256)value, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    VecH result;
    for (int lane = 0; lane < kLanes; ++lane) {
      uint16_t h;
      store1(&h, value[lane]);
      result[lane] = h;
    }
    return result;
#endif
  }

  static void store(uint16_t *p, VecF value) { store_vec(p, narrow(value)); }

  static void stream(uint16_t *p, VecF value) {
#if defined(__AVX512F__)
    _mm256_stream_si256(reinterpret_cast<__m256i *>(p), (__m256i)narrow(value));
#elif defined(__AVX2__)
    _mm_stream_si128(reinterpret_cast<__m128i *>(p), (__m128i)narrow(value));
#else
    store(p, value);
#endif
  }
};

struct Bfloat16 {
  typedef uint16_t Storage;

  static float load1(const uint16_t *p) { return bits_to_float(static_cast<uint32_t>(*p) << 16); }
  static void store1(uint16_t *p, float value) { *p = float_to_bfloat16(value); }

  static VecF load(const uint16_t *p) {
#if defined(__AVX512F__)
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
    return (VecF)_mm512_slli_epi32(wide, 16);
#elif defined(__AVX2__)
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
    return (VecF)_mm256_slli_epi32(wide, 16);
#else
    const VecU wide = __builtin_convertvector(load_vec<VecH>(p), VecU);
    return (VecF)(wide << 16);
#endif
  }

  // Keeps the low 16 bits of each lane; every lane is at most 0xffff.
  static VecH low_halves(VecU lanes) {
#if defined(__AVX512F__)
    return (VecH)_mm512_cvtepi32_epi16((__m512i)lanes);
#elif defined(__AVX2__)
    const __m256i wide = (__m256i)lanes;
    return (VecH)_mm_packus_epi32(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
#else
    return __builtin_convertvector(lanes, VecH);
#endif
  }

  // Same rounding as float_to_bfloat16, lane by lane, written as selects so it vectorises.
  static VecH narrow(VecF value) {
    const VecU bits = (VecU)value;
    const VecU is_nan = (VecU)((bits & 0x7fffffffu) > 0x7f800000u);
    const VecU rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const VecU quiet_nan = (bits >> 16) | 0x40u;
    return low_halves((quiet_nan & is_nan) | (rounded & ~is_nan));
  }

  static void store(uint16_t *p, VecF value) { store_vec(p, narrow(value)); }

  static void stream(uint16_t *p, VecF value) {
#if defined(__AVX512F__)
    _mm256_stream_si256(reinterpret_cast<__m256i *>(p), (__m256i)narrow(value));
#elif defined(__AVX2__)
    _mm_stream_si128(reinterpret_cast<__m128i *>(p), (__m128i)narrow(value));
#else
    store(p, value);
#endif
  }
};

template <class D, bool kStream>
inline void put(typename D::Storage *p, VecF value) {
  if (kStream) {
    D::stream(p, value);
  } else {
    D::store(p, value);
  }
}

#include "cos_sin_table.inc"
#include "rotate_rows.inc"

}  // namespace

extern const CpuKernel kKernel = {JROPE_KERNEL_NAME, &rotate_unit};

}  // namespace JROPE_KERNEL_NS
}  // namespace jrope
