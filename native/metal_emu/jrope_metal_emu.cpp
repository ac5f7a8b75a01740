// libjrope_metal_emu: the Metal shim's C ABI with the GPU replaced by the C++ build of
// shaders/rope.metal, run over an emulated grid on the calling thread.
//
// Planning and argument packing are the real host's (native/metal/rope_plan.cpp); what differs is
// memory: the emulator reads and writes the caller's memory directly, where the Metal shim wraps or
// copies it into MTLBuffers.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "emu_grid.h"
#include "emu_kernels.h"
#include "jrope.h"
#include "jrope_metal_emu.h"
#include "rope_plan.h"

namespace {

using jrope::metal::DeviceLimits;
using jrope::metal::RopeCall;
using jrope::metal::RopePlan;
namespace emu = jrope::metal::emu;

// Apple silicon's page size, so that buffers behave like the ones Metal wraps without a copy.
constexpr int64_t kPageBytes = 16384;

thread_local std::string last_error;

std::atomic<uint32_t> width{32};
std::atomic<uint32_t> max_threads{1024};
std::atomic<uint64_t> target_threads{65536};
std::atomic<int> schedule{0};

std::mutex buffers_mutex;
std::set<void *> *buffers = new std::set<void *>;  // never destroyed: may be used at exit

int32_t fail(int32_t status, std::string message) {
  last_error = std::move(message);
  return status;
}

DeviceLimits current_limits() {
  DeviceLimits limits;
  limits.thread_execution_width = width.load();
  limits.max_threads_per_threadgroup = max_threads.load();
  limits.target_threads = target_threads.load();
  return limits;
}

// Memory as the GPU would see it: the caller's when element-aligned, else an aligned copy (the
// Metal shim copies such tensors into a new MTLBuffer and back in the same way).
class DeviceView {
 public:
  DeviceView(void *host, int64_t bytes, int64_t element_size) : host_(host), bytes_(bytes) {
    if (reinterpret_cast<uintptr_t>(host) % static_cast<uintptr_t>(element_size) == 0) {
      device_ = host;
      return;
    }
    copy_ = static_cast<unsigned char *>(std::aligned_alloc(16, static_cast<std::size_t>((bytes + 15) / 16 * 16)));
    if (copy_ != nullptr) {
      std::memcpy(copy_, host, static_cast<std::size_t>(bytes));
    }
    device_ = copy_;
  }
  DeviceView(const DeviceView &) = delete;
  DeviceView &operator=(const DeviceView &) = delete;
  ~DeviceView() { std::free(copy_); }

  void *device() const { return device_; }
  // Copies the device bytes back to the caller's memory (after a successful run).
  void write_back() const {
    if (copy_ != nullptr) {
      std::memcpy(host_, copy_, static_cast<std::size_t>(bytes_));
    }
  }

 private:
  void *host_;
  int64_t bytes_;
  void *device_ = nullptr;
  unsigned char *copy_ = nullptr;
};

int32_t rope(const int64_t *const *calls, void *const *x, void *const *out, int count, const int64_t *positions,
             const double *inv_freq) {
  last_error.clear();
  RopeCall parsed[2];
  std::string error;
  for (int i = 0; i < count; ++i) {
    if (!jrope::metal::parse_call(calls[i], &parsed[i], &error)) {
      const char *prefix = "";
      if (count != 1) {
        prefix = i == 0 ? "q: " : "k: ";
      }
      return fail(JROPE_ERROR_INVALID_ARGUMENT, prefix + error);
    }
  }

  // x and out of each tensor, as device memory; in place shares one view.
  std::unique_ptr<DeviceView> views[2][2];
  void *device_x[2] = {nullptr, nullptr};
  void *device_out[2] = {nullptr, nullptr};
  for (int i = 0; i < count; ++i) {
    int64_t x_bytes = 0;
    int64_t out_bytes = 0;
    if (!jrope::metal::byte_extent(parsed[i], parsed[i].x_stride, &x_bytes) ||
        !jrope::metal::byte_extent(parsed[i], parsed[i].out_stride, &out_bytes)) {
      return fail(JROPE_ERROR_INVALID_ARGUMENT, "tensor extent overflows 64 bits; check the strides");
    }
    const int64_t size = jrope::metal::dtype_size(parsed[i].dtype);
    if (x[i] == nullptr || out[i] == nullptr || x_bytes == 0) {
      device_x[i] = x[i];
      device_out[i] = out[i];
      continue;
    }
    views[i][0] = std::make_unique<DeviceView>(x[i], x_bytes, size);
    device_x[i] = views[i][0]->device();
    if (out[i] == x[i]) {
      device_out[i] = device_x[i];
    } else {
      views[i][1] = std::make_unique<DeviceView>(out[i], out_bytes, size);
      device_out[i] = views[i][1]->device();
    }
    if (device_x[i] == nullptr || device_out[i] == nullptr) {
      return fail(JROPE_ERROR_INTERNAL, "allocating an aligned copy of a misaligned tensor failed");
    }
  }

  RopePlan plan;
  const DeviceLimits limits = current_limits();
  const void *planned_x[2] = {device_x[0], device_x[1]};
  const void *planned_out[2] = {device_out[0], device_out[1]};
  const int status = jrope::metal::prepare_call(calls, planned_x, planned_out, count, positions, inv_freq, limits,
                                                parsed, &plan, &error);
  if (status != JROPE_OK) {
    return fail(status, error);
  }
  if (plan.empty) {
    return JROPE_OK;
  }

  const emu::Kernel *kernel = emu::find_kernel(plan.kernel.c_str());
  if (kernel == nullptr) {
    return fail(JROPE_ERROR_INTERNAL, "no kernel named " + plan.kernel + " in shaders/rope.metal");
  }
  // Buffers are bound at 16-byte aligned addresses, the rest is in the arguments (bind_address).
  // Unused k buffers are bound to q's, as the Metal shim binds them.
  auto bound = [](void *address) {
    return reinterpret_cast<void *>(jrope::metal::bind_address(reinterpret_cast<uintptr_t>(address)));
  };
  const int k = count == 2 ? 1 : 0;
  const emu::Schedule order = schedule.load() == 0 ? emu::Schedule::kForward : emu::Schedule::kReverse;
  const bool launched = kernel->dispatch(plan, bound(device_x[0]), bound(device_out[0]), bound(device_x[k]),
                                         bound(device_out[k]), positions, limits.max_threads_per_threadgroup,
                                         order, &error);
  if (!launched) {
    return fail(JROPE_ERROR_INTERNAL, error + " (" + jrope::metal::describe(plan) + ")");
  }
  for (int i = 0; i < count; ++i) {
    const DeviceView *written = views[i][1] ? views[i][1].get() : views[i][0].get();
    if (written != nullptr) {
      written->write_back();
    }
  }
  return JROPE_OK;
}

}  // namespace

extern "C" {

int32_t jrope_metal_abi_version(void) { return JROPE_METAL_ABI_VERSION; }

const char *jrope_metal_unavailable_reason(void) { return nullptr; }

const char *jrope_metal_device_name(void) {
  return emu::native_bfloat() ? "Metal emulator (shaders/rope.metal as C++ on the CPU)"
                              : "Metal emulator (shaders/rope.metal as C++ on the CPU, bfloat16 as ushort bits)";
}

const char *jrope_metal_last_error(void) { return last_error.c_str(); }

int32_t jrope_metal_rope(const int64_t *call, void *x, void *out, const int64_t *positions,
                         const double *inv_freq) {
  const int64_t *calls[1] = {call};
  void *xs[1] = {x};
  void *outs[1] = {out};
  return rope(calls, xs, outs, 1, positions, inv_freq);
}

int32_t jrope_metal_rope_qk(const int64_t *q_call, void *q, void *q_out, const int64_t *k_call, void *k,
                            void *k_out, const int64_t *positions, const double *inv_freq) {
  const int64_t *calls[2] = {q_call, k_call};
  void *xs[2] = {q, k};
  void *outs[2] = {q_out, k_out};
  return rope(calls, xs, outs, 2, positions, inv_freq);
}

int32_t jrope_metal_describe_plan(const int64_t *call, const void *x, const void *out, char *text,
                                  int64_t capacity) {
  last_error.clear();
  if (text == nullptr || capacity < 1) {
    return fail(JROPE_ERROR_INVALID_ARGUMENT, "text must not be null and capacity must be >= 1");
  }
  RopeCall parsed[1];
  RopePlan plan;
  std::string error;
  // Planning needs inverse frequencies only for their values, which do not shape the dispatch.
  RopeCall probe;
  if (!jrope::metal::parse_call(call, &probe, &error)) {
    return fail(JROPE_ERROR_INVALID_ARGUMENT, error);
  }
  const std::size_t pairs = static_cast<std::size_t>(probe.dims / 2);
  const std::vector<double> frequencies(pairs, 0.0);
  const int64_t position = 0;
  const int64_t *calls[1] = {call};
  const void *xs[1] = {x};
  const void *outs[1] = {out};
  const int status = jrope::metal::prepare_call(calls, xs, outs, 1, &position, frequencies.data(), current_limits(),
                                                parsed, &plan, &error);
  if (status != JROPE_OK) {
    return fail(status, error);
  }
  const std::string line = jrope::metal::describe(plan);
  const std::size_t length = std::min<std::size_t>(line.size(), static_cast<std::size_t>(capacity - 1));
  std::memcpy(text, line.data(), length);
  text[length] = '\0';
  return JROPE_OK;
}

void *jrope_metal_buffer_alloc(int64_t bytes) {
  last_error.clear();
  if (bytes <= 0 || bytes > (int64_t{1} << 40)) {
    fail(JROPE_ERROR_INVALID_ARGUMENT, "bytes must be in [1, 2^40], got " + std::to_string(bytes));
    return nullptr;
  }
  const int64_t rounded = (bytes + kPageBytes - 1) / kPageBytes * kPageBytes;
  void *memory = std::aligned_alloc(kPageBytes, static_cast<std::size_t>(rounded));
  if (memory == nullptr) {
    fail(JROPE_ERROR_INTERNAL, "allocating " + std::to_string(rounded) + " bytes failed");
    return nullptr;
  }
  std::memset(memory, 0, static_cast<std::size_t>(rounded));
  std::lock_guard<std::mutex> lock(buffers_mutex);
  buffers->insert(memory);
  return memory;
}

int32_t jrope_metal_buffer_free(void *contents) {
  last_error.clear();
  {
    std::lock_guard<std::mutex> lock(buffers_mutex);
    if (buffers->erase(contents) == 0) {
      return fail(JROPE_ERROR_INVALID_ARGUMENT, "contents is not a live buffer from jrope_metal_buffer_alloc");
    }
  }
  std::free(contents);
  return JROPE_OK;
}

int32_t jrope_metal_emu_configure(int32_t thread_execution_width, int32_t max_threads_per_threadgroup,
                                  int64_t target, int32_t order) {
  last_error.clear();
  if (thread_execution_width < 1 || max_threads_per_threadgroup < thread_execution_width || target < 1 ||
      (order != 0 && order != 1)) {
    return fail(JROPE_ERROR_INVALID_ARGUMENT,
                "need thread_execution_width >= 1, max_threads_per_threadgroup >= thread_execution_width, "
                "target_threads >= 1 and schedule 0 or 1, got " +
                    std::to_string(thread_execution_width) + ", " + std::to_string(max_threads_per_threadgroup) +
                    ", " + std::to_string(target) + ", " + std::to_string(order));
  }
  width = static_cast<uint32_t>(thread_execution_width);
  max_threads = static_cast<uint32_t>(max_threads_per_threadgroup);
  target_threads = static_cast<uint64_t>(target);
  schedule = order;
  return JROPE_OK;
}

}  // extern "C"
