/*
 * Entry points of libjrope_metal_emu beyond the shared Metal ABI (native/metal/jrope_metal.h): the
 * emulated device limits and the order in which emulated threads run.
 */
#ifndef JROPE_METAL_EMU_H
#define JROPE_METAL_EMU_H

#include <stdint.h>

#include "jrope_metal.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Sets what the emulated pipeline reports (threadExecutionWidth, maxTotalThreadsPerThreadgroup),
 * the planner's target grid size, and the schedule: 0 runs threadgroups and their threads in
 * increasing order, 1 in decreasing order. Applies to later calls of every thread. Defaults: 32,
 * 1024, 65536, 0. Returns a status code.
 */
JROPE_METAL_API int32_t jrope_metal_emu_configure(int32_t thread_execution_width,
                                                  int32_t max_threads_per_threadgroup,
                                                  int64_t target_threads, int32_t schedule);

#ifdef __cplusplus
}
#endif

#endif /* JROPE_METAL_EMU_H */
