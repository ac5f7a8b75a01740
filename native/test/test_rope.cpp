// Tests of the jrope C ABI and of every CPU kernel variant this machine runs, against a
// long double evaluation of the RoPE formula.
//
// Usage: jrope_test [random cases per variant, default 1200] [seed]
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu_kernels.h"
#include "jrope.h"
#include "rope_plan.h"

namespace {

int failures = 0;

// Reports a failed condition; prints only the first failures so a systematic bug stays readable.
#define EXPECT(condition, ...)                                          \
  do {                                                                  \
    if (!(condition)) {                                                 \
      ++failures;                                                       \
      if (failures <= 25) {                                             \
        std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #condition); \
        std::printf(__VA_ARGS__);                                       \
        std::printf("\n");                                              \
      }                                                                 \
    }                                                                   \
  } while (0)

// ---- Element codecs written independently of the library. ----

size_t element_bytes(int dtype) { return dtype == JROPE_FLOAT32 ? 4 : 2; }

double decode(int dtype, const unsigned char *p) {
  if (dtype == JROPE_FLOAT32) {
    float value;
    std::memcpy(&value, p, 4);
    return value;
  }
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  if (dtype == JROPE_BFLOAT16) {
    const uint32_t wide = static_cast<uint32_t>(bits) << 16;
    float value;
    std::memcpy(&value, &wide, 4);
    return value;
  }
  const int sign = bits >> 15;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  double magnitude;
  if (exponent == 0x1f) {
    magnitude = mantissa == 0 ? INFINITY : NAN;
  } else if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);
  } else {
    magnitude = std::ldexp(1024 + mantissa, exponent - 25);
  }
  return sign ? -magnitude : magnitude;
}

// Exponent range of each dtype: smallest normal exponent, mantissa bits, largest finite value.
struct Format {
  int min_exponent;
  int mantissa_bits;
  double max_finite;
};

Format format_of(int dtype) {
  if (dtype == JROPE_FLOAT16) {
    return {-14, 10, 65504.0};
  }
  if (dtype == JROPE_BFLOAT16) {
    return {-126, 7, std::ldexp(255.0, 120)};
  }
  return {-126, 23, static_cast<double>(3.4028234663852886e38)};
}

// Spacing of the dtype's values around y.
double ulp_of(int dtype, double y) {
  const Format format = format_of(dtype);
  int exponent;
  std::frexp(y, &exponent);  // y = f * 2^exponent with f in [0.5, 1)
  exponent = std::max(exponent - 1, format.min_exponent);
  return std::ldexp(1.0, exponent - format.mantissa_bits);
}

// Rounds y to the nearest dtype value, ties to even (the default rounding mode of nearbyint).
double round_to_dtype(int dtype, double y) {
  if (std::isnan(y) || std::isinf(y) || y == 0) {
    return y;
  }
  const Format format = format_of(dtype);
  const double spacing = ulp_of(dtype, std::fabs(y));
  const double rounded = std::nearbyint(std::fabs(y) / spacing) * spacing;
  const double overflow = format.max_finite + ulp_of(dtype, format.max_finite) / 2;
  const double magnitude = rounded >= overflow ? INFINITY : rounded;
  return std::copysign(magnitude, y);
}

// Stores a value that is exactly representable in the dtype.
void encode(int dtype, double value, unsigned char *p) {
  if (dtype == JROPE_FLOAT32) {
    const float f = static_cast<float>(value);
    std::memcpy(p, &f, 4);
    return;
  }
  uint16_t bits;
  if (dtype == JROPE_BFLOAT16) {
    const float f = static_cast<float>(value);
    uint32_t wide;
    std::memcpy(&wide, &f, 4);
    bits = static_cast<uint16_t>(wide >> 16);
  } else {
    const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
    const double magnitude = std::fabs(value);
    if (std::isinf(magnitude)) {
      bits = sign | 0x7c00;
    } else if (magnitude < std::ldexp(1.0, -14)) {
      bits = sign | static_cast<uint16_t>(magnitude / std::ldexp(1.0, -24));
    } else {
      int exponent;
      const double fraction = std::frexp(magnitude, &exponent);  // [0.5, 1)
      const int mantissa = static_cast<int>((fraction * 2 - 1) * 1024);
      bits = sign | static_cast<uint16_t>(((exponent - 1 + 15) << 10) | mantissa);
    }
  }
  std::memcpy(p, &bits, 2);
}

bool same_bits(const unsigned char *a, const unsigned char *b, size_t bytes) {
  return std::memcmp(a, b, bytes) == 0;
}

// ---- Buffers and layouts. ----

// A zero-filled byte buffer whose data() is 64-byte aligned.
class Buffer {
 public:
  explicit Buffer(size_t bytes) : storage_(bytes + 64, 0) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(storage_.data());
    offset_ = (64 - address % 64) % 64;
    size_ = bytes;
  }
  unsigned char *data() { return storage_.data() + offset_; }
  const unsigned char *data() const { return storage_.data() + offset_; }
  size_t size() const { return size_; }

 private:
  std::vector<unsigned char> storage_;
  size_t offset_;
  size_t size_;
};

struct Layout {
  int64_t stride[4];  // batch, head, token, feature; in elements
  int64_t span;       // elements from element (0,0,0,0) to the last one, plus one
  bool broadcast;     // some stride is 0, so view elements share memory
};

int64_t offset_of(const Layout &layout, int64_t b, int64_t h, int64_t t, int64_t f) {
  return b * layout.stride[0] + h * layout.stride[1] + t * layout.stride[2] + f * layout.stride[3];
}

Layout make_layout(const int64_t extent[4], const int order[4], const int64_t padding[4],
                   int64_t innermost_step) {
  Layout layout{};
  int64_t stride = innermost_step;
  for (int position = 3; position >= 0; --position) {
    const int axis = order[position];
    layout.stride[axis] = stride;
    stride *= extent[axis] + padding[axis];
  }
  layout.span = 1;
  for (int axis = 0; axis < 4; ++axis) {
    layout.span += (extent[axis] - 1) * layout.stride[axis];
  }
  return layout;
}

Layout contiguous_layout(const int64_t extent[4]) {
  const int order[4] = {0, 1, 2, 3};
  const int64_t padding[4] = {0, 0, 0, 0};
  return make_layout(extent, order, padding, 1);
}

// Standard, (B, T, H, D) transposed, or any axis order; with gaps and non-unit feature steps.
Layout random_layout(std::mt19937_64 &rng, const int64_t extent[4], bool allow_broadcast) {
  std::uniform_real_distribution<double> chance(0, 1);
  int order[4] = {0, 1, 2, 3};
  const double kind = chance(rng);
  if (kind < 0.25) {
    std::swap(order[1], order[2]);
  } else if (kind < 0.4) {
    std::shuffle(order, order + 4, rng);
  }
  int64_t padding[4] = {0, 0, 0, 0};
  for (int64_t &pad : padding) {
    if (chance(rng) < 0.2) {
      pad = 1 + static_cast<int64_t>(rng() % 3);
    }
  }
  const int64_t step = chance(rng) < 0.1 ? 2 : 1;
  Layout layout = make_layout(extent, order, padding, step);
  if (allow_broadcast && chance(rng) < 0.05) {
    layout.stride[1] = 0;  // every head reads the same input
    layout.broadcast = true;
    layout.span = 1;
    for (int axis = 0; axis < 4; ++axis) {
      layout.span += (extent[axis] - 1) * layout.stride[axis];
    }
  }
  return layout;
}

// ---- One RoPE call and its reference. ----

struct RopeCase {
  int dtype = JROPE_FLOAT32;
  int64_t extent[4] = {1, 1, 1, 2};  // B, H, T, D
  int64_t dims = 2;
  bool traditional = false;
  bool inverse = false;
  int mode = JROPE_POSITIONS_OFFSETS;
  int64_t position_batch_stride = 0;
  std::vector<int64_t> positions{0};
  std::vector<double> inv_freq{1.0};
  double scale = 1.0;
  double attention_factor = 1.0;
  int threads = 1;
  Layout x_layout{};
  Layout out_layout{};
};

int64_t bits_of(double value) {
  int64_t bits;
  std::memcpy(&bits, &value, 8);
  return bits;
}

std::vector<int64_t> descriptor(const RopeCase &c, const Layout &x, const Layout &out) {
  std::vector<int64_t> slots(JROPE_CALL_SLOTS, 0);
  slots[JROPE_SLOT_ABI_VERSION] = JROPE_ABI_VERSION;
  slots[JROPE_SLOT_DTYPE] = c.dtype;
  slots[JROPE_SLOT_DIMS] = c.dims;
  slots[JROPE_SLOT_TRADITIONAL] = c.traditional;
  slots[JROPE_SLOT_INVERSE] = c.inverse;
  for (int axis = 0; axis < 4; ++axis) {
    slots[JROPE_SLOT_BATCH + axis] = c.extent[axis];
    slots[JROPE_SLOT_X_STRIDE_BATCH + axis] = x.stride[axis];
    slots[JROPE_SLOT_OUT_STRIDE_BATCH + axis] = out.stride[axis];
  }
  slots[JROPE_SLOT_POSITION_MODE] = c.mode;
  slots[JROPE_SLOT_POSITION_BATCH_STRIDE] = c.position_batch_stride;
  slots[JROPE_SLOT_SCALE_BITS] = bits_of(c.scale);
  slots[JROPE_SLOT_ATTENTION_FACTOR_BITS] = bits_of(c.attention_factor);
  slots[JROPE_SLOT_THREADS] = c.threads;
  return slots;
}

int64_t position_of(const RopeCase &c, int64_t b, int64_t t) {
  const int64_t *row = c.positions.data() + b * c.position_batch_stride;
  if (c.mode == JROPE_POSITIONS_EXPLICIT) {
    return row[t];
  }
  return static_cast<int64_t>(static_cast<uint64_t>(row[0]) + static_cast<uint64_t>(t));
}

void fill_poison(int dtype, Buffer &buffer) {
  const size_t bytes = element_bytes(dtype);
  const uint32_t poison32 = 0x7fc0dead;  // a quiet NaN no rotation produces from finite input
  const uint16_t poison16 = dtype == JROPE_FLOAT16 ? 0x7e5a : 0x7fa5;
  for (size_t offset = 0; offset + bytes <= buffer.size(); offset += bytes) {
    std::memcpy(buffer.data() + offset, bytes == 4 ? static_cast<const void *>(&poison32) : &poison16, bytes);
  }
}

// Largest |value| in the rotated features of the view; the float32 tolerance scales with it.
double max_abs_rotated(const RopeCase &c, const Buffer &x) {
  const size_t bytes = element_bytes(c.dtype);
  double max_abs = 0;
  for (int64_t b = 0; b < c.extent[0]; ++b)
    for (int64_t h = 0; h < c.extent[1]; ++h)
      for (int64_t t = 0; t < c.extent[2]; ++t)
        for (int64_t f = 0; f < c.dims; ++f) {
          const double value = decode(c.dtype, x.data() + offset_of(c.x_layout, b, h, t, f) * bytes);
          max_abs = std::max(max_abs, std::fabs(value));
        }
  return max_abs;
}

struct ErrorStats {
  double max_float32_ulps = 0;  // in ulp of max|x|*m
  int pooled_calls = 0;         // calls the plan split across threads
  int streaming_calls = 0;      // calls the plan gave streaming stores
};

// Counts which paths the plan of a call takes, so the summary shows they were exercised.
void record_plan(const std::vector<int64_t> &slots, void *x, void *out, const RopeCase &c, ErrorStats &stats) {
  jrope::RopeCall call;
  char error[256];
  if (!jrope::parse_call(slots.data(), x, out, c.positions.data(), c.inv_freq.data(), &call, error, sizeof error) ||
      jrope::is_empty(call)) {
    return;
  }
  const jrope::RopePlan plan = jrope::make_plan(call);
  stats.pooled_calls += plan.threads > 1 ? 1 : 0;
  stats.streaming_calls += plan.streaming_stores ? 1 : 0;
}

// Compares out with the reference: rotated features within tolerance, pass-through features bit
// for bit, and every out element outside the view still poisoned.
void verify_out_of_place(const RopeCase &c, const Buffer &x, const Buffer &out, const Buffer &poison,
                         const char *variant, int case_index, ErrorStats &stats) {
  const size_t bytes = element_bytes(c.dtype);
  const int64_t half = c.dims / 2;
  const double m = c.attention_factor;
  // float32 arithmetic with float32 cos and sin errs by up to about 3 ulp of max|x|*m (an
  // estimate from the error terms; the random cases reach 2.7). The
  // float32 tolerance is 2 ulp of the largest possible |output|, sqrt(2) * max|x| * m, which is
  // at most the 4 ulp of max|x|*m that the accuracy contract allows. Half-precision outputs get 1
  // ulp of their own type on top, because cancellation in u*c - v*s can leave a result far
  // smaller than the float32 error of its inputs.
  const double scaled_max = std::max(max_abs_rotated(c, x) * std::max(1.0, std::fabs(m)), 1e-30);
  const double float32_ulp = ulp_of(JROPE_FLOAT32, scaled_max);
  const double float32_tolerance = 2 * ulp_of(JROPE_FLOAT32, std::sqrt(2.0) * scaled_max);
  std::vector<bool> in_view(static_cast<size_t>(c.out_layout.span), false);
  int reported = 0;

  for (int64_t b = 0; b < c.extent[0]; ++b) {
    for (int64_t t = 0; t < c.extent[2]; ++t) {
      // The angle of the exact product scale * position * w_i, which the kernels promise; long
      // double keeps it to about 1e-10 rad at 2^31, where a double product would be off by 1e-7.
      const long double p = static_cast<long double>(c.scale) * static_cast<long double>(position_of(c, b, t));
      std::vector<long double> cos_m(half), sin_m(half);
      for (int64_t i = 0; i < half; ++i) {
        const long double theta = p * static_cast<long double>(c.inv_freq[i]);
        cos_m[i] = static_cast<long double>(m) * cosl(theta);
        sin_m[i] = static_cast<long double>(m) * sinl(theta) * (c.inverse ? -1 : 1);
      }
      for (int64_t h = 0; h < c.extent[1]; ++h) {
        for (int64_t i = 0; i < half; ++i) {
          const int64_t first = c.traditional ? 2 * i : i;
          const int64_t second = c.traditional ? 2 * i + 1 : i + half;
          const long double u = decode(c.dtype, x.data() + offset_of(c.x_layout, b, h, t, first) * bytes);
          const long double v = decode(c.dtype, x.data() + offset_of(c.x_layout, b, h, t, second) * bytes);
          const long double expected[2] = {u * cos_m[i] - v * sin_m[i], u * sin_m[i] + v * cos_m[i]};
          const int64_t feature[2] = {first, second};
          for (int k = 0; k < 2; ++k) {
            const int64_t offset = offset_of(c.out_layout, b, h, t, feature[k]);
            in_view[offset] = true;
            const double actual = decode(c.dtype, out.data() + offset * bytes);
            const double reference = static_cast<double>(expected[k]);
            const double error = std::fabs(actual - reference);
            double tolerance;
            if (c.dtype == JROPE_FLOAT32) {
              tolerance = float32_tolerance;
              stats.max_float32_ulps = std::max(stats.max_float32_ulps, error / float32_ulp);
            } else {
              tolerance = ulp_of(c.dtype, std::fabs(reference)) + float32_tolerance;
            }
            const bool ok = error <= tolerance;
            EXPECT(ok || reported > 0,
                   "%s case %d dtype %d (b,h,t,f)=(%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                   ") pos %" PRId64 " got %.9g expected %.9g tolerance %.3g",
                   variant, case_index, c.dtype, b, h, t, feature[k], position_of(c, b, t), actual,
                   reference, tolerance);
            reported += ok ? 0 : 1;
          }
        }
        for (int64_t f = c.dims; f < c.extent[3]; ++f) {
          const int64_t offset = offset_of(c.out_layout, b, h, t, f);
          in_view[offset] = true;
          const bool copied = same_bits(out.data() + offset * bytes,
                                        x.data() + offset_of(c.x_layout, b, h, t, f) * bytes, bytes);
          EXPECT(copied || reported > 0, "%s case %d pass-through feature %" PRId64 " not copied",
                 variant, case_index, f);
          reported += copied ? 0 : 1;
        }
      }
    }
  }

  for (int64_t offset = 0; offset < c.out_layout.span; ++offset) {
    if (in_view[offset]) {
      continue;
    }
    const bool untouched = same_bits(out.data() + offset * bytes, poison.data() + offset * bytes, bytes);
    EXPECT(untouched || reported > 0, "%s case %d wrote element %" PRId64 " outside the view",
           variant, case_index, offset);
    reported += untouched ? 0 : 1;
  }
}

// Runs c out of place and, unless the input broadcasts, in place; checks both.
void run_case(const RopeCase &c, std::mt19937_64 &rng, const char *variant, int case_index,
              ErrorStats &stats) {
  const size_t bytes = element_bytes(c.dtype);
  Buffer x(static_cast<size_t>(c.x_layout.span) * bytes);
  double magnitude = std::pow(10.0, static_cast<double>(rng() % 7) - 3);  // 1e-3 .. 1e3
  std::uniform_real_distribution<double> uniform(-magnitude, magnitude);
  for (int64_t i = 0; i < c.x_layout.span; ++i) {
    encode(c.dtype, round_to_dtype(c.dtype, uniform(rng)), x.data() + i * bytes);
  }
  const Buffer x_before = x;

  Buffer out(static_cast<size_t>(c.out_layout.span) * bytes);
  fill_poison(c.dtype, out);
  const Buffer poison = out;
  const std::vector<int64_t> slots = descriptor(c, c.x_layout, c.out_layout);
  record_plan(slots, x.data(), out.data(), c, stats);
  const int32_t status = jrope_rope(slots.data(), x.data(), out.data(), c.positions.data(), c.inv_freq.data());
  EXPECT(status == JROPE_OK, "%s case %d returned %d: %s", variant, case_index, status, jrope_last_error());
  EXPECT(same_bits(x.data(), x_before.data(), x.size()), "%s case %d modified x", variant, case_index);
  verify_out_of_place(c, x, out, poison, variant, case_index, stats);

  if (c.x_layout.broadcast) {
    return;
  }
  Buffer in_place = x;
  const std::vector<int64_t> in_place_slots = descriptor(c, c.x_layout, c.x_layout);
  const int32_t in_place_status = jrope_rope(in_place_slots.data(), in_place.data(), in_place.data(),
                                             c.positions.data(), c.inv_freq.data());
  EXPECT(in_place_status == JROPE_OK, "%s case %d in place returned %d: %s", variant, case_index,
         in_place_status, jrope_last_error());

  std::vector<bool> in_view(static_cast<size_t>(c.x_layout.span), false);
  bool equal = true;
  for (int64_t b = 0; b < c.extent[0]; ++b)
    for (int64_t h = 0; h < c.extent[1]; ++h)
      for (int64_t t = 0; t < c.extent[2]; ++t)
        for (int64_t f = 0; f < c.extent[3]; ++f) {
          const int64_t offset = offset_of(c.x_layout, b, h, t, f);
          in_view[offset] = true;
          const unsigned char *expected = f < c.dims
                                              ? out.data() + offset_of(c.out_layout, b, h, t, f) * bytes
                                              : x.data() + offset * bytes;
          equal = equal && same_bits(in_place.data() + offset * bytes, expected, bytes);
        }
  EXPECT(equal, "%s case %d in place differs from out of place", variant, case_index);
  bool gaps_untouched = true;
  for (int64_t offset = 0; offset < c.x_layout.span; ++offset) {
    if (!in_view[offset]) {
      gaps_untouched = gaps_untouched && same_bits(in_place.data() + offset * bytes, x.data() + offset * bytes, bytes);
    }
  }
  EXPECT(gaps_untouched, "%s case %d in place wrote outside the view", variant, case_index);
}

int64_t random_position(std::mt19937_64 &rng) {
  const int64_t kMaxInt32 = 2147483647;
  switch (rng() % 6) {
    case 0:
      return static_cast<int64_t>(rng() % 5000);
    case 1:
      return -static_cast<int64_t>(rng() % 100000);
    case 2:
      return kMaxInt32 - static_cast<int64_t>(rng() % 1000);
    case 3:
      return -kMaxInt32 - 1 + static_cast<int64_t>(rng() % 1000);
    case 4:
      return static_cast<int64_t>(rng() % (uint64_t{1} << 31));
    default:
      return static_cast<int64_t>(rng() % 140000);
  }
}

std::vector<double> random_inv_freq(std::mt19937_64 &rng, int64_t dims) {
  const int64_t half = dims / 2;
  std::vector<double> inv_freq(half);
  const double bases[] = {10000.0, 500000.0, 10.0, 1e6};
  const int kind = static_cast<int>(rng() % 5);
  for (int64_t i = 0; i < half; ++i) {
    if (kind < 4) {
      inv_freq[i] = std::pow(bases[kind], -2.0 * static_cast<double>(i) / static_cast<double>(dims));
    } else {
      // freqs given as periods; an infinite period gives w_i = 0.
      const double period = (rng() % 8 == 0) ? INFINITY : 1.0 + static_cast<double>(rng() % 100000);
      inv_freq[i] = 1.0 / period;
    }
  }
  return inv_freq;
}

RopeCase random_case(std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> chance(0, 1);
  RopeCase c;
  c.dtype = static_cast<int>(rng() % 3);
  const bool large = chance(rng) < 0.08;  // large enough for the worker pool
  c.extent[0] = 1 + static_cast<int64_t>(rng() % 3);
  c.extent[1] = 1 + static_cast<int64_t>(rng() % 4);
  c.extent[2] = large ? 200 + static_cast<int64_t>(rng() % 300) : 1 + static_cast<int64_t>(rng() % 40);
  if (chance(rng) < 0.15) {
    c.extent[2] = 1;
  }
  const int64_t common_d[] = {64, 128, 256, 96, 32, 80};
  if (large || chance(rng) < 0.5) {
    c.extent[3] = common_d[rng() % 6];
  } else {
    c.extent[3] = 2 + static_cast<int64_t>(rng() % 255);  // odd D included
  }
  c.dims = chance(rng) < 0.6 ? c.extent[3] - c.extent[3] % 2 : 2 + 2 * static_cast<int64_t>(rng() % (c.extent[3] / 2));
  c.traditional = rng() % 2 == 1;
  c.inverse = rng() % 4 == 0;

  const int64_t batch = c.extent[0];
  const int64_t tokens = c.extent[2];
  switch (rng() % 4) {
    case 0:  // one offset for every batch row
      c.mode = JROPE_POSITIONS_OFFSETS;
      c.position_batch_stride = 0;
      c.positions = {random_position(rng)};
      break;
    case 1:  // one offset per batch row
      c.mode = JROPE_POSITIONS_OFFSETS;
      c.position_batch_stride = 1;
      c.positions.clear();
      for (int64_t b = 0; b < batch; ++b) c.positions.push_back(random_position(rng));
      break;
    case 2:  // explicit positions of shape (T), shared by the batch rows
      c.mode = JROPE_POSITIONS_EXPLICIT;
      c.position_batch_stride = 0;
      c.positions.clear();
      for (int64_t t = 0; t < tokens; ++t) c.positions.push_back(random_position(rng));
      break;
    default:  // explicit positions of shape (B, T), rows possibly padded
      c.mode = JROPE_POSITIONS_EXPLICIT;
      c.position_batch_stride = tokens + static_cast<int64_t>(rng() % 3);
      c.positions.assign(static_cast<size_t>(batch * c.position_batch_stride), 0);
      for (int64_t &position : c.positions) position = random_position(rng);
      break;
  }

  c.inv_freq = random_inv_freq(rng, c.dims);
  const double scales[] = {1.0, 1.0, 1.0, 0.5, 2.0, 0.125, 0.0, -1.0};
  c.scale = scales[rng() % 8];
  const double factors[] = {1.0, 1.0, 1.0, 1.346574, 0.5, 0.7071};
  c.attention_factor = factors[rng() % 6];
  c.threads = static_cast<int>(rng() % 5);  // 0 is the default thread count

  c.x_layout = chance(rng) < 0.4 ? contiguous_layout(c.extent) : random_layout(rng, c.extent, true);
  c.out_layout = chance(rng) < 0.4 ? contiguous_layout(c.extent) : random_layout(rng, c.extent, false);
  return c;
}

std::vector<const char *> available_variants() {
  std::vector<const char *> variants;
  for (const char *name : {"generic", "avx2", "avx512"}) {
    if (jrope::select_cpu_kernel(name)) {
      variants.push_back(name);
    }
  }
  return variants;
}

// ---- Test groups. ----

void test_random_cases(int cases, uint64_t seed) {
  for (const char *variant : available_variants()) {
    jrope::select_cpu_kernel(variant);
    std::mt19937_64 rng(seed);
    ErrorStats stats;
    const int failures_before = failures;
    for (int index = 0; index < cases; ++index) {
      // Half the cases let aligned outputs take the streaming-store path.
      jrope::set_streaming_min_bytes(index % 2 == 0 ? 0 : int64_t{1} << 40);
      const RopeCase c = random_case(rng);
      run_case(c, rng, variant, index, stats);
    }
    std::printf("random cases, %s: %d cases (%d on the worker pool, %d with streaming stores), "
                "max float32 error %.3f ulp of max|x|*m, %s\n",
                variant, cases, stats.pooled_calls, stats.streaming_calls, stats.max_float32_ulps,
                failures == failures_before ? "ok" : "FAILED");
  }
  jrope::set_streaming_min_bytes(8 << 20);
}

// Every float16 and bfloat16 bit pattern through one row, with theta = 0 so the output is m * x.
// Checks loads and round-to-nearest-even stores exactly, with subnormals, infinities and NaN.
void test_store_rounding_exhaustive() {
  for (const char *variant : available_variants()) {
    jrope::select_cpu_kernel(variant);
    for (int dtype : {JROPE_FLOAT16, JROPE_BFLOAT16}) {
      for (double m : {0.5, 3.0, 1.0}) {
        RopeCase c;
        c.dtype = dtype;
        c.extent[3] = 65536 + 6;  // the extra pairs exercise the scalar tails
        c.dims = c.extent[3];
        c.inv_freq.assign(static_cast<size_t>(c.dims / 2), 0.0);
        c.attention_factor = m;
        c.x_layout = contiguous_layout(c.extent);
        c.out_layout = c.x_layout;
        Buffer x(static_cast<size_t>(c.dims) * 2);
        for (int64_t i = 0; i < c.dims; ++i) {
          const uint16_t bits = static_cast<uint16_t>(i);
          std::memcpy(x.data() + i * 2, &bits, 2);
        }
        Buffer out(x.size());
        const std::vector<int64_t> slots = descriptor(c, c.x_layout, c.out_layout);
        const int32_t status = jrope_rope(slots.data(), x.data(), out.data(), c.positions.data(), c.inv_freq.data());
        EXPECT(status == JROPE_OK, "%s exhaustive dtype %d returned %d", variant, dtype, status);
        int mismatches = 0;
        const int64_t half = c.dims / 2;
        for (int64_t i = 0; i < c.dims; ++i) {
          const int64_t partner = i < half ? i + half : i - half;
          const double input = decode(dtype, x.data() + i * 2);
          const double partner_input = decode(dtype, x.data() + partner * 2);
          const double actual = decode(dtype, out.data() + i * 2);
          if (std::isnan(input) || std::isnan(partner_input) || std::isinf(partner_input)) {
            // The partner term partner * sin(0) is NaN when the partner is NaN or infinite.
            mismatches += std::isnan(actual) ? 0 : 1;
            continue;
          }
          const double expected = round_to_dtype(dtype, input * m);
          mismatches += actual == expected ? 0 : 1;
        }
        EXPECT(mismatches == 0, "%s dtype %d m %g: %d outputs differ from round-to-nearest-even of m*x",
               variant, dtype, m, mismatches);
      }
    }
  }
}

// Decode step (1, 32, 1, 128), T = 1 with B > 1, and empty tensors.
void test_edge_shapes() {
  std::mt19937_64 rng(7);
  ErrorStats stats;
  for (const char *variant : available_variants()) {
    jrope::select_cpu_kernel(variant);
    for (int dtype : {JROPE_FLOAT32, JROPE_FLOAT16, JROPE_BFLOAT16}) {
      RopeCase decode_step;
      decode_step.dtype = dtype;
      const int64_t decode_extent[4] = {1, 32, 1, 128};
      std::copy(decode_extent, decode_extent + 4, decode_step.extent);
      decode_step.dims = 128;
      decode_step.positions = {131071};
      decode_step.inv_freq = random_inv_freq(rng, 128);
      decode_step.x_layout = contiguous_layout(decode_step.extent);
      decode_step.out_layout = decode_step.x_layout;
      run_case(decode_step, rng, variant, -1, stats);

      RopeCase rows = decode_step;
      const int64_t rows_extent[4] = {4, 3, 1, 64};
      std::copy(rows_extent, rows_extent + 4, rows.extent);
      rows.dims = 64;
      rows.position_batch_stride = 1;
      rows.positions = {5, -9, 1 << 20, 2147483647};
      rows.inv_freq = random_inv_freq(rng, 64);
      rows.x_layout = contiguous_layout(rows.extent);
      rows.out_layout = rows.x_layout;
      run_case(rows, rng, variant, -2, stats);
    }
  }

  for (int axis = 0; axis < 3; ++axis) {
    RopeCase empty;
    const int64_t extent[4] = {2, 3, 4, 8};
    std::copy(extent, extent + 4, empty.extent);
    empty.extent[axis] = 0;
    empty.dims = 8;
    empty.inv_freq.assign(4, 1.0);
    empty.x_layout = contiguous_layout(extent);
    empty.out_layout = empty.x_layout;
    const std::vector<int64_t> slots = descriptor(empty, empty.x_layout, empty.out_layout);
    unsigned char sentinel = 0xab;
    // Null tensors and positions are fine when nothing is read or written.
    const int32_t status = jrope_rope(slots.data(), nullptr, &sentinel, nullptr, nullptr);
    EXPECT(status == JROPE_OK, "empty tensor with extent %d = 0 returned %d: %s", axis, status,
           jrope_last_error());
    EXPECT(sentinel == 0xab, "empty tensor wrote its output");
  }
}

struct BadSlot {
  int slot;
  int64_t value;
};

// Every slot with an invalid value returns JROPE_ERROR_INVALID_ARGUMENT, names the slot and the
// value, and leaves the output untouched.
void test_invalid_descriptors() {
  RopeCase c;
  const int64_t extent[4] = {1, 2, 3, 8};
  std::copy(extent, extent + 4, c.extent);
  c.dims = 8;
  c.inv_freq.assign(4, 0.5);
  c.x_layout = contiguous_layout(c.extent);
  c.out_layout = c.x_layout;
  const std::vector<int64_t> valid = descriptor(c, c.x_layout, c.out_layout);
  std::vector<float> x(48, 1.0f), out(48, -7.0f);

  const int64_t nan_bits = bits_of(NAN);
  const int64_t infinity_bits = bits_of(INFINITY);
  const BadSlot cases[] = {
      {JROPE_SLOT_ABI_VERSION, 2},
      {JROPE_SLOT_DTYPE, 3},
      {JROPE_SLOT_DTYPE, -1},
      {JROPE_SLOT_DIMS, 3},
      {JROPE_SLOT_DIMS, 0},
      {JROPE_SLOT_DIMS, 10},
      {JROPE_SLOT_DIMS, -2},
      {JROPE_SLOT_TRADITIONAL, 2},
      {JROPE_SLOT_INVERSE, -1},
      {JROPE_SLOT_BATCH, -1},
      {JROPE_SLOT_HEADS, -1},
      {JROPE_SLOT_TOKENS, -1},
      {JROPE_SLOT_FEATURES, -1},
      {JROPE_SLOT_X_STRIDE_BATCH, -1},
      {JROPE_SLOT_X_STRIDE_HEAD, -1},
      {JROPE_SLOT_X_STRIDE_TOKEN, -8},
      {JROPE_SLOT_X_STRIDE_FEATURE, -1},
      {JROPE_SLOT_OUT_STRIDE_BATCH, -1},
      {JROPE_SLOT_OUT_STRIDE_HEAD, -1},
      {JROPE_SLOT_OUT_STRIDE_TOKEN, -1},
      {JROPE_SLOT_OUT_STRIDE_FEATURE, -1},
      {JROPE_SLOT_POSITION_MODE, 2},
      {JROPE_SLOT_POSITION_BATCH_STRIDE, -1},
      {JROPE_SLOT_SCALE_BITS, nan_bits},
      {JROPE_SLOT_SCALE_BITS, infinity_bits},
      {JROPE_SLOT_ATTENTION_FACTOR_BITS, nan_bits},
      {JROPE_SLOT_THREADS, -1},
      {JROPE_SLOT_THREADS, 257},
  };
  const char *const slot_names[JROPE_CALL_SLOTS] = {
      "JROPE_SLOT_ABI_VERSION", "JROPE_SLOT_DTYPE", "JROPE_SLOT_DIMS", "JROPE_SLOT_TRADITIONAL",
      "JROPE_SLOT_INVERSE", "JROPE_SLOT_BATCH", "JROPE_SLOT_HEADS", "JROPE_SLOT_TOKENS",
      "JROPE_SLOT_FEATURES", "JROPE_SLOT_X_STRIDE_BATCH", "JROPE_SLOT_X_STRIDE_HEAD",
      "JROPE_SLOT_X_STRIDE_TOKEN", "JROPE_SLOT_X_STRIDE_FEATURE", "JROPE_SLOT_OUT_STRIDE_BATCH",
      "JROPE_SLOT_OUT_STRIDE_HEAD", "JROPE_SLOT_OUT_STRIDE_TOKEN", "JROPE_SLOT_OUT_STRIDE_FEATURE",
      "JROPE_SLOT_POSITION_MODE", "JROPE_SLOT_POSITION_BATCH_STRIDE", "JROPE_SLOT_SCALE_BITS",
      "JROPE_SLOT_ATTENTION_FACTOR_BITS", "JROPE_SLOT_THREADS"};

  for (const BadSlot &bad : cases) {
    std::vector<int64_t> slots = valid;
    slots[bad.slot] = bad.value;
    const int32_t status = jrope_rope(slots.data(), x.data(), out.data(), c.positions.data(), c.inv_freq.data());
    const std::string message = jrope_last_error();
    const std::string value_text = " is " + std::to_string(bad.value);
    EXPECT(status == JROPE_ERROR_INVALID_ARGUMENT, "%s = %" PRId64 " returned %d", slot_names[bad.slot],
           bad.value, status);
    EXPECT(message.find(slot_names[bad.slot]) != std::string::npos, "message '%s' does not name %s",
           message.c_str(), slot_names[bad.slot]);
    EXPECT(message.find(value_text) != std::string::npos, "message '%s' does not contain '%s'",
           message.c_str(), value_text.c_str());
    EXPECT(std::all_of(out.begin(), out.end(), [](float v) { return v == -7.0f; }),
           "%s = %" PRId64 " wrote the output", slot_names[bad.slot], bad.value);
  }

  const int32_t null_descriptor = jrope_rope(nullptr, x.data(), out.data(), c.positions.data(), c.inv_freq.data());
  EXPECT(null_descriptor == JROPE_ERROR_INVALID_ARGUMENT, "null descriptor returned %d", null_descriptor);
  const int32_t null_x = jrope_rope(valid.data(), nullptr, out.data(), c.positions.data(), c.inv_freq.data());
  EXPECT(null_x == JROPE_ERROR_INVALID_ARGUMENT, "null x returned %d", null_x);
  const int32_t null_freq = jrope_rope(valid.data(), x.data(), out.data(), c.positions.data(), nullptr);
  EXPECT(null_freq == JROPE_ERROR_INVALID_ARGUMENT, "null inv_freq returned %d", null_freq);

  std::vector<int64_t> huge_stride = valid;
  huge_stride[JROPE_SLOT_X_STRIDE_TOKEN] = int64_t{1} << 61;
  const int32_t overflow = jrope_rope(huge_stride.data(), x.data(), out.data(), c.positions.data(), c.inv_freq.data());
  EXPECT(overflow == JROPE_ERROR_INVALID_ARGUMENT, "stride 2^61 returned %d", overflow);

  const int32_t ok = jrope_rope(valid.data(), x.data(), out.data(), c.positions.data(), c.inv_freq.data());
  EXPECT(ok == JROPE_OK, "valid descriptor returned %d: %s", ok, jrope_last_error());
  EXPECT(jrope_last_error()[0] == '\0', "last error not cleared by a successful call: '%s'", jrope_last_error());
}

void test_info_functions() {
  EXPECT(jrope_abi_version() == JROPE_ABI_VERSION, "abi version %d", jrope_abi_version());
  EXPECT(jrope_default_threads() >= 1, "default threads %d", jrope_default_threads());
  for (const char *variant : available_variants()) {
    jrope::select_cpu_kernel(variant);
    EXPECT(std::strcmp(jrope_cpu_kernel(), variant) == 0, "cpu kernel '%s', selected '%s'",
           jrope_cpu_kernel(), variant);
  }
  EXPECT(!jrope::select_cpu_kernel("sse9"), "unknown variant accepted");
}

void test_parallel_copy() {
  std::mt19937_64 rng(3);
  for (int64_t bytes : {int64_t{0}, int64_t{1}, int64_t{4095}, int64_t{(3 << 20) + 5}}) {
    for (int threads = 0; threads <= 4; ++threads) {
      std::vector<unsigned char> src(static_cast<size_t>(bytes) + 1), dst(static_cast<size_t>(bytes) + 1, 0);
      for (unsigned char &byte : src) byte = static_cast<unsigned char>(rng());
      const int32_t status = jrope_parallel_copy(dst.data(), src.data(), bytes, threads);
      EXPECT(status == JROPE_OK, "copy of %" PRId64 " bytes returned %d", bytes, status);
      EXPECT(std::memcmp(dst.data(), src.data(), static_cast<size_t>(bytes)) == 0,
             "copy of %" PRId64 " bytes with %d threads differs", bytes, threads);
      EXPECT(dst[static_cast<size_t>(bytes)] == 0, "copy of %" PRId64 " bytes wrote past the end", bytes);
    }
  }
  unsigned char byte = 0;
  EXPECT(jrope_parallel_copy(&byte, &byte, -1, 1) == JROPE_ERROR_INVALID_ARGUMENT, "negative bytes accepted");
  EXPECT(jrope_parallel_copy(&byte, &byte, 1, -1) == JROPE_ERROR_INVALID_ARGUMENT, "negative threads accepted");
  EXPECT(jrope_parallel_copy(nullptr, &byte, 1, 1) == JROPE_ERROR_INVALID_ARGUMENT, "null dst accepted");
}

}  // namespace

int main(int argc, char **argv) {
  const int cases = argc > 1 ? std::atoi(argv[1]) : 1200;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20240601;

  test_info_functions();
  test_invalid_descriptors();
  test_parallel_copy();
  test_edge_shapes();
  test_store_rounding_exhaustive();
  test_random_cases(cases, seed);

  std::printf("%s: %d failure(s)\n", failures == 0 ? "PASSED" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
