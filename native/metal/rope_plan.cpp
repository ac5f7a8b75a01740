#include "rope_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "jrope.h"

namespace jrope::metal {
namespace {

constexpr int64_t kUint32Limit = int64_t{1} << 32;

// 1 / (2 pi) as a double plus the double nearest to the remainder.
constexpr double kInvTwoPiHi = 0x1.45f306dc9c883p-3;
constexpr double kInvTwoPiLo = -0x1.6b01ec5417056p-57;

std::string format(const char *pattern, long long a, long long b = 0, long long c = 0) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, pattern, a, b, c);
  return buffer;
}

bool fail(std::string *error, std::string message) {
  *error = std::move(message);
  return false;
}

const char *const kStrideNames[4] = {"batch", "head", "token", "feature"};

bool check_strides(const int64_t *strides, const char *tensor, std::string *error) {
  for (int axis = 0; axis < 4; ++axis) {
    if (strides[axis] < 0) {
      return fail(error, std::string(tensor) + " " + kStrideNames[axis] +
                             format(" stride must be >= 0, got %lld", strides[axis]));
    }
  }
  return true;
}

bool multiple_of(int64_t value, int64_t divisor) { return value % divisor == 0; }

// True when rows of this tensor can be read and written as vectors of `elements` elements:
// feature stride 1, every other stride a multiple of `elements`, both start addresses aligned to
// the vector size.
bool vector_friendly(const TensorRef &tensor, int64_t elements) {
  const RopeCall &call = *tensor.call;
  const int64_t bytes = elements * dtype_size(call.dtype);
  if (call.x_stride[3] != 1 || call.out_stride[3] != 1) {
    return false;
  }
  for (int axis = 0; axis < 3; ++axis) {
    if (!multiple_of(call.x_stride[axis], elements) || !multiple_of(call.out_stride[axis], elements)) {
      return false;
    }
  }
  return tensor.x_address % static_cast<uintptr_t>(bytes) == 0 &&
         tensor.out_address % static_cast<uintptr_t>(bytes) == 0;
}

bool same_shared_fields(const RopeCall &q, const RopeCall &k, std::string *error) {
  struct Field {
    const char *name;
    long long q, k;
  };
  const Field fields[] = {
      {"dtype", q.dtype, k.dtype},
      {"dims", q.dims, k.dims},
      {"traditional", q.traditional, k.traditional},
      {"inverse", q.inverse, k.inverse},
      {"batch", q.batch, k.batch},
      {"tokens", q.tokens, k.tokens},
      {"features", q.features, k.features},
      {"position mode", q.explicit_positions, k.explicit_positions},
      {"position batch stride", q.position_batch_stride, k.position_batch_stride},
  };
  for (const Field &field : fields) {
    if (field.q != field.k) {
      return fail(error, std::string("k must have the ") + field.name +
                             format(" of q (%lld), got %lld", field.q, field.k));
    }
  }
  if (q.scale != k.scale || q.attention_factor != k.attention_factor) {
    return fail(error, "k must have the scale and attention factor of q");
  }
  return true;
}

// Threadgroup shape: about 8 SIMD groups, filled along x first, then y, then z.
void choose_threadgroup(const DeviceLimits &limits, RopePlan *plan) {
  const uint64_t width = limits.thread_execution_width;
  uint64_t target = width * 8;
  if (target > limits.max_threads_per_threadgroup) {
    target = limits.max_threads_per_threadgroup;
  }
  uint64_t x = plan->grid[0] < target ? plan->grid[0] : target;
  if (x > width) {
    x -= x % width;
  }
  const uint64_t y_room = target / x;
  const uint64_t y = plan->grid[1] < y_room ? plan->grid[1] : y_room;
  const uint64_t z_room = target / (x * y);
  const uint64_t z = plan->grid[2] < z_room ? plan->grid[2] : z_room;
  plan->threadgroup[0] = x;
  plan->threadgroup[1] = y;
  plan->threadgroup[2] = z;
}

}  // namespace

int64_t dtype_size(int dtype) { return dtype == JROPE_FLOAT32 ? 4 : 2; }

std::string kernel_name(int dtype, bool traditional, uint32_t pairs_per_thread, bool index64) {
  const char *type = "bf16";
  if (dtype == JROPE_FLOAT32) {
    type = "f32";
  } else if (dtype == JROPE_FLOAT16) {
    type = "f16";
  }
  return std::string("rope_") + type + (traditional ? "_trad" : "_split") + "_v" +
         std::to_string(pairs_per_thread) + (index64 ? "_i64" : "_i32");
}

bool parse_call(const int64_t *call, RopeCall *out, std::string *error) {
  if (call == nullptr) {
    return fail(error, "call descriptor must not be null");
  }
  if (call[JROPE_SLOT_ABI_VERSION] != JROPE_ABI_VERSION) {
    return fail(error, format("call descriptor ABI version must be %lld, got %lld", JROPE_ABI_VERSION,
                              call[JROPE_SLOT_ABI_VERSION]));
  }

  RopeCall c;
  const int64_t dtype = call[JROPE_SLOT_DTYPE];
  if (dtype != JROPE_FLOAT32 && dtype != JROPE_FLOAT16 && dtype != JROPE_BFLOAT16) {
    return fail(error, format("dtype must be 0 (float32), 1 (float16) or 2 (bfloat16), got %lld", dtype));
  }
  c.dtype = static_cast<int>(dtype);

  c.batch = call[JROPE_SLOT_BATCH];
  c.heads = call[JROPE_SLOT_HEADS];
  c.tokens = call[JROPE_SLOT_TOKENS];
  c.features = call[JROPE_SLOT_FEATURES];
  if (c.batch < 0 || c.heads < 0 || c.tokens < 0 || c.features < 0) {
    return fail(error, format("B, H, T must be >= 0, got %lld, %lld, %lld", c.batch, c.heads, c.tokens) +
                           format(" and D=%lld", c.features));
  }

  c.dims = call[JROPE_SLOT_DIMS];
  if (c.dims < 2 || c.dims % 2 != 0 || c.dims > c.features) {
    return fail(error, format("dims must be even and in [2, D=%lld], got %lld", c.features, c.dims));
  }

  c.traditional = call[JROPE_SLOT_TRADITIONAL] != 0;
  c.inverse = call[JROPE_SLOT_INVERSE] != 0;
  for (int axis = 0; axis < 4; ++axis) {
    c.x_stride[axis] = call[JROPE_SLOT_X_STRIDE_BATCH + axis];
    c.out_stride[axis] = call[JROPE_SLOT_OUT_STRIDE_BATCH + axis];
  }
  if (!check_strides(c.x_stride, "x", error) || !check_strides(c.out_stride, "out", error)) {
    return false;
  }

  const int64_t mode = call[JROPE_SLOT_POSITION_MODE];
  if (mode != JROPE_POSITIONS_OFFSETS && mode != JROPE_POSITIONS_EXPLICIT) {
    return fail(error, format("position mode must be 0 (offsets) or 1 (explicit), got %lld", mode));
  }
  c.explicit_positions = mode == JROPE_POSITIONS_EXPLICIT;
  c.position_batch_stride = call[JROPE_SLOT_POSITION_BATCH_STRIDE];
  if (c.position_batch_stride < 0) {
    return fail(error, format("position batch stride must be >= 0, got %lld", c.position_batch_stride));
  }

  c.scale = __builtin_bit_cast(double, call[JROPE_SLOT_SCALE_BITS]);
  c.attention_factor = __builtin_bit_cast(double, call[JROPE_SLOT_ATTENTION_FACTOR_BITS]);
  if (!std::isfinite(c.scale)) {
    return fail(error, "scale must be finite, got " + std::to_string(c.scale));
  }
  if (!std::isfinite(c.attention_factor)) {
    return fail(error, "attention factor must be finite, got " + std::to_string(c.attention_factor));
  }
  *out = c;
  return true;
}

bool byte_extent(const RopeCall &call, const int64_t strides[4], int64_t *bytes) {
  const int64_t extents[4] = {call.batch, call.heads, call.tokens, call.features};
  int64_t last = 0;
  for (int axis = 0; axis < 4; ++axis) {
    if (extents[axis] == 0) {
      *bytes = 0;
      return true;
    }
    int64_t step;
    if (__builtin_mul_overflow(extents[axis] - 1, strides[axis], &step) ||
        __builtin_add_overflow(last, step, &last)) {
      return false;
    }
  }
  return !__builtin_add_overflow(last, int64_t{1}, &last) &&
         !__builtin_mul_overflow(last, dtype_size(call.dtype), bytes);
}

bool pair_turns(const double *inv_freq, int64_t pairs, double scale, float *out, std::string *error) {
  for (int64_t i = 0; i < pairs; ++i) {
    // scale * w exactly, as hi + lo.
    const double product = scale * inv_freq[i];
    if (!std::isfinite(product)) {
      return fail(error, "scale * inverse frequency must be finite, got " + std::to_string(scale) +
                             " * " + std::to_string(inv_freq[i]) + format(" at pair %lld", i));
    }
    const double product_lo = std::fma(scale, inv_freq[i], -product);

    // Times 1/(2 pi) in double-double.
    double hi = product * kInvTwoPiHi;
    double lo = std::fma(product, kInvTwoPiHi, -hi) + (product * kInvTwoPiLo + product_lo * kInvTwoPiHi);

    // Modulo 1, part by part: an integer number of turns per position step changes nothing
    // because positions are integers. Each subtraction of rint is exact.
    hi -= std::rint(hi);
    lo -= std::rint(lo);
    const double sum = hi + lo;
    lo = lo - (sum - hi);
    hi = sum - std::rint(sum);

    // Three floats: each takes the rounding remainder of the previous one.
    const float f0 = static_cast<float>(hi);
    const double rest = (hi - static_cast<double>(f0)) + lo;
    const float f1 = static_cast<float>(rest);
    const float f2 = static_cast<float>(rest - static_cast<double>(f1));
    out[4 * i + 0] = f0;
    out[4 * i + 1] = f1;
    out[4 * i + 2] = f2;
    out[4 * i + 3] = 0.0f;
  }
  return true;
}

bool plan_rope(const TensorRef *tensors, int count, const double *inv_freq, const DeviceLimits &limits,
               RopePlan *plan, std::string *error) {
  if (count != 1 && count != 2) {
    return fail(error, format("tensor count must be 1 or 2, got %lld", count));
  }
  if (limits.thread_execution_width == 0 || limits.max_threads_per_threadgroup == 0 ||
      limits.target_threads == 0) {
    return fail(error, format("device limits must be positive, got thread execution width %lld, max "
                              "threads per threadgroup %lld, target threads %lld",
                              limits.thread_execution_width, limits.max_threads_per_threadgroup,
                              static_cast<long long>(limits.target_threads)));
  }
  const RopeCall &q = *tensors[0].call;
  if (count == 2 && !same_shared_fields(q, *tensors[1].call, error)) {
    return false;
  }
  for (int i = 0; i < count; ++i) {
    const uintptr_t size = static_cast<uintptr_t>(dtype_size(tensors[i].call->dtype));
    if (tensors[i].x_address % size != 0 || tensors[i].out_address % size != 0) {
      return fail(error, format("x and out must be aligned to the element size of %lld bytes", size));
    }
  }
  *plan = RopePlan{};

  int64_t total_heads = 0;
  for (int i = 0; i < count; ++i) {
    total_heads += tensors[i].call->heads;
  }
  if (q.batch == 0 || q.tokens == 0 || q.features == 0 || total_heads == 0) {
    plan->empty = true;
    return true;
  }

  // Grid coordinates and heads are 32-bit in the kernel.
  if (q.tokens >= kUint32Limit || q.features >= kUint32Limit || total_heads >= kUint32Limit) {
    return fail(error, format("T=%lld, D=%lld and the total head count %lld must each be below 2^32",
                              q.tokens, q.features, total_heads));
  }

  // Element offsets: 32-bit while every offset of every tensor fits in uint.
  bool index64 = false;
  for (int i = 0; i < count; ++i) {
    const RopeCall &call = *tensors[i].call;
    for (const int64_t *strides : {call.x_stride, call.out_stride}) {
      int64_t bytes = 0;
      if (!byte_extent(call, strides, &bytes)) {
        return fail(error, "tensor extent overflows 64 bits; check the strides");
      }
      // The bind offset adds fewer than kBindAlignment elements.
      if (bytes / dtype_size(call.dtype) + static_cast<int64_t>(kBindAlignment) > kUint32Limit) {
        index64 = true;
      }
    }
  }

  // Two pairs per thread when every tensor allows vector access (see vector_friendly).
  const int64_t pairs = q.dims / 2;
  uint32_t per_thread = 1;
  if (pairs % 2 == 0) {
    const int64_t elements = q.traditional ? 4 : 2;
    bool vectors = true;
    for (int i = 0; i < count; ++i) {
      vectors = vectors && vector_friendly(tensors[i], elements);
    }
    per_thread = vectors ? 2 : 1;
  }

  // The tail is copied when some tensor is out of place and dims < D.
  bool any_copy = false;
  for (int i = 0; i < count; ++i) {
    const RopeCall &call = *tensors[i].call;
    const bool in_place = tensors[i].x_address == tensors[i].out_address &&
                          std::equal(call.x_stride, call.x_stride + 4, call.out_stride);
    plan->args.tensor[i].copy_tail = in_place ? 0 : 1;
    any_copy = any_copy || !in_place;
    for (int axis = 0; axis < 4; ++axis) {
      plan->args.tensor[i].in_stride[axis] = call.x_stride[axis];
      plan->args.tensor[i].out_stride[axis] = call.out_stride[axis];
    }
    plan->args.tensor[i].heads = static_cast<uint32_t>(call.heads);
    const int64_t size = dtype_size(call.dtype);
    plan->args.tensor[i].in_offset = static_cast<int64_t>(tensors[i].x_address % kBindAlignment) / size;
    plan->args.tensor[i].out_offset = static_cast<int64_t>(tensors[i].out_address % kBindAlignment) / size;
  }
  const int64_t tail = any_copy ? q.features - q.dims : 0;
  const int64_t pair_groups = pairs / per_thread;
  const int64_t tail_groups = (tail + kTailUnit - 1) / kTailUnit;

  // Heads per thread: as many as keep the grid at or above the target, so small calls spread over
  // threads and large calls reuse each cos/sin for many heads.
  const int64_t row_threads = pair_groups + tail_groups;
  const double one_head_threads = static_cast<double>(row_threads) * q.tokens * q.batch * total_heads;
  int64_t head_chunk = static_cast<int64_t>(one_head_threads / static_cast<double>(limits.target_threads));
  head_chunk = std::clamp<int64_t>(head_chunk, 1, total_heads);
  const int64_t head_chunks = (total_heads + head_chunk - 1) / head_chunk;
  head_chunk = (total_heads + head_chunks - 1) / head_chunks;  // even out the chunks

  int64_t grid_z = 0;
  if (__builtin_mul_overflow(q.batch, head_chunks, &grid_z) || grid_z >= kUint32Limit) {
    return fail(error, format("B=%lld times %lld head chunks must be below 2^32 threads along grid z",
                              q.batch, head_chunks));
  }

  plan->kernel = kernel_name(q.dtype, q.traditional, per_thread, index64);
  plan->pairs_per_thread = per_thread;
  plan->index64 = index64;
  plan->grid[0] = static_cast<uint64_t>(row_threads);
  plan->grid[1] = static_cast<uint64_t>(q.tokens);
  plan->grid[2] = static_cast<uint64_t>(grid_z);
  choose_threadgroup(limits, plan);

  RopeArgs &args = plan->args;
  args.position_batch_stride = q.position_batch_stride;
  args.tokens = static_cast<uint32_t>(q.tokens);
  args.pairs = static_cast<uint32_t>(pairs);
  args.features = static_cast<uint32_t>(q.features);
  args.pair_groups = static_cast<uint32_t>(pair_groups);
  args.tail_groups = static_cast<uint32_t>(tail_groups);
  args.tail_unit = kTailUnit;
  args.head_chunk = static_cast<uint32_t>(head_chunk);
  args.head_chunks = static_cast<uint32_t>(head_chunks);
  args.explicit_positions = q.explicit_positions ? 1 : 0;
  args.sin_sign = q.inverse ? -1.0f : 1.0f;
  // NOTE: the attention factor is rounded to float before it multiplies cos and sin, one more
  // rounding (at most half an ulp of the factor) than the double product of the CPU backends.
  args.attention_factor = static_cast<float>(q.attention_factor);
  if (!std::isfinite(args.attention_factor)) {
    return fail(error, "attention factor must fit float32, got " + std::to_string(q.attention_factor));
  }

  plan->position_count = (q.batch - 1) * q.position_batch_stride + (q.explicit_positions ? q.tokens : 1);
  plan->pair_turns.resize(static_cast<size_t>(4 * pairs));
  return pair_turns(inv_freq, pairs, q.scale, plan->pair_turns.data(), error);
}

int prepare_call(const int64_t *const *calls, const void *const *x, const void *const *out, int count,
                 const int64_t *positions, const double *inv_freq, const DeviceLimits &limits,
                 RopeCall *parsed, RopePlan *plan, std::string *error) {
  const char *const names[2] = {"q", "k"};
  TensorRef refs[2];
  for (int i = 0; i < count; ++i) {
    if (!parse_call(calls[i], &parsed[i], error)) {
      if (count == 2) {
        *error = std::string(names[i]) + ": " + *error;
      }
      return JROPE_ERROR_INVALID_ARGUMENT;
    }
    refs[i].call = &parsed[i];
    refs[i].x_address = reinterpret_cast<uintptr_t>(x[i]);
    refs[i].out_address = reinterpret_cast<uintptr_t>(out[i]);
  }
  int64_t heads = 0;
  for (int i = 0; i < count; ++i) {
    heads += parsed[i].heads;
  }
  const bool empty = heads == 0 || parsed[0].batch == 0 || parsed[0].tokens == 0;
  if (!empty) {
    for (int i = 0; i < count; ++i) {
      if (parsed[i].heads > 0 && (x[i] == nullptr || out[i] == nullptr)) {
        *error = std::string(count == 2 ? names[i] : "x") + " and its output must not be null";
        return JROPE_ERROR_INVALID_ARGUMENT;
      }
    }
    if (positions == nullptr || inv_freq == nullptr) {
      *error = "positions and inv_freq must not be null";
      return JROPE_ERROR_INVALID_ARGUMENT;
    }
  }
  if (!plan_rope(refs, count, inv_freq, limits, plan, error)) {
    return JROPE_ERROR_INVALID_ARGUMENT;
  }
  return JROPE_OK;
}

std::string describe(const RopePlan &plan) {
  if (plan.empty) {
    return "empty";
  }
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "kernel=%s grid=%llu,%llu,%llu threadgroup=%llu,%llu,%llu head_chunk=%u",
                plan.kernel.c_str(), static_cast<unsigned long long>(plan.grid[0]),
                static_cast<unsigned long long>(plan.grid[1]), static_cast<unsigned long long>(plan.grid[2]),
                static_cast<unsigned long long>(plan.threadgroup[0]),
                static_cast<unsigned long long>(plan.threadgroup[1]),
                static_cast<unsigned long long>(plan.threadgroup[2]), plan.args.head_chunk);
  return buffer;
}

}  // namespace jrope::metal
