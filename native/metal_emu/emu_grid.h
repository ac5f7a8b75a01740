// An emulated dispatchThreads: threadgroups over a 3-D grid, partial at the edges, with threads run
// one after another in a chosen order.
//
// The RoPE kernels use neither threadgroup memory nor barriers, so each thread runs to completion
// before the next one starts; running the grid in both orders exposes a result that depends on the
// order in which threads write (overlapping outputs, or a read after another thread's write).
#ifndef JROPE_METAL_EMU_GRID_H
#define JROPE_METAL_EMU_GRID_H

#include <cstdint>
#include <string>

namespace jrope::metal::emu {

enum class Schedule : int {
  kForward = 0,  // threadgroups and the threads inside them in increasing order
  kReverse = 1,  // both in decreasing order
};

// Calls thread(x, y, z) for every position of `grid`, grouped by `threadgroup`. Returns false with
// *error if the shape is one Metal would reject (an extent of 0 in the threadgroup, more than
// max_threads threads per group, or a grid extent of 2^32 or more).
template <typename Thread>
bool run_grid(const uint64_t grid[3], const uint64_t threadgroup[3], uint64_t max_threads, Schedule order,
              Thread &&thread, std::string *error) {
  for (int axis = 0; axis < 3; ++axis) {
    if (threadgroup[axis] == 0 || grid[axis] >= (uint64_t{1} << 32)) {
      *error = "invalid dispatch: threadgroup extent 0 or grid extent >= 2^32 on axis " + std::to_string(axis);
      return false;
    }
  }
  if (threadgroup[0] * threadgroup[1] * threadgroup[2] > max_threads) {
    *error = "invalid dispatch: threadgroup of " +
             std::to_string(threadgroup[0] * threadgroup[1] * threadgroup[2]) +
             " threads exceeds the maximum " + std::to_string(max_threads);
    return false;
  }

  uint64_t groups[3];
  for (int axis = 0; axis < 3; ++axis) {
    groups[axis] = (grid[axis] + threadgroup[axis] - 1) / threadgroup[axis];
  }
  const uint64_t group_count = groups[0] * groups[1] * groups[2];
  const uint64_t group_size = threadgroup[0] * threadgroup[1] * threadgroup[2];
  for (uint64_t g = 0; g < group_count; ++g) {
    const uint64_t group = order == Schedule::kForward ? g : group_count - 1 - g;
    const uint64_t gx = group % groups[0];
    const uint64_t gy = (group / groups[0]) % groups[1];
    const uint64_t gz = group / (groups[0] * groups[1]);
    for (uint64_t l = 0; l < group_size; ++l) {
      const uint64_t local = order == Schedule::kForward ? l : group_size - 1 - l;
      const uint64_t x = gx * threadgroup[0] + local % threadgroup[0];
      const uint64_t y = gy * threadgroup[1] + (local / threadgroup[0]) % threadgroup[1];
      const uint64_t z = gz * threadgroup[2] + local / (threadgroup[0] * threadgroup[1]);
      // Partial edge threadgroups: positions outside the grid are not launched.
      if (x < grid[0] && y < grid[1] && z < grid[2]) {
        thread(static_cast<uint32_t>(x), static_cast<uint32_t>(y), static_cast<uint32_t>(z));
      }
    }
  }
  return true;
}

}  // namespace jrope::metal::emu

#endif  // JROPE_METAL_EMU_GRID_H
