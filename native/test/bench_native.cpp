// Benchmark of jrope_rope against jrope_parallel_copy of the same bytes.
//
// Memory bandwidth of shared machines drifts within seconds, so each sample times the kernel and
// the copy back to back. The report is the median of the per-pair ratios copy time / kernel time,
// where 1.0 means the kernel moves its bytes as fast as the copy.
//
// Usage: bench_native [--pairs N] [--dtype 0|1|2] [--kernel generic|avx2|avx512] [--no-streaming]
// (dtype codes: 0 float32, 1 float16, 2 bfloat16)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "cpu_kernels.h"
#include "jrope.h"
#include "rope_plan.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// 64-byte aligned, zero-initialised memory, as a Java arena would hand out.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t bytes) : data(static_cast<unsigned char *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64))) {
    std::memset(data, 0, bytes);
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  unsigned char *data;
};

const char *dtype_name(int dtype) {
  if (dtype == JROPE_FLOAT32) {
    return "float32";
  }
  if (dtype == JROPE_FLOAT16) {
    return "float16";
  }
  return "bfloat16";
}

std::vector<int64_t> contiguous_descriptor(int dtype, const int64_t extent[4], int threads) {
  std::vector<int64_t> slots(JROPE_CALL_SLOTS, 0);
  slots[JROPE_SLOT_ABI_VERSION] = JROPE_ABI_VERSION;
  slots[JROPE_SLOT_DTYPE] = dtype;
  slots[JROPE_SLOT_DIMS] = extent[3];
  int64_t stride = 1;
  for (int axis = 3; axis >= 0; --axis) {
    slots[JROPE_SLOT_BATCH + axis] = extent[axis];
    slots[JROPE_SLOT_X_STRIDE_BATCH + axis] = stride;
    slots[JROPE_SLOT_OUT_STRIDE_BATCH + axis] = stride;
    stride *= extent[axis];
  }
  slots[JROPE_SLOT_POSITION_MODE] = JROPE_POSITIONS_OFFSETS;
  const double unit_factor = 1.0;  // scale and attention factor
  std::memcpy(&slots[JROPE_SLOT_SCALE_BITS], &unit_factor, 8);
  std::memcpy(&slots[JROPE_SLOT_ATTENTION_FACTOR_BITS], &unit_factor, 8);
  slots[JROPE_SLOT_THREADS] = threads;
  return slots;
}

std::vector<double> inverse_frequencies(int64_t dims) {
  std::vector<double> inv_freq(dims / 2);
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    inv_freq[i] = std::pow(10000.0, -2.0 * static_cast<double>(i) / static_cast<double>(dims));
  }
  return inv_freq;
}

void fill_random(int dtype, unsigned char *data, int64_t elements) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int64_t i = 0; i < elements; ++i) {
    const float value = uniform(rng);
    if (dtype == JROPE_FLOAT32) {
      std::memcpy(data + 4 * i, &value, 4);
    } else {
      uint32_t bits;
      std::memcpy(&bits, &value, 4);
      // Exact for bfloat16; for float16 any finite pattern of small magnitude will do.
      const uint16_t half = dtype == JROPE_BFLOAT16 ? static_cast<uint16_t>(bits >> 16)
                                                    : static_cast<uint16_t>(0x3000 | (bits & 0x83ff));
      std::memcpy(data + 2 * i, &half, 2);
    }
  }
}

void check(int32_t status) {
  if (status != JROPE_OK) {
    std::fprintf(stderr, "jrope call failed with status %d: %s\n", status, jrope_last_error());
    std::exit(1);
  }
}

// Times the (1, 32, 4096, 128) prefill shape against the copy, pair by pair.
void bench_prefill(int dtype, bool in_place, int threads, int pairs) {
  const int64_t extent[4] = {1, 32, 4096, 128};
  const int64_t elements = extent[0] * extent[1] * extent[2] * extent[3];
  const int64_t bytes = elements * (dtype == JROPE_FLOAT32 ? 4 : 2);
  AlignedBuffer x(bytes), out(bytes), copy_dst(bytes);
  fill_random(dtype, x.data, elements);
  const std::vector<int64_t> slots = contiguous_descriptor(dtype, extent, threads);
  const std::vector<double> inv_freq = inverse_frequencies(extent[3]);
  const int64_t offset = 100000;
  unsigned char *target = in_place ? x.data : out.data;

  std::vector<double> ratios, kernel_rates, copy_rates;
  for (int pair = -2; pair < pairs; ++pair) {  // two warm-up pairs
    Clock::time_point start = Clock::now();
    check(jrope_rope(slots.data(), x.data, target, &offset, inv_freq.data()));
    const double kernel_seconds = seconds_since(start);

    start = Clock::now();
    check(jrope_parallel_copy(copy_dst.data, x.data, bytes, threads));
    const double copy_seconds = seconds_since(start);

    if (pair >= 0) {
      ratios.push_back(copy_seconds / kernel_seconds);
      kernel_rates.push_back(2.0 * bytes / kernel_seconds / 1e9);
      copy_rates.push_back(2.0 * bytes / copy_seconds / 1e9);
    }
  }
  std::printf("%-8s %-12s threads %d: ratio %.3f  (kernel %.1f GB/s, copy %.1f GB/s, medians of %d pairs)\n",
              dtype_name(dtype), in_place ? "in place" : "out of place", threads, median(ratios),
              median(kernel_rates), median(copy_rates), pairs);
}

// Times the (1, 32, 1, 128) float32 decode step in place, the shape that must stay on the
// calling thread.
void bench_decode(int iterations) {
  const int64_t extent[4] = {1, 32, 1, 128};
  const int64_t elements = 32 * 128;
  AlignedBuffer x(elements * 4);
  fill_random(JROPE_FLOAT32, x.data, elements);
  const std::vector<int64_t> slots = contiguous_descriptor(JROPE_FLOAT32, extent, 0);
  const std::vector<double> inv_freq = inverse_frequencies(128);
  std::vector<double> samples;
  for (int round = 0; round < 21; ++round) {
    const Clock::time_point start = Clock::now();
    for (int i = 0; i < iterations; ++i) {
      const int64_t position = 4096 + i;
      check(jrope_rope(slots.data(), x.data, x.data, &position, inv_freq.data()));
    }
    samples.push_back(seconds_since(start) / iterations * 1e9);
  }
  std::printf("decode (1,32,1,128) float32 in place: %.0f ns per call (median of 21 rounds of %d)\n",
              median(samples), iterations);
}

// Times a cache-resident shape on one thread, where the cos/sin table is the largest share of
// the work; compare builds with and without JROPE_FLOAT32_ANGLES.
void bench_cache_resident(int pairs) {
  const int64_t extent[4] = {1, 8, 256, 128};
  const int64_t elements = 8 * 256 * 128;
  AlignedBuffer x(elements * 4), out(elements * 4);
  fill_random(JROPE_FLOAT32, x.data, elements);
  const std::vector<int64_t> slots = contiguous_descriptor(JROPE_FLOAT32, extent, 1);
  const std::vector<double> inv_freq = inverse_frequencies(128);
  const int64_t offset = 100000;
  std::vector<double> samples;
  for (int round = 0; round < pairs; ++round) {
    const Clock::time_point start = Clock::now();
    for (int i = 0; i < 200; ++i) {
      check(jrope_rope(slots.data(), x.data, out.data, &offset, inv_freq.data()));
    }
    samples.push_back(seconds_since(start) / 200 * 1e6);
  }
  std::printf("cache-resident (1,8,256,128) float32 out of place, 1 thread: %.2f us per call\n",
              median(samples));
}

}  // namespace

int main(int argc, char **argv) {
  int pairs = 31;
  int only_dtype = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) {
      pairs = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--dtype") == 0 && i + 1 < argc) {
      only_dtype = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) {
      if (!jrope::select_cpu_kernel(argv[++i])) {
        std::fprintf(stderr, "kernel variant %s is unknown or not supported by this CPU\n", argv[i]);
        return 2;
      }
    } else if (std::strcmp(argv[i], "--no-streaming") == 0) {
      jrope::set_streaming_min_bytes(int64_t{1} << 62);
    } else {
      std::fprintf(stderr,
                   "usage: bench_native [--pairs N] [--dtype 0|1|2] [--kernel generic|avx2|avx512] "
                   "[--no-streaming]\n");
      return 2;
    }
  }

  std::printf("kernel %s, default threads %d\n", jrope_cpu_kernel(), jrope_default_threads());
  bench_decode(20000);
  bench_cache_resident(pairs);
  for (int dtype : {JROPE_FLOAT32, JROPE_FLOAT16, JROPE_BFLOAT16}) {
    if (only_dtype >= 0 && dtype != only_dtype) {
      continue;
    }
    for (bool in_place : {false, true}) {
      for (int threads : {1, 2}) {
        bench_prefill(dtype, in_place, threads, pairs);
      }
    }
  }
  return 0;
}
