#include "cpu_kernels.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(JROPE_X86_VARIANTS)
#include <cpuid.h>
#endif

namespace jrope {
namespace {

#if defined(JROPE_X86_VARIANTS)
// F16C is CPUID leaf 1, ECX bit 29. Read directly because clang 16's __builtin_cpu_supports does
// not know "f16c"; the AVX checks that go with it cover the OS support for YMM state.
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
}
#endif

const CpuKernel *supported_kernel(const char *name) {
#if defined(JROPE_X86_VARIANTS)
  // AVX-512 needs F, BW, DQ and VL because the variant is built with all four.
  if (std::strcmp(name, "avx512") == 0) {
    const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                           __builtin_cpu_supports("fma") && cpu_has_f16c();
    return supported ? &avx512::kKernel : nullptr;
  }
  if (std::strcmp(name, "avx2") == 0) {
    const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    return supported ? &avx2::kKernel : nullptr;
  }
#endif
  if (std::strcmp(name, "generic") == 0) {
    return &generic::kKernel;
  }
  return nullptr;
}

const CpuKernel *best_kernel() {
  const char *requested = std::getenv("JROPE_CPU_KERNEL");
  if (requested != nullptr && supported_kernel(requested) != nullptr) {
    return supported_kernel(requested);
  }
  for (const char *name : {"avx512", "avx2"}) {
    if (const CpuKernel *kernel = supported_kernel(name)) {
      return kernel;
    }
  }
  return &generic::kKernel;
}

std::atomic<const CpuKernel *> active{nullptr};

}  // namespace

const CpuKernel &active_cpu_kernel() {
  const CpuKernel *kernel = active.load(std::memory_order_acquire);
  if (kernel == nullptr) {
    // Concurrent first calls compute the same kernel, so the race is harmless.
    kernel = best_kernel();
    active.store(kernel, std::memory_order_release);
  }
  return *kernel;
}

bool select_cpu_kernel(const char *name) {
  const CpuKernel *kernel = supported_kernel(name);
  if (kernel == nullptr) {
    return false;
  }
  active.store(kernel, std::memory_order_release);
  return true;
}

}  // namespace jrope
