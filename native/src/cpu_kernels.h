// Selection of the CPU kernel variant.
#ifndef JROPE_CPU_KERNELS_H
#define JROPE_CPU_KERNELS_H

#include "rope_call.h"

namespace jrope {

namespace generic {
extern const CpuKernel kKernel;
}
#if defined(JROPE_X86_VARIANTS)
namespace avx2 {
extern const CpuKernel kKernel;
}
namespace avx512 {
extern const CpuKernel kKernel;
}
#endif

// Returns the kernel in use. On first use it is the best variant this CPU supports, or the one
// named by the environment variable JROPE_CPU_KERNEL (generic, avx2, avx512) if the CPU
// supports it.
const CpuKernel &active_cpu_kernel();

// Makes the named variant active for later calls; returns false, changing nothing, if the name
// is unknown or the CPU lacks the instructions. For tests and benchmarks.
bool select_cpu_kernel(const char *name);

}  // namespace jrope

#endif  // JROPE_CPU_KERNELS_H
