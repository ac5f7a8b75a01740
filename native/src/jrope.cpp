// The C ABI: validation, planning and dispatch. No C++ exception leaves these functions.
#include "jrope.h"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "cpu_kernels.h"
#include "rope_plan.h"
#include "thread_pool.h"

namespace jrope {
namespace {

// A fixed buffer, so that reporting an out-of-memory error cannot itself allocate.
thread_local char last_error[512];

int32_t fail(int32_t status, const char *message) {
  std::snprintf(last_error, sizeof last_error, "%s", message);
  return status;
}

// The cos/sin tables of the calling thread, reused across calls so a decode step allocates
// nothing after the first call.
float *thread_scratch(int64_t floats) {
  thread_local std::vector<float> scratch;
  if (static_cast<int64_t>(scratch.size()) < floats) {
    scratch.resize(static_cast<size_t>(floats));
  }
  return scratch.data();
}

struct RopeJob {
  const RopeCall *call;
  const RopePlan *plan;
  const CpuKernel *kernel;
  std::atomic<bool> out_of_memory{false};
};

void run_rope_unit(void *context, int64_t unit) {
  RopeJob &job = *static_cast<RopeJob *>(context);
  try {
    float *scratch = thread_scratch(job.plan->scratch_floats);
    job.kernel->rotate_unit(*job.call, *job.plan, unit, scratch);
  } catch (const std::bad_alloc &) {
    job.out_of_memory.store(true);
  }
}

// Bytes per unit of jrope_parallel_copy, about what one unit of a large jrope_rope call writes
// (64 tokens of 32 heads of 128 float32 features).
constexpr int64_t kCopyUnitBytes = 1 << 20;

struct CopyJob {
  unsigned char *dst;
  const unsigned char *src;
  int64_t bytes;
};

void run_copy_unit(void *context, int64_t unit) {
  const CopyJob &job = *static_cast<const CopyJob *>(context);
  const int64_t begin = unit * kCopyUnitBytes;
  const int64_t size = job.bytes - begin < kCopyUnitBytes ? job.bytes - begin : kCopyUnitBytes;
  std::memcpy(job.dst + begin, job.src + begin, static_cast<size_t>(size));
}

int32_t rope(const int64_t *slots, void *x, void *out, const int64_t *positions,
             const double *inv_freq) {
  RopeCall call;
  char error[sizeof last_error];
  if (!parse_call(slots, x, out, positions, inv_freq, &call, error, sizeof error)) {
    return fail(JROPE_ERROR_INVALID_ARGUMENT, error);
  }
  if (is_empty(call)) {
    return JROPE_OK;
  }

  const RopePlan plan = make_plan(call);
  RopeJob job;
  job.call = &call;
  job.plan = &plan;
  job.kernel = &active_cpu_kernel();
  ThreadPool::instance().run(plan.threads, plan.units, &run_rope_unit, &job);

  if (job.out_of_memory.load()) {
    char message[160];
    std::snprintf(message, sizeof message,
                  "out of memory allocating the cos/sin tables (%" PRId64 " bytes per thread)",
                  plan.scratch_floats * static_cast<int64_t>(sizeof(float)));
    return fail(JROPE_ERROR_INTERNAL, message);
  }
  return JROPE_OK;
}

int32_t parallel_copy(void *dst, const void *src, int64_t bytes, int32_t threads) {
  char message[160];
  if (bytes < 0) {
    std::snprintf(message, sizeof message, "bytes is %" PRId64 ", but it must be >= 0", bytes);
    return fail(JROPE_ERROR_INVALID_ARGUMENT, message);
  }
  if (threads < 0 || threads > kMaxThreads) {
    std::snprintf(message, sizeof message,
                  "threads is %d, but it must be in [0, 256], where 0 means the hardware concurrency",
                  threads);
    return fail(JROPE_ERROR_INVALID_ARGUMENT, message);
  }
  if (bytes == 0) {
    return JROPE_OK;
  }
  if (dst == nullptr || src == nullptr) {
    return fail(JROPE_ERROR_INVALID_ARGUMENT, "dst and src must be non-null when bytes > 0");
  }

  CopyJob job{static_cast<unsigned char *>(dst), static_cast<const unsigned char *>(src), bytes};
  const int64_t units = (bytes + kCopyUnitBytes - 1) / kCopyUnitBytes;
  ThreadPool::instance().run(resolve_threads(threads), units, &run_copy_unit, &job);
  return JROPE_OK;
}

}  // namespace
}  // namespace jrope

extern "C" {

int32_t jrope_rope(const int64_t *call, void *x, void *out, const int64_t *positions,
                   const double *inv_freq) {
  jrope::last_error[0] = '\0';
  try {
    return jrope::rope(call, x, out, positions, inv_freq);
  } catch (const std::bad_alloc &) {
    return jrope::fail(JROPE_ERROR_INTERNAL, "out of memory in jrope_rope");
  } catch (...) {
    return jrope::fail(JROPE_ERROR_INTERNAL, "unexpected C++ exception in jrope_rope");
  }
}

const char *jrope_last_error(void) { return jrope::last_error; }

int32_t jrope_abi_version(void) { return JROPE_ABI_VERSION; }

const char *jrope_cpu_kernel(void) { return jrope::active_cpu_kernel().name; }

int32_t jrope_default_threads(void) { return jrope::resolve_threads(0); }

int32_t jrope_parallel_copy(void *dst, const void *src, int64_t bytes, int32_t threads) {
  jrope::last_error[0] = '\0';
  try {
    return jrope::parallel_copy(dst, src, bytes, threads);
  } catch (const std::bad_alloc &) {
    return jrope::fail(JROPE_ERROR_INTERNAL, "out of memory in jrope_parallel_copy");
  } catch (...) {
    return jrope::fail(JROPE_ERROR_INTERNAL, "unexpected C++ exception in jrope_parallel_copy");
  }
}

}  // extern "C"
