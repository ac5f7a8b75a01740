#include "rope_plan.h"

#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <thread>

#include "jrope.h"
#include "thread_pool.h"

namespace jrope {
namespace {

// Both cos/sin tables of one unit together stay within this many bytes, so they sit in L1 while
// the unit walks every head. 32 KiB is the L1 data cache of most current x86-64 and arm64 cores.
constexpr int64_t kTableBytes = 32 * 1024;

// Calls that read and write fewer bytes than this run on the calling thread. NOTE: an estimate:
// waking a parked worker costs a few microseconds, about what one core needs to move 1 MiB.
constexpr int64_t kParallelMinBytes = 1 << 20;

// Units per thread for parallel calls, so that a slow thread does not leave the others idle.
constexpr int64_t kUnitsPerThread = 4;

// Out-of-place outputs of at least this many bytes use streaming stores, because an output this
// large leaves the caches before it is read again. NOTE: an estimate; tune with bench_native.
std::atomic<int64_t> streaming_min_bytes{8 << 20};

// Addresses beyond 2^62 bytes cannot come from a real allocation; the bound keeps every offset
// computation of the kernels far from int64 overflow.
constexpr int64_t kMaxSpanBytes = int64_t{1} << 62;

const char *const kSlotNames[JROPE_CALL_SLOTS] = {
    "JROPE_SLOT_ABI_VERSION",
    "JROPE_SLOT_DTYPE",
    "JROPE_SLOT_DIMS",
    "JROPE_SLOT_TRADITIONAL",
    "JROPE_SLOT_INVERSE",
    "JROPE_SLOT_BATCH",
    "JROPE_SLOT_HEADS",
    "JROPE_SLOT_TOKENS",
    "JROPE_SLOT_FEATURES",
    "JROPE_SLOT_X_STRIDE_BATCH",
    "JROPE_SLOT_X_STRIDE_HEAD",
    "JROPE_SLOT_X_STRIDE_TOKEN",
    "JROPE_SLOT_X_STRIDE_FEATURE",
    "JROPE_SLOT_OUT_STRIDE_BATCH",
    "JROPE_SLOT_OUT_STRIDE_HEAD",
    "JROPE_SLOT_OUT_STRIDE_TOKEN",
    "JROPE_SLOT_OUT_STRIDE_FEATURE",
    "JROPE_SLOT_POSITION_MODE",
    "JROPE_SLOT_POSITION_BATCH_STRIDE",
    "JROPE_SLOT_SCALE_BITS",
    "JROPE_SLOT_ATTENTION_FACTOR_BITS",
    "JROPE_SLOT_THREADS",
};

// Formats "<slot> is <value>, but <rule>" into the error buffer and returns false.
bool reject_slot(char *error, size_t capacity, int slot, int64_t value, const char *rule) {
  std::snprintf(error, capacity, "%s is %" PRId64 ", but %s", kSlotNames[slot], value, rule);
  return false;
}

bool reject(char *error, size_t capacity, const char *message) {
  std::snprintf(error, capacity, "%s", message);
  return false;
}

double double_from_bits(int64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Returns false if sum over axes of (extent - 1) * stride * element bytes exceeds kMaxSpanBytes.
bool span_fits(const int64_t extent[4], const int64_t stride[4], int64_t element_bytes) {
  int64_t span = 0;
  for (int axis = 0; axis < 4; ++axis) {
    int64_t axis_span;
    if (__builtin_mul_overflow(extent[axis] - 1, stride[axis], &axis_span) ||
        __builtin_mul_overflow(axis_span, element_bytes, &axis_span) ||
        __builtin_add_overflow(span, axis_span, &span) || span > kMaxSpanBytes) {
      return false;
    }
  }
  return true;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

size_t element_size(Dtype dtype) { return dtype == Dtype::kFloat32 ? 4 : 2; }

int resolve_threads(int64_t requested) {
  if (requested > 0) {
    return static_cast<int>(requested);
  }
  // Cached because glibc reads /sys on every hardware_concurrency call, which costs microseconds.
  static const unsigned hardware = std::thread::hardware_concurrency();
  if (hardware == 0) {
    return 1;
  }
  return hardware > static_cast<unsigned>(kMaxThreads) ? kMaxThreads : static_cast<int>(hardware);
}

bool is_empty(const RopeCall &call) {
  return call.batch == 0 || call.heads == 0 || call.tokens == 0 || call.features == 0;
}

bool parse_call(const int64_t *slots, void *x, void *out, const int64_t *positions,
                const double *inv_freq, RopeCall *call, char *error, size_t capacity) {
  if (slots == nullptr) {
    return reject(error, capacity, "call descriptor is null; pass an array of JROPE_CALL_SLOTS int64 values");
  }
  if (slots[JROPE_SLOT_ABI_VERSION] != JROPE_ABI_VERSION) {
    return reject_slot(error, capacity, JROPE_SLOT_ABI_VERSION, slots[JROPE_SLOT_ABI_VERSION],
                       "this library implements ABI version 1; load the libjrope built with this jar");
  }
  const int64_t dtype = slots[JROPE_SLOT_DTYPE];
  if (dtype < JROPE_FLOAT32 || dtype > JROPE_BFLOAT16) {
    return reject_slot(error, capacity, JROPE_SLOT_DTYPE, dtype,
                       "dtype must be 0 (float32), 1 (float16) or 2 (bfloat16)");
  }
  for (int slot : {JROPE_SLOT_TRADITIONAL, JROPE_SLOT_INVERSE}) {
    if (slots[slot] != 0 && slots[slot] != 1) {
      return reject_slot(error, capacity, slot, slots[slot], "it must be 0 or 1");
    }
  }
  for (int slot = JROPE_SLOT_BATCH; slot <= JROPE_SLOT_FEATURES; ++slot) {
    if (slots[slot] < 0) {
      return reject_slot(error, capacity, slot, slots[slot], "extents must be >= 0");
    }
  }
  const int64_t features = slots[JROPE_SLOT_FEATURES];
  const int64_t dims = slots[JROPE_SLOT_DIMS];
  if (dims < 2 || dims > features || dims % 2 != 0) {
    char rule[128];
    std::snprintf(rule, sizeof rule, "dims must be even and in [2, D = %" PRId64 "]", features);
    return reject_slot(error, capacity, JROPE_SLOT_DIMS, dims, rule);
  }
  for (int slot = JROPE_SLOT_X_STRIDE_BATCH; slot <= JROPE_SLOT_OUT_STRIDE_FEATURE; ++slot) {
    if (slots[slot] < 0) {
      return reject_slot(error, capacity, slot, slots[slot], "strides must be >= 0");
    }
  }
  const int64_t mode = slots[JROPE_SLOT_POSITION_MODE];
  if (mode != JROPE_POSITIONS_OFFSETS && mode != JROPE_POSITIONS_EXPLICIT) {
    return reject_slot(error, capacity, JROPE_SLOT_POSITION_MODE, mode,
                       "it must be 0 (JROPE_POSITIONS_OFFSETS) or 1 (JROPE_POSITIONS_EXPLICIT)");
  }
  if (slots[JROPE_SLOT_POSITION_BATCH_STRIDE] < 0) {
    return reject_slot(error, capacity, JROPE_SLOT_POSITION_BATCH_STRIDE,
                       slots[JROPE_SLOT_POSITION_BATCH_STRIDE], "it must be >= 0");
  }
  const double scale = double_from_bits(slots[JROPE_SLOT_SCALE_BITS]);
  if (!std::isfinite(scale)) {
    return reject_slot(error, capacity, JROPE_SLOT_SCALE_BITS, slots[JROPE_SLOT_SCALE_BITS],
                       "the bits must encode a finite double scale");
  }
  const double attention_factor = double_from_bits(slots[JROPE_SLOT_ATTENTION_FACTOR_BITS]);
  if (!std::isfinite(attention_factor)) {
    return reject_slot(error, capacity, JROPE_SLOT_ATTENTION_FACTOR_BITS,
                       slots[JROPE_SLOT_ATTENTION_FACTOR_BITS],
                       "the bits must encode a finite double attention factor");
  }
  const int64_t threads = slots[JROPE_SLOT_THREADS];
  if (threads < 0 || threads > kMaxThreads) {
    return reject_slot(error, capacity, JROPE_SLOT_THREADS, threads,
                       "threads must be in [0, 256], where 0 means the hardware concurrency");
  }

  RopeCall &c = *call;
  c.dtype = static_cast<Dtype>(dtype);
  c.dims = dims;
  c.half = dims / 2;
  c.traditional = slots[JROPE_SLOT_TRADITIONAL] == 1;
  c.inverse = slots[JROPE_SLOT_INVERSE] == 1;
  c.batch = slots[JROPE_SLOT_BATCH];
  c.heads = slots[JROPE_SLOT_HEADS];
  c.tokens = slots[JROPE_SLOT_TOKENS];
  c.features = features;
  for (int axis = 0; axis < 4; ++axis) {
    c.x_stride[axis] = slots[JROPE_SLOT_X_STRIDE_BATCH + axis];
    c.out_stride[axis] = slots[JROPE_SLOT_OUT_STRIDE_BATCH + axis];
  }
  c.explicit_positions = mode == JROPE_POSITIONS_EXPLICIT;
  c.position_batch_stride = slots[JROPE_SLOT_POSITION_BATCH_STRIDE];
  c.scale = scale;
  c.attention_factor = attention_factor;
  c.threads = resolve_threads(threads);
  c.x = static_cast<const unsigned char *>(x);
  c.out = static_cast<unsigned char *>(out);
  c.positions = positions;
  c.inv_freq = inv_freq;
  c.in_place = x == out && std::memcmp(c.x_stride, c.out_stride, sizeof c.x_stride) == 0;
  if (is_empty(c)) {
    return true;
  }

  if (x == nullptr || out == nullptr || positions == nullptr || inv_freq == nullptr) {
    char message[160];
    std::snprintf(message, sizeof message,
                  "x, out, positions and inv_freq must be non-null for a non-empty tensor, got "
                  "x=%p out=%p positions=%p inv_freq=%p",
                  x, out, static_cast<const void *>(positions), static_cast<const void *>(inv_freq));
    return reject(error, capacity, message);
  }
  const int64_t extent[4] = {c.batch, c.heads, c.tokens, c.features};
  const int64_t bytes = static_cast<int64_t>(element_size(c.dtype));
  if (!span_fits(extent, c.x_stride, bytes) || !span_fits(extent, c.out_stride, bytes)) {
    return reject(error, capacity, "shape and strides of x or out span more than 2^62 bytes");
  }
  int64_t position_span;
  if (__builtin_mul_overflow(c.batch - 1, c.position_batch_stride, &position_span) ||
      __builtin_add_overflow(position_span, c.tokens, &position_span) ||
      position_span > kMaxSpanBytes / 8) {
    return reject_slot(error, capacity, JROPE_SLOT_POSITION_BATCH_STRIDE, c.position_batch_stride,
                       "the positions it addresses span more than 2^62 bytes");
  }
  return true;
}

void set_streaming_min_bytes(int64_t bytes) { streaming_min_bytes.store(bytes); }

RopePlan make_plan(const RopeCall &call) {
  RopePlan plan{};
  const int64_t bytes = static_cast<int64_t>(element_size(call.dtype));
  plan.table_stride = call.traditional ? call.dims : call.half;
  plan.contiguous_features = call.x_stride[kFeature] == 1 && call.out_stride[kFeature] == 1;
  plan.tokens_outer = call.out_stride[kHead] < call.out_stride[kToken];

  const int64_t rows = call.batch * call.heads * call.tokens;
  const int64_t moved_bytes = rows * call.dims * bytes * 2;
  plan.threads = moved_bytes >= kParallelMinBytes ? call.threads : 1;

  int64_t token_block = kTableBytes / (2 * 4 * plan.table_stride);
  token_block = token_block < 1 ? 1 : token_block;
  token_block = token_block > call.tokens ? call.tokens : token_block;
  int64_t head_chunk = call.heads;
  if (plan.threads > 1) {
    // Cut tokens finer, then heads, until there are enough units to balance the threads.
    const int64_t target_units = kUnitsPerThread * plan.threads;
    if (call.batch * ceil_div(call.tokens, token_block) < target_units) {
      token_block = ceil_div(call.tokens, ceil_div(target_units, call.batch));
    }
    const int64_t token_units = call.batch * ceil_div(call.tokens, token_block);
    if (token_units < target_units) {
      head_chunk = ceil_div(call.heads, ceil_div(target_units, token_units));
    }
  }
  plan.token_block = token_block;
  plan.head_chunk = head_chunk;
  plan.token_blocks = ceil_div(call.tokens, token_block);
  plan.head_chunks = ceil_div(call.heads, head_chunk);
  plan.units = call.batch * plan.token_blocks * plan.head_chunks;
  plan.scratch_floats = 2 * plan.token_block * plan.table_stride + 2 * call.half;

  // Streaming stores need every vector store aligned to its size, at most 64 bytes. Partial
  // rotation would mix them with ordinary stores in the same lines, so it keeps normal stores.
  bool aligned = reinterpret_cast<uintptr_t>(call.out) % 64 == 0 &&
                 (plan.table_stride * bytes) % 64 == 0;
  const int64_t extent[3] = {call.batch, call.heads, call.tokens};
  for (int axis = 0; axis < 3; ++axis) {
    aligned = aligned && (extent[axis] == 1 || (call.out_stride[axis] * bytes) % 64 == 0);
  }
  plan.streaming_stores = !call.in_place && plan.contiguous_features && call.dims == call.features &&
                          aligned && rows * call.features * bytes >= streaming_min_bytes.load();
  return plan;
}

}  // namespace jrope
