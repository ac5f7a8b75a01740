// shaders/rope.metal compiled as C++ through shaders/compat/metal_stdlib.
//
// Standard headers come first: the compat header defines device, constant, thread and threadgroup
// as empty macros, which metal_stdlib_undef.h removes again after the kernel source.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "emu_kernels.h"

#include "../../shaders/rope.metal"
#include "metal_stdlib_undef.h"

namespace jrope::metal::emu {
namespace {

// The kernel's argument structs must have the host's layout field by field, not only in size.
#define JROPE_SAME_OFFSET(TYPE, FIELD)                                                    \
  static_assert(offsetof(::TYPE, FIELD) == offsetof(jrope::metal::TYPE, FIELD),          \
                "offset of " #TYPE "::" #FIELD " differs between kernel and host");
JROPE_SAME_OFFSET(RopeTensorArgs, in_stride)
JROPE_SAME_OFFSET(RopeTensorArgs, out_stride)
JROPE_SAME_OFFSET(RopeTensorArgs, in_offset)
JROPE_SAME_OFFSET(RopeTensorArgs, out_offset)
JROPE_SAME_OFFSET(RopeTensorArgs, heads)
JROPE_SAME_OFFSET(RopeTensorArgs, copy_tail)
JROPE_SAME_OFFSET(RopeArgs, tensor)
JROPE_SAME_OFFSET(RopeArgs, position_batch_stride)
JROPE_SAME_OFFSET(RopeArgs, tokens)
JROPE_SAME_OFFSET(RopeArgs, pairs)
JROPE_SAME_OFFSET(RopeArgs, features)
JROPE_SAME_OFFSET(RopeArgs, pair_groups)
JROPE_SAME_OFFSET(RopeArgs, tail_groups)
JROPE_SAME_OFFSET(RopeArgs, tail_unit)
JROPE_SAME_OFFSET(RopeArgs, head_chunk)
JROPE_SAME_OFFSET(RopeArgs, head_chunks)
JROPE_SAME_OFFSET(RopeArgs, explicit_positions)
JROPE_SAME_OFFSET(RopeArgs, sin_sign)
JROPE_SAME_OFFSET(RopeArgs, attention_factor)
JROPE_SAME_OFFSET(RopeArgs, reserved)
static_assert(sizeof(::RopeArgs) == sizeof(jrope::metal::RopeArgs), "RopeArgs size differs");
static_assert(sizeof(float4) == 16, "pair_turns are 16-byte float4");
#undef JROPE_SAME_OFFSET

template <typename S, bool TRADITIONAL, uint V, typename I>
bool dispatch(const jrope::metal::RopePlan &plan, const void *q_in, void *q_out, const void *k_in, void *k_out,
              const int64_t *positions, uint64_t max_threads, Schedule order, std::string *error) {
  // The kernel reads the host struct's bytes as its own struct, as setBytes passes them.
  ::RopeArgs args;
  std::memcpy(&args, &plan.args, sizeof args);
  const float4 *turns = reinterpret_cast<const float4 *>(plan.pair_turns.data());
  return run_grid(
      plan.grid, plan.threadgroup, max_threads, order,
      [&](uint32_t x, uint32_t y, uint32_t z) {
        const uint3 gid = {x, y, z};
        rope<S, TRADITIONAL, V, I>(args, static_cast<const S *>(q_in), static_cast<S *>(q_out),
                                   static_cast<const S *>(k_in), static_cast<S *>(k_out),
                                   reinterpret_cast<const long *>(positions), turns, gid);
      },
      error);
}

#define JROPE_EMU_ENTRY(NAME, S, TRADITIONAL, V, I) {#NAME, &dispatch<S, TRADITIONAL, V, I>},
const Kernel kKernels[] = {JROPE_ROPE_INSTANCES(JROPE_EMU_ENTRY)};
#undef JROPE_EMU_ENTRY

}  // namespace

const Kernel *find_kernel(const char *name) {
  for (const Kernel &kernel : kKernels) {
    if (std::strcmp(kernel.name, name) == 0) {
      return &kernel;
    }
  }
  return nullptr;
}

const Kernel *kernels(int *count) {
  *count = static_cast<int>(sizeof kKernels / sizeof kKernels[0]);
  return kKernels;
}

bool native_bfloat() { return JROPE_NATIVE_BFLOAT != 0; }

}  // namespace jrope::metal::emu
