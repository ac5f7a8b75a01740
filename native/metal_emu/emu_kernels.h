// The kernels of shaders/rope.metal compiled as C++ (emu_kernels.cpp), callable by name for one
// thread of the grid at a time.
#ifndef JROPE_METAL_EMU_KERNELS_H
#define JROPE_METAL_EMU_KERNELS_H

#include <cstdint>

#include "emu_grid.h"
#include "rope_plan.h"

namespace jrope::metal::emu {

// Runs `plan` over its grid in `order`: the kernel's buffers 1 to 6 are q_in, q_out, k_in, k_out,
// positions and the plan's pair turns. Returns false with *error if Metal would reject the dispatch.
using Dispatch = bool (*)(const RopePlan &plan, const void *q_in, void *q_out, const void *k_in, void *k_out,
                          const int64_t *positions, uint64_t max_threads, Schedule order, std::string *error);

struct Kernel {
  const char *name;  // the [[host_name]] of the Metal instance
  Dispatch dispatch;
};

// Returns the kernel called `name`, or nullptr.
const Kernel *find_kernel(const char *name);

// Every instance, in the order of JROPE_ROPE_INSTANCES.
const Kernel *kernels(int *count);

// True when the bfloat16 kernels use Metal's bfloat type (the compat struct), false for the
// ushort bit-pattern fallback of Metal before 3.1.
bool native_bfloat();

}  // namespace jrope::metal::emu

#endif  // JROPE_METAL_EMU_KERNELS_H
