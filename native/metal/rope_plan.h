// Dispatch planning for the Metal RoPE kernels (shaders/rope.metal), in portable C++.
//
// Shared by the Metal host shim (Apple only) and the C++ emulator (any clang), so that the grid,
// the threadgroup shape, the kernel variant and the packed arguments the emulator tests are the
// ones the GPU receives. Nothing here touches Metal.
#ifndef JROPE_METAL_ROPE_PLAN_H
#define JROPE_METAL_ROPE_PLAN_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace jrope::metal {

// ---- Kernel arguments: byte for byte struct RopeArgs of shaders/rope.metal ----

struct RopeTensorArgs {
  int64_t in_stride[4];  // batch, head, token, feature; elements
  int64_t out_stride[4];
  int64_t in_offset;     // elements from the bound address (see bind_address) to element (0,0,0,0)
  int64_t out_offset;
  uint32_t heads;
  uint32_t copy_tail;
};

struct RopeArgs {
  RopeTensorArgs tensor[2];
  int64_t position_batch_stride;
  uint32_t tokens;
  uint32_t pairs;
  uint32_t features;
  uint32_t pair_groups;
  uint32_t tail_groups;
  uint32_t tail_unit;
  uint32_t head_chunk;
  uint32_t head_chunks;
  uint32_t explicit_positions;
  float sin_sign;
  float attention_factor;
  uint32_t reserved;
};

static_assert(sizeof(RopeTensorArgs) == 88, "must match shaders/rope.metal");
static_assert(offsetof(RopeTensorArgs, out_stride) == 32, "must match shaders/rope.metal");
static_assert(offsetof(RopeTensorArgs, in_offset) == 64, "must match shaders/rope.metal");
static_assert(offsetof(RopeTensorArgs, heads) == 80, "must match shaders/rope.metal");
static_assert(offsetof(RopeTensorArgs, copy_tail) == 84, "must match shaders/rope.metal");
static_assert(sizeof(RopeArgs) == 232, "must match shaders/rope.metal");
static_assert(offsetof(RopeArgs, position_batch_stride) == 176, "must match shaders/rope.metal");
static_assert(offsetof(RopeArgs, tokens) == 184, "must match shaders/rope.metal");
static_assert(offsetof(RopeArgs, head_chunks) == 212, "must match shaders/rope.metal");
static_assert(offsetof(RopeArgs, sin_sign) == 220, "must match shaders/rope.metal");
static_assert(offsetof(RopeArgs, attention_factor) == 224, "must match shaders/rope.metal");

// Buffers are bound at addresses aligned to this many bytes (Metal wants device buffer offsets
// aligned to the largest type the kernel reads, here a 16-byte float4).
constexpr uintptr_t kBindAlignment = 16;

// The address a tensor starting at `address` is bound at; the kernel adds the difference.
inline uintptr_t bind_address(uintptr_t address) { return address - address % kBindAlignment; }

// ---- Inputs ----

// One jrope_rope call descriptor (native/include/jrope.h), validated.
struct RopeCall {
  int dtype = 0;  // JROPE_FLOAT32, JROPE_FLOAT16 or JROPE_BFLOAT16
  int64_t dims = 0;
  bool traditional = false;
  bool inverse = false;
  int64_t batch = 0, heads = 0, tokens = 0, features = 0;
  int64_t x_stride[4] = {0, 0, 0, 0};
  int64_t out_stride[4] = {0, 0, 0, 0};
  bool explicit_positions = false;
  int64_t position_batch_stride = 0;
  double scale = 1.0;
  double attention_factor = 1.0;
};

// Limits the pipeline and the device report. target_threads is the grid size below which the
// planner stops giving threads more heads: an estimate of the threads the GPU keeps in flight.
struct DeviceLimits {
  uint32_t thread_execution_width = 32;
  uint32_t max_threads_per_threadgroup = 1024;
  uint64_t target_threads = 65536;
};

// One tensor of a call: the descriptor and the addresses of element (0,0,0,0) of x and out in the
// memory the GPU reads, each a multiple of the element size. They set the alignment-dependent
// choices and the bind offsets, and are never dereferenced.
struct TensorRef {
  const RopeCall *call = nullptr;
  uintptr_t x_address = 0;
  uintptr_t out_address = 0;
};

// ---- Output ----

struct RopePlan {
  bool empty = false;          // some extent is 0: nothing to dispatch
  std::string kernel;          // e.g. "rope_f32_split_v2_i32"
  uint32_t pairs_per_thread = 1;
  bool index64 = false;
  uint64_t grid[3] = {0, 0, 0};
  uint64_t threadgroup[3] = {1, 1, 1};
  RopeArgs args{};
  std::vector<float> pair_turns;  // 4 floats per pair: f split in three floats, then 0
  int64_t position_count = 0;     // int64 values the kernel may read from `positions`
};

// Elements per tail thread: features dims..D-1 copied out of place.
constexpr uint32_t kTailUnit = 4;

// Reads and validates a descriptor of JROPE_CALL_SLOTS values. On failure returns false and sets
// *error to a message naming the slot, the value and the valid range.
bool parse_call(const int64_t *call, RopeCall *out, std::string *error);

// Plans one dispatch over `count` tensors (1, or 2 for q and k sharing positions). For two, every
// field but heads and strides must match. Returns false with *error on invalid input.
bool plan_rope(const TensorRef *tensors, int count, const double *inv_freq, const DeviceLimits &limits,
               RopePlan *plan, std::string *error);

// Fills 4 floats per pair: f_i = scale * inv_freq[i] / (2 pi) modulo 1, as the unevaluated sum of
// three floats, computed in double-double arithmetic. Returns false if scale * inv_freq[i] is not
// finite.
bool pair_turns(const double *inv_freq, int64_t pairs, double scale, float *out, std::string *error);

// Bytes from element (0,0,0,0) to one past the last element reached with `strides`
// (0 for an empty tensor). Returns false on 64-bit overflow.
bool byte_extent(const RopeCall &call, const int64_t strides[4], int64_t *bytes);

// Parses `count` descriptors (1, or 2 for q and k), checks the pointers and plans the dispatch: the
// first step of every entry point of the Metal shim and of the emulator. Returns 0 (JROPE_OK), or
// JROPE_ERROR_INVALID_ARGUMENT with *error.
int prepare_call(const int64_t *const *calls, const void *const *x, const void *const *out, int count,
                 const int64_t *positions, const double *inv_freq, const DeviceLimits &limits,
                 RopeCall *parsed, RopePlan *plan, std::string *error);

// One line for logs and tests: "kernel=... grid=x,y,z threadgroup=x,y,z head_chunk=n".
std::string describe(const RopePlan &plan);

// Bytes per element of a dtype code.
int64_t dtype_size(int dtype);

// Kernel name for a dtype code, pairing, pairs per thread and index width.
std::string kernel_name(int dtype, bool traditional, uint32_t pairs_per_thread, bool index64);

}  // namespace jrope::metal

#endif  // JROPE_METAL_ROPE_PLAN_H
