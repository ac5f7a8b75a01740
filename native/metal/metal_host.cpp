// libjrope_metal: the C ABI of jrope_metal.h on a Metal device, through Apple's metal-cpp.
//
// Built on macOS only (native/metal/jrope_metal.cmake). Off Apple hardware,
// scripts/check-metal-host.sh syntax-checks this file against real metal-cpp headers.
//
// Memory: x and out are bound without a copy when they lie inside memory from
// jrope_metal_buffer_alloc (shared MTLBuffers that Java wraps as MemorySegments). Memory that starts
// on a page boundary is wrapped with newBufferWithBytesNoCopy. Any other tensor is copied into a new
// shared buffer, and outputs are copied back after the command buffer completes.
#define NS_PRIVATE_IMPLEMENTATION
#define MTL_PRIVATE_IMPLEMENTATION
#include <Foundation/Foundation.hpp>
#include <Metal/Metal.hpp>

#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "jrope.h"
#include "jrope_metal.h"
#include "rope_metal_source.h"  // kRopeMetalSource: shaders/rope.metal, embedded by CMake
#include "rope_plan.h"

namespace {

using jrope::metal::DeviceLimits;
using jrope::metal::RopeCall;
using jrope::metal::RopePlan;

// NOTE: an estimate of the threads an Apple GPU keeps in flight, because Metal reports no core
// count. It only sets how many heads each thread takes and is untuned until measured on a Mac.
constexpr uint64_t kTargetThreads = 65536;

// setBytes is documented for data up to 4 KiB; larger arrays go into a buffer.
constexpr size_t kMaxInlineBytes = 4096;

thread_local std::string last_error;

int32_t fail(int32_t status, std::string message) {
  last_error = std::move(message);
  return status;
}

// Creates and drains an autorelease pool: JVM threads have none, so every entry point needs one.
class PoolScope {
 public:
  PoolScope() : pool_(NS::AutoreleasePool::alloc()->init()) {}
  PoolScope(const PoolScope &) = delete;
  PoolScope &operator=(const PoolScope &) = delete;
  ~PoolScope() { pool_->release(); }

 private:
  NS::AutoreleasePool *pool_;
};

std::string error_text(const char *what, const NS::Error *error) {
  if (error == nullptr || error->localizedDescription() == nullptr) {
    return std::string(what) + " (Metal gave no error object)";
  }
  return std::string(what) + ": " + error->localizedDescription()->utf8String();
}

// Process-wide Metal state. The mutex serialises command submission, the pipeline cache and the
// buffer registry.
struct Gpu {
  std::mutex mutex;
  MTL::Device *device = nullptr;
  MTL::CommandQueue *queue = nullptr;
  MTL::Library *library = nullptr;
  std::string unavailable;  // empty when usable
  std::string name;
  std::unordered_map<std::string, MTL::ComputePipelineState *> pipelines;
  std::map<uintptr_t, MTL::Buffer *> buffers;  // contents address -> buffer from jrope_metal_buffer_alloc
};

void open_device(Gpu &gpu) {
  PoolScope pool;
  MTL::Device *device = MTL::CreateSystemDefaultDevice();
  if (device == nullptr) {
    // Since macOS 14 the default device can be null in command-line processes such as a JVM
    // started over ssh; the device list still has it.
    NS::Array *all = MTL::CopyAllDevices();
    if (all != nullptr) {
      if (all->count() > 0) {
        device = all->object<MTL::Device>(0);
        device->retain();
      }
      all->release();
    }
  }
  if (device == nullptr) {
    gpu.unavailable = "no Metal device: MTLCreateSystemDefaultDevice returned null and MTLCopyAllDevices "
                      "listed none (virtual machines and some sandboxed processes have no GPU)";
    return;
  }
  gpu.name = device->name() != nullptr ? device->name()->utf8String() : "unnamed Metal device";
  if (!device->supportsFamily(MTL::GPUFamilyApple7)) {
    gpu.unavailable = "Metal device '" + gpu.name +
                      "' is not Apple silicon (needs GPU family Apple7, M1 or newer; virtual machines "
                      "expose a reduced device)";
    device->release();
    return;
  }

  MTL::CommandQueue *queue = device->newCommandQueue();
  if (queue == nullptr) {
    gpu.unavailable = "Metal device '" + gpu.name + "' could not create a command queue";
    device->release();
    return;
  }

  // Fast math would let the compiler reassociate the error-free sums of the angle computation and
  // use approximate trigonometry.
  // NOTE: fastMathEnabled is deprecated from macOS 15 in favour of mathMode, which this metal-cpp
  // release (macOS 14.2) does not declare.
  MTL::CompileOptions *options = MTL::CompileOptions::alloc()->init();
  options->setFastMathEnabled(false);
  NS::Error *error = nullptr;
  MTL::Library *library =
      device->newLibrary(NS::String::string(kRopeMetalSource, NS::UTF8StringEncoding), options, &error);
  options->release();
  if (library == nullptr) {
    gpu.unavailable = error_text("compiling shaders/rope.metal failed", error);
    queue->release();
    device->release();
    return;
  }
  gpu.device = device;
  gpu.queue = queue;
  gpu.library = library;
}

// The state, opened on first use. Never destroyed: Java may call in while the process exits.
Gpu &gpu() {
  static Gpu *state = new Gpu;
  static std::once_flag opened;
  std::call_once(opened, [] { open_device(*state); });
  return *state;
}

// Returns the cached pipeline of kernel `name`; call with gpu.mutex held.
MTL::ComputePipelineState *pipeline(Gpu &gpu, const std::string &name, std::string *error) {
  auto found = gpu.pipelines.find(name);
  if (found != gpu.pipelines.end()) {
    return found->second;
  }
  MTL::Function *function = gpu.library->newFunction(NS::String::string(name.c_str(), NS::UTF8StringEncoding));
  if (function == nullptr) {
    *error = "kernel " + name + " not found in shaders/rope.metal";
    return nullptr;
  }
  NS::Error *failure = nullptr;
  MTL::ComputePipelineState *state = gpu.device->newComputePipelineState(function, &failure);
  function->release();
  if (state == nullptr) {
    *error = error_text(("creating the pipeline of " + name + " failed").c_str(), failure);
    return nullptr;
  }
  gpu.pipelines.emplace(name, state);
  return state;
}

// A tensor's memory as a buffer binding. `address` is where element (0,0,0,0) lies in the memory the
// GPU reads, which the planner uses for alignment and bind offsets.
struct Binding {
  MTL::Buffer *buffer = nullptr;
  bool owned = false;       // released after the call
  uintptr_t address = 0;
  NS::UInteger offset = 0;  // of bind_address(address) inside buffer
  void *copy_back = nullptr;
  size_t copy_bytes = 0;

  Binding() = default;
  Binding(const Binding &) = delete;
  Binding &operator=(const Binding &) = delete;
  ~Binding() {
    if (owned && buffer != nullptr) {
      buffer->release();
    }
  }
};

// Binds `bytes` of host memory at `host`; call with gpu.mutex held.
bool bind(Gpu &gpu, void *host, int64_t bytes, int64_t element_size, bool output, Binding *binding,
          std::string *error) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(host);
  const bool element_aligned = address % static_cast<uintptr_t>(element_size) == 0;

  // 1. Inside a buffer from jrope_metal_buffer_alloc: no copy.
  auto above = gpu.buffers.upper_bound(address);
  if (element_aligned && above != gpu.buffers.begin()) {
    const auto &[start, buffer] = *std::prev(above);
    if (address + static_cast<uintptr_t>(bytes) <= start + buffer->length()) {
      binding->buffer = buffer;
      binding->address = address;
      binding->offset = jrope::metal::bind_address(address) - start;
      return true;
    }
  }

  // 2. Page-aligned memory: wrapped without a copy. The length is rounded up to whole pages, which
  // are mapped because the last byte's page is.
  const uintptr_t page = static_cast<uintptr_t>(getpagesize());
  if (address % page == 0) {
    const NS::UInteger length = (static_cast<NS::UInteger>(bytes) + page - 1) / page * page;
    MTL::Buffer *wrapped = gpu.device->newBuffer(host, length, MTL::ResourceStorageModeShared, nullptr);
    if (wrapped != nullptr) {
      binding->buffer = wrapped;
      binding->owned = true;
      binding->address = address;
      return true;
    }
  }

  // 3. Anything else: copied into a new shared buffer at the same offset modulo 16, so that vector
  // alignment is the caller's, and copied back for outputs.
  // NOTE: bytes between a strided output's elements are copied back too; a concurrent write to
  // them from another thread during the call would be lost.
  const uintptr_t shift = element_aligned ? address % jrope::metal::kBindAlignment : 0;
  MTL::Buffer *copy = gpu.device->newBuffer(static_cast<NS::UInteger>(bytes) + shift, MTL::ResourceStorageModeShared);
  if (copy == nullptr) {
    *error = "allocating a " + std::to_string(bytes) + "-byte Metal buffer for a copy failed";
    return false;
  }
  std::memcpy(static_cast<unsigned char *>(copy->contents()) + shift, host, static_cast<size_t>(bytes));
  binding->buffer = copy;
  binding->owned = true;
  binding->address = reinterpret_cast<uintptr_t>(copy->contents()) + shift;
  if (output) {
    binding->copy_back = host;
    binding->copy_bytes = static_cast<size_t>(bytes);
  }
  return true;
}

// Sets a small array inline, or a larger one from a new buffer kept in `keep`.
bool set_array(Gpu &gpu, MTL::ComputeCommandEncoder *encoder, const void *data, size_t bytes, NS::UInteger index,
               Binding *keep, std::string *error) {
  if (bytes <= kMaxInlineBytes) {
    encoder->setBytes(data, bytes, index);
    return true;
  }
  keep->buffer = gpu.device->newBuffer(data, bytes, MTL::ResourceStorageModeShared);
  keep->owned = true;
  if (keep->buffer == nullptr) {
    *error = "allocating a " + std::to_string(bytes) + "-byte Metal buffer failed";
    return false;
  }
  encoder->setBuffer(keep->buffer, 0, index);
  return true;
}

int32_t rope(const int64_t *const *calls, void *const *x, void *const *out, int count, const int64_t *positions,
             const double *inv_freq) {
  last_error.clear();
  PoolScope pool;
  Gpu &state = gpu();
  if (!state.unavailable.empty()) {
    return fail(JROPE_ERROR_INTERNAL, "Metal is not available: " + state.unavailable);
  }

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

  std::lock_guard<std::mutex> lock(state.mutex);

  // Memory first: the plan depends on the addresses the GPU reads.
  Binding bindings[2][2];
  const void *device_x[2] = {nullptr, nullptr};
  const void *device_out[2] = {nullptr, nullptr};
  for (int i = 0; i < count; ++i) {
    int64_t x_bytes = 0;
    int64_t out_bytes = 0;
    if (!jrope::metal::byte_extent(parsed[i], parsed[i].x_stride, &x_bytes) ||
        !jrope::metal::byte_extent(parsed[i], parsed[i].out_stride, &out_bytes)) {
      return fail(JROPE_ERROR_INVALID_ARGUMENT, "tensor extent overflows 64 bits; check the strides");
    }
    if (x[i] == nullptr || out[i] == nullptr || x_bytes == 0) {
      device_x[i] = x[i];
      device_out[i] = out[i];
      continue;
    }
    const int64_t size = jrope::metal::dtype_size(parsed[i].dtype);
    const bool in_place = x[i] == out[i];
    if (!bind(state, x[i], x_bytes, size, in_place, &bindings[i][0], &error) ||
        (!in_place && !bind(state, out[i], out_bytes, size, true, &bindings[i][1], &error))) {
      return fail(JROPE_ERROR_INTERNAL, error);
    }
    device_x[i] = reinterpret_cast<const void *>(bindings[i][0].address);
    device_out[i] = reinterpret_cast<const void *>(in_place ? bindings[i][0].address : bindings[i][1].address);
  }

  // Plan with default limits for the kernel name, then again with the pipeline's own limits.
  RopePlan plan;
  int status = jrope::metal::prepare_call(calls, device_x, device_out, count, positions, inv_freq, DeviceLimits{},
                                          parsed, &plan, &error);
  if (status != JROPE_OK) {
    return fail(status, error);
  }
  if (plan.empty) {
    return JROPE_OK;
  }
  MTL::ComputePipelineState *kernel = pipeline(state, plan.kernel, &error);
  if (kernel == nullptr) {
    return fail(JROPE_ERROR_INTERNAL, error);
  }
  DeviceLimits limits;
  limits.thread_execution_width = static_cast<uint32_t>(kernel->threadExecutionWidth());
  limits.max_threads_per_threadgroup = static_cast<uint32_t>(kernel->maxTotalThreadsPerThreadgroup());
  limits.target_threads = kTargetThreads;
  status = jrope::metal::prepare_call(calls, device_x, device_out, count, positions, inv_freq, limits, parsed, &plan,
                                      &error);
  if (status != JROPE_OK) {
    return fail(status, error);
  }

  MTL::CommandBuffer *commands = state.queue->commandBuffer();
  MTL::ComputeCommandEncoder *encoder = commands != nullptr ? commands->computeCommandEncoder() : nullptr;
  if (encoder == nullptr) {
    return fail(JROPE_ERROR_INTERNAL, "creating a Metal command buffer or compute encoder failed");
  }
  encoder->setComputePipelineState(kernel);
  encoder->setBytes(&plan.args, sizeof plan.args, 0);
  // Buffers 1-4: q in/out, k in/out; a single-tensor call binds q's buffers for k as well.
  for (int i = 0; i < 2; ++i) {
    const int tensor = i < count ? i : 0;
    const Binding &in = bindings[tensor][0];
    const Binding &output = bindings[tensor][1].buffer != nullptr ? bindings[tensor][1] : bindings[tensor][0];
    encoder->setBuffer(in.buffer, in.offset, static_cast<NS::UInteger>(1 + 2 * i));
    encoder->setBuffer(output.buffer, output.offset, static_cast<NS::UInteger>(2 + 2 * i));
  }
  Binding positions_buffer;
  Binding turns_buffer;
  if (!set_array(state, encoder, positions, static_cast<size_t>(plan.position_count) * sizeof(int64_t), 5,
                 &positions_buffer, &error) ||
      !set_array(state, encoder, plan.pair_turns.data(), plan.pair_turns.size() * sizeof(float), 6, &turns_buffer,
                 &error)) {
    encoder->endEncoding();
    return fail(JROPE_ERROR_INTERNAL, error);
  }
  encoder->dispatchThreads(MTL::Size(plan.grid[0], plan.grid[1], plan.grid[2]),
                           MTL::Size(plan.threadgroup[0], plan.threadgroup[1], plan.threadgroup[2]));
  encoder->endEncoding();
  commands->commit();
  // Status and error are final only after the wait.
  commands->waitUntilCompleted();
  if (commands->status() != MTL::CommandBufferStatusCompleted) {
    return fail(JROPE_ERROR_INTERNAL,
                error_text(("Metal command buffer failed (" + jrope::metal::describe(plan) + ")").c_str(),
                           commands->error()));
  }

  for (auto &tensor : bindings) {
    for (const Binding &binding : tensor) {
      if (binding.copy_back != nullptr) {
        std::memcpy(binding.copy_back,
                    reinterpret_cast<const void *>(binding.address), binding.copy_bytes);
      }
    }
  }
  return JROPE_OK;
}

// Runs an entry point body, turning C++ exceptions (std::bad_alloc) into a status.
template <typename Body>
int32_t guarded(Body &&body) {
  try {
    return body();
  } catch (const std::exception &e) {
    return fail(JROPE_ERROR_INTERNAL, std::string("Metal shim failed: ") + e.what());
  } catch (...) {
    return fail(JROPE_ERROR_INTERNAL, "Metal shim failed with an unknown exception");
  }
}

}  // namespace

extern "C" {

int32_t jrope_metal_abi_version(void) { return JROPE_METAL_ABI_VERSION; }

const char *jrope_metal_unavailable_reason(void) {
  const Gpu &state = gpu();
  return state.unavailable.empty() ? nullptr : state.unavailable.c_str();
}

const char *jrope_metal_device_name(void) { return gpu().name.c_str(); }

const char *jrope_metal_last_error(void) { return last_error.c_str(); }

int32_t jrope_metal_rope(const int64_t *call, void *x, void *out, const int64_t *positions,
                         const double *inv_freq) {
  return guarded([&] {
    const int64_t *calls[1] = {call};
    void *xs[1] = {x};
    void *outs[1] = {out};
    return rope(calls, xs, outs, 1, positions, inv_freq);
  });
}

int32_t jrope_metal_rope_qk(const int64_t *q_call, void *q, void *q_out, const int64_t *k_call, void *k,
                            void *k_out, const int64_t *positions, const double *inv_freq) {
  return guarded([&] {
    const int64_t *calls[2] = {q_call, k_call};
    void *xs[2] = {q, k};
    void *outs[2] = {q_out, k_out};
    return rope(calls, xs, outs, 2, positions, inv_freq);
  });
}

int32_t jrope_metal_describe_plan(const int64_t *call, const void *x, const void *out, char *text,
                                  int64_t capacity) {
  return guarded([&]() -> int32_t {
    last_error.clear();
    if (text == nullptr || capacity < 1) {
      return fail(JROPE_ERROR_INVALID_ARGUMENT, "text must not be null and capacity must be >= 1");
    }
    RopeCall parsed[1];
    std::string error;
    if (!jrope::metal::parse_call(call, &parsed[0], &error)) {
      return fail(JROPE_ERROR_INVALID_ARGUMENT, error);
    }
    // NOTE: described with the planner's default limits; the dispatch uses the pipeline's.
    const std::vector<double> frequencies(static_cast<size_t>(parsed[0].dims / 2), 0.0);
    const int64_t position = 0;
    const int64_t *calls[1] = {call};
    const void *xs[1] = {x};
    const void *outs[1] = {out};
    RopePlan plan;
    const int status = jrope::metal::prepare_call(calls, xs, outs, 1, &position,
                                                  frequencies.data(), DeviceLimits{},
                                                  parsed, &plan, &error);
    if (status != JROPE_OK) {
      return fail(status, error);
    }
    const std::string line = jrope::metal::describe(plan);
    const size_t length = line.size() < static_cast<size_t>(capacity - 1) ? line.size() : static_cast<size_t>(capacity - 1);
    std::memcpy(text, line.data(), length);
    text[length] = '\0';
    return JROPE_OK;
  });
}

void *jrope_metal_buffer_alloc(int64_t bytes) {
  void *contents = nullptr;
  guarded([&]() -> int32_t {
    last_error.clear();
    PoolScope pool;
    Gpu &state = gpu();
    if (!state.unavailable.empty()) {
      return fail(JROPE_ERROR_INTERNAL, "Metal is not available: " + state.unavailable);
    }
    if (bytes <= 0 || static_cast<uint64_t>(bytes) > state.device->maxBufferLength()) {
      return fail(JROPE_ERROR_INVALID_ARGUMENT, "bytes must be in [1, " + std::to_string(state.device->maxBufferLength()) +
                                                    "] (the device's maxBufferLength), got " + std::to_string(bytes));
    }
    MTL::Buffer *buffer = state.device->newBuffer(static_cast<NS::UInteger>(bytes), MTL::ResourceStorageModeShared);
    if (buffer == nullptr) {
      return fail(JROPE_ERROR_INTERNAL, "allocating a " + std::to_string(bytes) + "-byte Metal buffer failed");
    }
    std::lock_guard<std::mutex> lock(state.mutex);
    contents = buffer->contents();
    state.buffers.emplace(reinterpret_cast<uintptr_t>(contents), buffer);
    return JROPE_OK;
  });
  return contents;
}

int32_t jrope_metal_buffer_free(void *contents) {
  return guarded([&]() -> int32_t {
    last_error.clear();
    PoolScope pool;
    Gpu &state = gpu();
    std::lock_guard<std::mutex> lock(state.mutex);
    auto found = state.buffers.find(reinterpret_cast<uintptr_t>(contents));
    if (found == state.buffers.end()) {
      return fail(JROPE_ERROR_INVALID_ARGUMENT, "contents is not a live buffer from jrope_metal_buffer_alloc");
    }
    found->second->release();
    state.buffers.erase(found);
    return JROPE_OK;
  });
}

}  // extern "C"
