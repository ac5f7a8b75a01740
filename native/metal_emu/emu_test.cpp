// Tests of the Metal kernels through the emulator's C ABI, against a reference evaluated in binary128
// (libquadmath): the exact angle n * scale * w reduced modulo 2 pi, cos and sin, the rotation, one
// rounding to the dtype.
//
// Every case runs in both schedule orders and, where it applies, in place. Results must agree bit for
// bit across all runs, and no byte of the output buffer outside the view may change.
#include <sys/mman.h>

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "jrope.h"
#include "jrope_metal_emu.h"

extern "C" {
__float128 cosq(__float128);
__float128 sinq(__float128);
__float128 fmodq(__float128, __float128);
}

namespace {

int failures = 0;

#define CHECK(condition, ...)                                 \
  do {                                                        \
    if (!(condition)) {                                       \
      ++failures;                                             \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #condition); \
      std::printf(__VA_ARGS__);                               \
      std::printf("\n");                                      \
    }                                                         \
  } while (0)

// 2 pi to about 107 bits: the double nearest to it plus the double nearest to the remainder.
__float128 two_pi() {
  return static_cast<__float128>(0x1.921fb54442d18p+2) + static_cast<__float128>(0x1.1a62633145c07p-52);
}

int64_t element_size(int dtype) { return dtype == JROPE_FLOAT32 ? 4 : 2; }

float load(const unsigned char *base, int64_t index, int dtype) {
  if (dtype == JROPE_FLOAT32) {
    float value;
    std::memcpy(&value, base + 4 * index, 4);
    return value;
  }
  uint16_t bits;
  std::memcpy(&bits, base + 2 * index, 2);
  if (dtype == JROPE_FLOAT16) {
    _Float16 half;
    std::memcpy(&half, &bits, 2);
    return static_cast<float>(half);
  }
  const uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, 4);
  return value;
}

uint16_t bfloat16_bits(float value) {
  uint32_t word;
  std::memcpy(&word, &value, 4);
  return static_cast<uint16_t>((word + 0x7fffu + ((word >> 16) & 1u)) >> 16);
}

// Correctly rounded bfloat16 of a double: the nearer of the two bfloat16 neighbours, ties to even.
uint16_t bfloat16_bits(double value) {
  const float narrow = static_cast<float>(value);
  uint32_t word;
  std::memcpy(&word, &narrow, 4);
  const uint32_t down = word & 0xffff0000u;
  const uint32_t up = down + 0x10000u;
  float down_value, up_value;
  std::memcpy(&down_value, &down, 4);
  std::memcpy(&up_value, &up, 4);
  const double down_gap = std::fabs(value - static_cast<double>(down_value));
  const double up_gap = std::fabs(static_cast<double>(up_value) - value);
  if (down_gap < up_gap || (down_gap == up_gap && ((down >> 16) & 1u) == 0)) {
    return static_cast<uint16_t>(down >> 16);
  }
  return static_cast<uint16_t>(up >> 16);
}

void store(unsigned char *base, int64_t index, int dtype, float value) {
  if (dtype == JROPE_FLOAT32) {
    std::memcpy(base + 4 * index, &value, 4);
    return;
  }
  uint16_t bits;
  if (dtype == JROPE_FLOAT16) {
    const _Float16 half = static_cast<_Float16>(value);
    std::memcpy(&bits, &half, 2);
  } else {
    bits = bfloat16_bits(value);
  }
  std::memcpy(base + 2 * index, &bits, 2);
}

// Bit pattern of the correctly rounded dtype value of `exact` (float32: the float's bits).
uint32_t rounded_bits(double exact, int dtype) {
  if (dtype == JROPE_FLOAT32) {
    const float value = static_cast<float>(exact);
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    return bits;
  }
  if (dtype == JROPE_FLOAT16) {
    const _Float16 half = static_cast<_Float16>(exact);
    uint16_t bits;
    std::memcpy(&bits, &half, 2);
    return bits;
  }
  return bfloat16_bits(exact);
}

// Distance in representable steps between two finite values of a 16-bit type (sign-magnitude bits).
int64_t ulp_distance16(uint32_t a, uint32_t b) {
  auto ordered = [](uint32_t bits) -> int64_t {
    return (bits & 0x8000u) ? -static_cast<int64_t>(bits & 0x7fffu) : static_cast<int64_t>(bits);
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

uint32_t raw_bits(const unsigned char *base, int64_t index, int dtype) {
  if (dtype == JROPE_FLOAT32) {
    uint32_t bits;
    std::memcpy(&bits, base + 4 * index, 4);
    return bits;
  }
  uint16_t bits;
  std::memcpy(&bits, base + 2 * index, 2);
  return bits;
}

// One tensor of a case: strides and where element (0,0,0,0) sits in its buffer, in elements.
struct View {
  int64_t stride[4];
  int64_t start;
};

View contiguous(int64_t h, int64_t t, int64_t d, int64_t start = 0) {
  return View{{h * t * d, t * d, d, 1}, start};
}

// A (B, T, H, D) buffer viewed as (B, H, T, D).
View token_major(int64_t h, int64_t t, int64_t d) { return View{{t * h * d, d, h * d, 1}, 0}; }

int64_t span(const View &view, const int64_t extents[4]) {
  int64_t last = view.start;
  for (int axis = 0; axis < 4; ++axis) {
    last += (extents[axis] - 1) * view.stride[axis];
  }
  return last + 1;
}

struct Tensor {
  int64_t heads;
  View x;
  View out;
};

struct Case {
  std::string name;
  int dtype = JROPE_FLOAT32;
  int64_t batch = 1, tokens = 1, features = 8, dims = 8;
  std::vector<Tensor> tensors;  // 1, or 2 for a fused q/k call
  bool traditional = false;
  bool inverse = false;
  bool explicit_positions = false;
  std::vector<int64_t> positions{0};
  int64_t position_batch_stride = 0;
  double scale = 1.0;
  double attention_factor = 1.0;
  double base = 10000.0;
  bool infinite_last_period = false;  // freqs[last] = +inf, so w = 0
  bool also_in_place = true;
  std::string expect_kernel;  // checked when not empty
};

std::vector<double> inverse_frequencies(const Case &c) {
  std::vector<double> w(static_cast<size_t>(c.dims / 2));
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = std::pow(c.base, -2.0 * static_cast<double>(i) / static_cast<double>(c.dims));
  }
  if (c.infinite_last_period) {
    w.back() = 0.0;
  }
  return w;
}

int64_t position_of(const Case &c, int64_t b, int64_t t) {
  const int64_t row = b * c.position_batch_stride;
  if (c.explicit_positions) {
    return c.positions[static_cast<size_t>(row + t)];
  }
  return static_cast<int64_t>(static_cast<uint64_t>(c.positions[static_cast<size_t>(row)]) +
                              static_cast<uint64_t>(t));
}

std::vector<int64_t> descriptor(const Case &c, const Tensor &tensor, bool in_place) {
  std::vector<int64_t> call(JROPE_CALL_SLOTS, 0);
  call[JROPE_SLOT_ABI_VERSION] = JROPE_ABI_VERSION;
  call[JROPE_SLOT_DTYPE] = c.dtype;
  call[JROPE_SLOT_DIMS] = c.dims;
  call[JROPE_SLOT_TRADITIONAL] = c.traditional;
  call[JROPE_SLOT_INVERSE] = c.inverse;
  call[JROPE_SLOT_BATCH] = c.batch;
  call[JROPE_SLOT_HEADS] = tensor.heads;
  call[JROPE_SLOT_TOKENS] = c.tokens;
  call[JROPE_SLOT_FEATURES] = c.features;
  const View &out = in_place ? tensor.x : tensor.out;
  for (int axis = 0; axis < 4; ++axis) {
    call[JROPE_SLOT_X_STRIDE_BATCH + axis] = tensor.x.stride[axis];
    call[JROPE_SLOT_OUT_STRIDE_BATCH + axis] = out.stride[axis];
  }
  call[JROPE_SLOT_POSITION_MODE] = c.explicit_positions ? JROPE_POSITIONS_EXPLICIT : JROPE_POSITIONS_OFFSETS;
  call[JROPE_SLOT_POSITION_BATCH_STRIDE] = c.position_batch_stride;
  std::memcpy(&call[JROPE_SLOT_SCALE_BITS], &c.scale, 8);
  std::memcpy(&call[JROPE_SLOT_ATTENTION_FACTOR_BITS], &c.attention_factor, 8);
  return call;
}


struct Outcome {
  double worst_ulps32 = 0;   // float32: max |error| in ulps of max|x|
  int64_t worst_ulps16 = 0;  // float16/bfloat16: max distance to the correctly rounded value
};

Outcome totals[3];

// Fills buffers, runs every schedule and placement, and checks the results.
void check_case(const Case &c, int32_t width = 32, int32_t max_threads = 1024, int64_t target = 65536) {
  const int64_t size = element_size(c.dtype);
  std::mt19937_64 random(0x5eed + c.name.size());
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const std::vector<double> w = inverse_frequencies(c);

  const size_t count = c.tensors.size();
  std::vector<std::vector<unsigned char>> x_buffers(count);
  std::vector<std::vector<unsigned char>> out_template(count);
  std::vector<int64_t> x_elements(count);
  std::vector<int64_t> out_elements(count);
  for (size_t i = 0; i < count; ++i) {
    const Tensor &tensor = c.tensors[i];
    const int64_t extents[4] = {c.batch, tensor.heads, c.tokens, c.features};
    x_elements[i] = span(tensor.x, extents);
    out_elements[i] = span(tensor.out, extents);
    x_buffers[i].assign(static_cast<size_t>(x_elements[i] * size), 0);
    for (int64_t e = 0; e < x_elements[i]; ++e) {
      store(x_buffers[i].data(), e, c.dtype, uniform(random));
    }
    out_template[i].assign(static_cast<size_t>(out_elements[i] * size), 0xA5);
  }

  std::vector<std::vector<unsigned char>> first_result;
  bool have_first = false;
  for (int in_place = 0; in_place <= (c.also_in_place ? 1 : 0); ++in_place) {
    for (int schedule = 0; schedule <= 1; ++schedule) {
      CHECK(jrope_metal_emu_configure(width, max_threads, target, schedule) == 0, "%s", jrope_metal_last_error());
      std::vector<std::vector<unsigned char>> x_copy = x_buffers;
      std::vector<std::vector<unsigned char>> out_copy = out_template;
      std::vector<std::vector<int64_t>> calls;
      std::vector<void *> xs, outs;
      for (size_t i = 0; i < count; ++i) {
        calls.push_back(descriptor(c, c.tensors[i], in_place != 0));
        unsigned char *x = x_copy[i].data() + c.tensors[i].x.start * size;
        unsigned char *out = in_place ? x : out_copy[i].data() + c.tensors[i].out.start * size;
        xs.push_back(x);
        outs.push_back(out);
      }
      if (!c.expect_kernel.empty() && in_place == 0 && schedule == 0) {
        char text[256];
        CHECK(jrope_metal_describe_plan(calls[0].data(), xs[0], outs[0], text, sizeof text) == 0, "%s",
              jrope_metal_last_error());
        CHECK(std::strstr(text, ("kernel=" + c.expect_kernel + " ").c_str()) != nullptr, "%s: plan %s",
              c.name.c_str(), text);
      }
      const int32_t status =
          count == 1 ? jrope_metal_rope(calls[0].data(), xs[0], outs[0], c.positions.data(), w.data())
                     : jrope_metal_rope_qk(calls[0].data(), xs[0], outs[0], calls[1].data(), xs[1], outs[1],
                                           c.positions.data(), w.data());
      CHECK(status == 0, "%s: %s", c.name.c_str(), jrope_metal_last_error());
      if (status != 0) {
        return;
      }

      // Collect every tensor's view values in (b, h, t, d) order for the comparisons.
      std::vector<std::vector<unsigned char>> result(count);
      for (size_t i = 0; i < count; ++i) {
        const Tensor &tensor = c.tensors[i];
        const View &out_view = in_place ? tensor.x : tensor.out;
        const unsigned char *x_base = x_buffers[i].data() + tensor.x.start * size;
        const unsigned char *out_base = (in_place ? x_copy[i].data() + tensor.x.start * size
                                                  : out_copy[i].data() + tensor.out.start * size);
        std::vector<unsigned char> touched(in_place ? x_copy[i].size() / size : out_copy[i].size() / size, 0);

        float max_abs = 0.0f;
        for (int64_t e = 0; e < x_elements[i]; ++e) {
          max_abs = std::fmax(max_abs, std::fabs(load(x_buffers[i].data(), e, c.dtype)));
        }
        const double ulp32 = std::ldexp(1.0, std::ilogb(max_abs) - 23);

        for (int64_t b = 0; b < c.batch; ++b) {
          for (int64_t h = 0; h < tensor.heads; ++h) {
            for (int64_t t = 0; t < c.tokens; ++t) {
              const int64_t x_row = b * tensor.x.stride[0] + h * tensor.x.stride[1] + t * tensor.x.stride[2];
              const int64_t out_row =
                  b * out_view.stride[0] + h * out_view.stride[1] + t * out_view.stride[2];
              const int64_t n = position_of(c, b, t);
              for (int64_t d = 0; d < c.features; ++d) {
                const int64_t out_index = out_row + d * out_view.stride[3];
                touched[static_cast<size_t>(out_view.start + out_index)] = 1;
                const uint32_t got = raw_bits(out_base, out_index, c.dtype);
                if (d >= c.dims) {
                  const uint32_t original = raw_bits(x_base, x_row + d * tensor.x.stride[3], c.dtype);
                  CHECK(got == original, "%s: tail feature %" PRId64 " changed", c.name.c_str(), d);
                  continue;
                }
                const int64_t pair = c.traditional ? d / 2 : d % (c.dims / 2);
                const bool first = c.traditional ? d % 2 == 0 : d < c.dims / 2;
                const int64_t partner = c.traditional ? (first ? d + 1 : d - 1)
                                                      : (first ? d + c.dims / 2 : d - c.dims / 2);
                const double u = static_cast<double>(load(x_base, x_row + (first ? d : partner) * tensor.x.stride[3], c.dtype));
                const double v = static_cast<double>(load(x_base, x_row + (first ? partner : d) * tensor.x.stride[3], c.dtype));

                const __float128 theta = static_cast<__float128>(n) * static_cast<__float128>(c.scale) *
                                         static_cast<__float128>(w[static_cast<size_t>(pair)]);
                const __float128 reduced = fmodq(theta, two_pi());
                const double cos_t = c.attention_factor * static_cast<double>(cosq(reduced));
                const double sin_t = (c.inverse ? -1.0 : 1.0) * c.attention_factor *
                                     static_cast<double>(sinq(reduced));
                const double exact = first ? u * cos_t - v * sin_t : u * sin_t + v * cos_t;

                if (c.dtype == JROPE_FLOAT32) {
                  float value;
                  std::memcpy(&value, &got, 4);
                  const double ulps = std::fabs(static_cast<double>(value) - exact) / ulp32;
                  totals[0].worst_ulps32 = std::fmax(totals[0].worst_ulps32, ulps);
                  CHECK(ulps <= 4.0, "%s: b=%" PRId64 " h=%" PRId64 " t=%" PRId64 " d=%" PRId64
                        " n=%" PRId64 ": %.9g vs %.9g, %.2f ulp of max|x|",
                        c.name.c_str(), b, h, t, d, n, static_cast<double>(value), exact, ulps);
                } else {
                  const int64_t distance = ulp_distance16(got, rounded_bits(exact, c.dtype));
                  Outcome &total = totals[c.dtype];
                  total.worst_ulps16 = distance > total.worst_ulps16 ? distance : total.worst_ulps16;
                  CHECK(distance <= 1, "%s: b=%" PRId64 " h=%" PRId64 " t=%" PRId64 " d=%" PRId64
                        " n=%" PRId64 ": %" PRId64 " ulps from the correctly rounded %.6g",
                        c.name.c_str(), b, h, t, d, n, distance, exact);
                }
              }
            }
          }
        }

        // Out of place: bytes outside the view keep their pattern, and x is unchanged.
        if (!in_place) {
          for (size_t e = 0; e < touched.size(); ++e) {
            if (!touched[e]) {
              CHECK(std::memcmp(out_copy[i].data() + e * size, out_template[i].data() + e * size,
                                static_cast<size_t>(size)) == 0,
                    "%s: out element %zu outside the view was written", c.name.c_str(), e);
            }
          }
          CHECK(x_copy[i] == x_buffers[i], "%s: x changed by an out-of-place call", c.name.c_str());
        }

        // The view's elements, gathered, must be identical across schedules and placements.
        for (int64_t b = 0; b < c.batch; ++b) {
          for (int64_t h = 0; h < tensor.heads; ++h) {
            for (int64_t t = 0; t < c.tokens; ++t) {
              for (int64_t d = 0; d < c.features; ++d) {
                const int64_t index = b * out_view.stride[0] + h * out_view.stride[1] + t * out_view.stride[2] +
                                      d * out_view.stride[3];
                const unsigned char *bytes = out_base + index * size;
                result[i].insert(result[i].end(), bytes, bytes + size);
              }
            }
          }
        }
      }
      if (!have_first) {
        first_result = result;
        have_first = true;
      } else {
        CHECK(result == first_result, "%s: result differs with in_place=%d schedule=%d", c.name.c_str(),
              in_place, schedule);
      }
    }
  }
}

void test_cases() {
  {
    Case c;
    c.name = "f32 split contiguous vectors";
    c.batch = 2, c.tokens = 5, c.features = 16, c.dims = 16;
    c.tensors = {{3, contiguous(3, 5, 16), contiguous(3, 5, 16)}};
    c.expect_kernel = "rope_f32_split_v2_i32";
    check_case(c);
  }

  {
    Case c;
    c.name = "f32 traditional partial dims";
    c.batch = 2, c.tokens = 3, c.features = 20, c.dims = 12;
    c.traditional = true;
    c.tensors = {{2, contiguous(2, 3, 20), contiguous(2, 3, 20)}};
    c.expect_kernel = "rope_f32_trad_v2_i32";
    check_case(c);
  }

  {
    Case c;
    c.name = "f16 split odd pair count";
    c.dtype = JROPE_FLOAT16;
    c.batch = 1, c.tokens = 7, c.features = 16, c.dims = 10;
    c.tensors = {{4, contiguous(4, 7, 16), contiguous(4, 7, 16)}};
    c.positions = {100};
    c.expect_kernel = "rope_f16_split_v1_i32";
    check_case(c);
  }

  {
    Case c;
    c.name = "bf16 traditional token-major view";
    c.dtype = JROPE_BFLOAT16;
    c.batch = 2, c.tokens = 4, c.features = 8, c.dims = 8;
    c.traditional = true;
    c.tensors = {{3, token_major(3, 4, 8), contiguous(3, 4, 8)}};
    c.positions = {7};
    check_case(c);
  }

  {
    Case c;
    c.name = "f32 feature stride 2";
    c.batch = 1, c.tokens = 3, c.features = 6, c.dims = 4;
    c.tensors = {{2, View{{72, 36, 12, 2}, 1}, View{{48, 24, 8, 1}, 0}}};
    c.positions = {-5};
    c.also_in_place = false;  // in place needs equal strides in x and out
    c.expect_kernel = "rope_f32_split_v1_i32";
    check_case(c);
  }

  {
    Case c;
    c.name = "f16 misaligned start";
    c.dtype = JROPE_FLOAT16;
    c.batch = 1, c.tokens = 2, c.features = 8, c.dims = 8;
    c.tensors = {{2, contiguous(2, 2, 8, 1), contiguous(2, 2, 8, 3)}};
    c.expect_kernel = "rope_f16_split_v1_i32";
    check_case(c);
  }

  {
    Case c;
    c.name = "f32 explicit positions per batch row";
    c.batch = 2, c.tokens = 3, c.features = 128, c.dims = 128;
    c.tensors = {{2, contiguous(2, 3, 128), contiguous(2, 3, 128)}};
    c.explicit_positions = true;
    c.positions = {0, -1, 2147483647, 123456789, -2147483647, (int64_t{1} << 40) + 3};
    c.position_batch_stride = 3;
    check_case(c);
  }

  {
    Case c;
    c.name = "f32 positions near 2^31";
    c.batch = 1, c.tokens = 16, c.features = 64, c.dims = 64;
    c.tensors = {{1, contiguous(1, 16, 64), contiguous(1, 16, 64)}};
    c.positions = {2147483647 - 15};
    c.base = 500000;
    check_case(c);
  }

  {
    Case c;
    c.name = "f32 positions near 2^47";
    c.batch = 1, c.tokens = 4, c.features = 32, c.dims = 32;
    c.tensors = {{1, contiguous(1, 4, 32), contiguous(1, 4, 32)}};
    c.positions = {(int64_t{1} << 47) - 2};
    check_case(c);
  }

  {
    Case c;
    c.name = "bf16 per-batch offsets";
    c.dtype = JROPE_BFLOAT16;
    c.batch = 3, c.tokens = 2, c.features = 16, c.dims = 16;
    c.tensors = {{1, contiguous(1, 2, 16), contiguous(1, 2, 16)}};
    c.positions = {5, -9, 40000};
    c.position_batch_stride = 1;
    check_case(c);
  }

  {
    Case c;
    c.name = "f16 inverse scale factor infinite period";
    c.dtype = JROPE_FLOAT16;
    c.batch = 2, c.tokens = 3, c.features = 12, c.dims = 8;
    c.tensors = {{2, contiguous(2, 3, 12), contiguous(2, 3, 12)}};
    c.inverse = true;
    c.scale = 0.25;
    c.attention_factor = 1.3465735902799727;
    c.infinite_last_period = true;
    c.positions = {3};
    check_case(c);
  }

  {
    Case c;
    c.name = "f32 decode T=1 every batch row";
    c.batch = 4, c.tokens = 1, c.features = 8, c.dims = 8;
    c.tensors = {{2, contiguous(2, 1, 8), contiguous(2, 1, 8)}};
    c.positions = {11, 12, 13, 14};
    c.position_batch_stride = 1;
    check_case(c);
  }

  {
    Case c;
    c.name = "fused q/k grouped-query";
    c.dtype = JROPE_FLOAT16;
    c.batch = 2, c.tokens = 3, c.features = 16, c.dims = 12;
    c.tensors = {{4, contiguous(4, 3, 16), contiguous(4, 3, 16)}, {2, token_major(2, 3, 16), contiguous(2, 3, 16)}};
    c.positions = {1000};
    check_case(c);
  }

  {
    Case c;
    c.name = "head chunks and partial threadgroups";
    c.batch = 3, c.tokens = 5, c.features = 10, c.dims = 6;
    c.tensors = {{7, contiguous(7, 5, 10), contiguous(7, 5, 10)}, {3, contiguous(3, 5, 10), contiguous(3, 5, 10)}};
    c.traditional = true;
    c.positions = {2};
    check_case(c, 4, 12, 40);  // width 4, at most 12 threads per group, about 40 threads in flight
  }
}

// A view whose element offsets pass 2^32 selects the 64-bit index kernels. Only the touched pages of
// the 8 GiB reservation are ever backed by memory.
void test_index64() {
  const int64_t row_gap = (int64_t{1} << 32) + 64;  // elements between batch rows
  const int64_t features = 8;
  const size_t bytes = static_cast<size_t>((row_gap + features) * 2);
  void *memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    std::printf("SKIP index64: cannot reserve %zu bytes of address space\n", bytes);
    return;
  }

  auto *x = static_cast<unsigned char *>(memory);
  const float inputs[2][8] = {{1, 0, 0.5f, -1, 0, 1, 0.25f, 2}, {-1, 2, 0, 0.5f, 1, 1, -0.5f, 0}};
  for (int b = 0; b < 2; ++b) {
    for (int d = 0; d < features; ++d) {
      store(x, b * row_gap + d, JROPE_FLOAT16, inputs[b][d]);
    }
  }

  Case c;
  c.dtype = JROPE_FLOAT16;
  c.batch = 2, c.tokens = 1, c.features = features, c.dims = features;
  const Tensor tensor{1, View{{row_gap, features, features, 1}, 0}, View{{row_gap, features, features, 1}, 0}};
  std::vector<int64_t> call = descriptor(c, tensor, true);
  const std::vector<double> w = inverse_frequencies(c);
  const int64_t positions[1] = {3};

  CHECK(jrope_metal_emu_configure(32, 1024, 65536, 0) == 0, "%s", jrope_metal_last_error());
  char text[256];
  CHECK(jrope_metal_describe_plan(call.data(), x, x, text, sizeof text) == 0, "%s", jrope_metal_last_error());
  CHECK(std::strstr(text, "_i64 ") != nullptr, "plan %s", text);
  CHECK(jrope_metal_rope(call.data(), x, x, positions, w.data()) == 0, "%s", jrope_metal_last_error());

  for (int b = 0; b < 2; ++b) {
    for (int d = 0; d < features / 2; ++d) {
      const double angle = 3.0 * w[static_cast<size_t>(d)];
      const double u = static_cast<double>(inputs[b][d]);
      const double v = static_cast<double>(inputs[b][d + features / 2]);
      const double want_u = u * std::cos(angle) - v * std::sin(angle);
      const float got_u = load(x, b * row_gap + d, JROPE_FLOAT16);
      CHECK(ulp_distance16(raw_bits(x, b * row_gap + d, JROPE_FLOAT16), rounded_bits(want_u, JROPE_FLOAT16)) <= 1,
            "index64 b=%d d=%d: %g vs %g", b, d, static_cast<double>(got_u), want_u);
    }
  }
  munmap(memory, bytes);
}

std::vector<int64_t> valid_call() {
  Case c;
  c.batch = 1, c.tokens = 2, c.features = 8, c.dims = 8;
  return descriptor(c, Tensor{1, contiguous(1, 2, 8), contiguous(1, 2, 8)}, false);
}

void expect_invalid(const std::vector<int64_t> &call, const char *fragment) {
  float x[16] = {}, out[16] = {};
  const int64_t positions[1] = {0};
  const double w[4] = {1, 0.1, 0.01, 0.001};
  const int32_t status = jrope_metal_rope(call.data(), x, out, positions, w);
  CHECK(status == JROPE_ERROR_INVALID_ARGUMENT, "status %d for '%s'", status, fragment);
  CHECK(std::strstr(jrope_metal_last_error(), fragment) != nullptr, "message '%s' lacks '%s'",
        jrope_metal_last_error(), fragment);
}

void test_invalid_input() {
  std::vector<int64_t> call = valid_call();
  call[JROPE_SLOT_DIMS] = 7;
  expect_invalid(call, "dims must be even and in [2, D=8], got 7");
  call = valid_call();
  call[JROPE_SLOT_DIMS] = 10;
  expect_invalid(call, "got 10");
  call = valid_call();
  call[JROPE_SLOT_DTYPE] = 3;
  expect_invalid(call, "dtype must be");
  call = valid_call();
  call[JROPE_SLOT_X_STRIDE_TOKEN] = -8;
  expect_invalid(call, "x token stride must be >= 0, got -8");
  call = valid_call();
  call[JROPE_SLOT_ABI_VERSION] = 99;
  expect_invalid(call, "ABI version");
  call = valid_call();
  call[JROPE_SLOT_POSITION_MODE] = 5;
  expect_invalid(call, "position mode");

  // Null data for a non-empty call, and an empty call that needs no data at all.
  call = valid_call();
  const int64_t positions[1] = {0};
  const double w[4] = {1, 0.1, 0.01, 0.001};
  CHECK(jrope_metal_rope(call.data(), nullptr, nullptr, positions, w) == JROPE_ERROR_INVALID_ARGUMENT, "null x");
  call[JROPE_SLOT_TOKENS] = 0;
  CHECK(jrope_metal_rope(call.data(), nullptr, nullptr, nullptr, nullptr) == 0, "%s", jrope_metal_last_error());
  CHECK(std::strcmp(jrope_metal_last_error(), "") == 0, "error not cleared: %s", jrope_metal_last_error());

  // q and k must share everything but heads and strides.
  std::vector<int64_t> q = valid_call();
  std::vector<int64_t> k = valid_call();
  k[JROPE_SLOT_TOKENS] = 3;
  float qx[16] = {}, kx[24] = {};
  CHECK(jrope_metal_rope_qk(q.data(), qx, qx, k.data(), kx, kx, positions, w) == JROPE_ERROR_INVALID_ARGUMENT,
        "mismatched tokens");
  CHECK(std::strstr(jrope_metal_last_error(), "k must have the tokens of q (2), got 3") != nullptr, "%s",
        jrope_metal_last_error());

  CHECK(jrope_metal_emu_configure(0, 1024, 1, 0) == JROPE_ERROR_INVALID_ARGUMENT, "width 0 accepted");
}

// A float32 tensor at an odd byte address cannot be bound on a GPU; it is copied, and the result
// must equal that of the same data at an aligned address, bit for bit.
void test_unaligned_elements() {
  Case c;
  c.batch = 1, c.tokens = 2, c.features = 8, c.dims = 8;
  const Tensor tensor{1, contiguous(1, 2, 8), contiguous(1, 2, 8)};
  std::vector<int64_t> call = descriptor(c, tensor, true);
  const std::vector<double> w = inverse_frequencies(c);
  const int64_t positions[1] = {77};
  alignas(16) unsigned char aligned[64];
  alignas(16) unsigned char shifted[80];
  for (int e = 0; e < 16; ++e) {
    store(aligned, e, JROPE_FLOAT32, 0.125f * static_cast<float>(e) - 1.0f);
  }
  std::memcpy(shifted + 2, aligned, 64);
  CHECK(jrope_metal_rope(call.data(), aligned, aligned, positions, w.data()) == 0, "%s", jrope_metal_last_error());
  CHECK(jrope_metal_rope(call.data(), shifted + 2, shifted + 2, positions, w.data()) == 0, "%s",
        jrope_metal_last_error());
  CHECK(std::memcmp(aligned, shifted + 2, 64) == 0, "unaligned result differs from the aligned one");
}

// Infinite inputs give IEEE's results (inf * cos - v * sin), not NaN from the error terms.
void test_infinite_input() {
  Case c;
  c.batch = 1, c.tokens = 1, c.features = 4, c.dims = 4;
  const Tensor tensor{1, contiguous(1, 1, 4), contiguous(1, 1, 4)};
  std::vector<int64_t> call = descriptor(c, tensor, true);
  const std::vector<double> w = inverse_frequencies(c);
  const int64_t positions[1] = {0};
  float x[4] = {INFINITY, 1.0f, 0.0f, 2.0f};
  CHECK(jrope_metal_rope(call.data(), x, x, positions, w.data()) == 0, "%s", jrope_metal_last_error());
  CHECK(std::isinf(x[0]), "inf * cos(0) gave %g", static_cast<double>(x[0]));
  CHECK(x[0] > 0, "inf * cos(0) gave %g", static_cast<double>(x[0]));
  CHECK(std::isnan(x[2]), "inf * sin(0) + 0 gave %g", static_cast<double>(x[2]));
  CHECK(x[1] == 1.0f, "finite pair at position 0 gave %g", static_cast<double>(x[1]));
  CHECK(x[3] == 2.0f, "finite pair at position 0 gave %g", static_cast<double>(x[3]));
}

void test_buffers() {
  void *buffer = jrope_metal_buffer_alloc(100);
  CHECK(buffer != nullptr, "%s", jrope_metal_last_error());
  CHECK(reinterpret_cast<uintptr_t>(buffer) % 16384 == 0, "buffer not page-aligned");
  CHECK(jrope_metal_buffer_free(buffer) == 0, "%s", jrope_metal_last_error());
  CHECK(jrope_metal_buffer_free(buffer) == JROPE_ERROR_INVALID_ARGUMENT, "double free accepted");
  CHECK(jrope_metal_buffer_alloc(0) == nullptr, "zero bytes accepted");
}

}  // namespace

int main() {
  test_cases();
  test_index64();
  test_invalid_input();
  test_unaligned_elements();
  test_infinite_input();
  test_buffers();
  std::printf("device: %s\n", jrope_metal_device_name());
  std::printf("worst float32 error: %.3f ulp of max|x|; worst float16: %" PRId64 " ulp; worst bfloat16: %" PRId64
              " ulp (from the correctly rounded value)\n",
              totals[0].worst_ulps32, totals[1].worst_ulps16, totals[2].worst_ulps16);
  if (failures != 0) {
    std::printf("%d checks failed\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
