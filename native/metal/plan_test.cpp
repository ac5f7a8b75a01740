// Unit tests of the Metal dispatch planner: kernel choice, grid and threadgroup shapes, head chunks,
// argument packing and the three-float frequency split. Plain C++, no GPU.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "jrope.h"
#include "rope_plan.h"

namespace {

using namespace jrope::metal;

int failures = 0;

#define CHECK(condition, ...)                                            \
  do {                                                                   \
    if (!(condition)) {                                                  \
      ++failures;                                                        \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #condition);   \
      std::printf(__VA_ARGS__);                                          \
      std::printf("\n");                                                 \
    }                                                                    \
  } while (0)

RopeCall contiguous_call(int dtype, int64_t b, int64_t h, int64_t t, int64_t d, int64_t dims) {
  RopeCall call;
  call.dtype = dtype;
  call.dims = dims;
  call.batch = b, call.heads = h, call.tokens = t, call.features = d;
  const int64_t strides[4] = {h * t * d, t * d, d, 1};
  std::memcpy(call.x_stride, strides, sizeof strides);
  std::memcpy(call.out_stride, strides, sizeof strides);
  return call;
}

RopePlan plan_for(const RopeCall &call, uintptr_t x, uintptr_t out, const DeviceLimits &limits = {}) {
  TensorRef ref{&call, x, out};
  std::vector<double> w(static_cast<size_t>(call.dims / 2), 0.5);
  RopePlan plan;
  std::string error;
  CHECK(plan_rope(&ref, 1, w.data(), limits, &plan, &error), "%s", error.c_str());
  return plan;
}

void test_kernel_choice() {
  struct Row {
    const char *name;
    RopeCall call;
    uintptr_t x, out;
    const char *kernel;
  };
  RopeCall traditional = contiguous_call(JROPE_FLOAT32, 1, 2, 3, 16, 16);
  traditional.traditional = true;
  RopeCall strided = contiguous_call(JROPE_BFLOAT16, 1, 2, 3, 16, 16);
  strided.x_stride[3] = 2;
  RopeCall odd_row = contiguous_call(JROPE_FLOAT32, 1, 2, 3, 18, 16);
  odd_row.traditional = true;  // row stride 18 is not a multiple of 4 elements
  const Row rows[] = {
      {"split vectors", contiguous_call(JROPE_FLOAT32, 1, 2, 3, 16, 16), 4096, 8192, "rope_f32_split_v2_i32"},
      {"odd pair count", contiguous_call(JROPE_FLOAT16, 1, 2, 3, 16, 10), 4096, 8192, "rope_f16_split_v1_i32"},
      {"traditional vectors", traditional, 4096, 8192, "rope_f32_trad_v2_i32"},
      {"misaligned x", contiguous_call(JROPE_FLOAT32, 1, 2, 3, 16, 16), 4100, 8192, "rope_f32_split_v1_i32"},
      {"feature stride 2", strided, 4096, 8192, "rope_bf16_split_v1_i32"},
      {"traditional odd row", odd_row, 4096, 8192, "rope_f32_trad_v1_i32"},
  };
  for (const Row &row : rows) {
    const RopePlan plan = plan_for(row.call, row.x, row.out);
    CHECK(plan.kernel == row.kernel, "%s: got %s", row.name, plan.kernel.c_str());
  }

  RopeCall huge = contiguous_call(JROPE_FLOAT16, 2, 1, 1, 8, 8);
  huge.x_stride[0] = huge.out_stride[0] = int64_t{1} << 32;
  CHECK(plan_for(huge, 4096, 4096).kernel == "rope_f16_split_v2_i64", "64-bit offsets");
}

void test_grid_shapes() {
  const DeviceLimits limits{32, 1024, 1 << 16};
  struct Row {
    int64_t b, h, t, d, dims;
  };
  const Row rows[] = {{1, 32, 1, 128, 128}, {1, 32, 4096, 128, 128}, {4, 8, 33, 64, 32},
                      {3, 7, 5, 10, 6},     {1, 1, 1, 2, 2},          {2, 40, 3000, 96, 64}};
  for (const Row &row : rows) {
    RopeCall call = contiguous_call(JROPE_FLOAT32, row.b, row.h, row.t, row.d, row.dims);
    const RopePlan plan = plan_for(call, 4096, 1 << 20, limits);
    const uint64_t group = plan.threadgroup[0] * plan.threadgroup[1] * plan.threadgroup[2];
    CHECK(group >= 1, "threadgroup %" PRIu64, group);
    CHECK(group <= limits.max_threads_per_threadgroup, "threadgroup %" PRIu64, group);
    for (int axis = 0; axis < 3; ++axis) {
      CHECK(plan.threadgroup[axis] <= plan.grid[axis], "axis %d: group %" PRIu64 " > grid %" PRIu64, axis,
            plan.threadgroup[axis], plan.grid[axis]);
    }
    // Every pair group and tail group has a thread, and every head a chunk.
    const uint64_t pairs = static_cast<uint64_t>(row.dims / 2);
    CHECK(plan.args.pair_groups * plan.pairs_per_thread == pairs, "pair groups %u", plan.args.pair_groups);
    const uint64_t tail = static_cast<uint64_t>(row.d - row.dims);
    CHECK(plan.args.tail_groups == (tail + kTailUnit - 1) / kTailUnit, "tail groups %u", plan.args.tail_groups);
    CHECK(plan.grid[0] == plan.args.pair_groups + plan.args.tail_groups, "grid x %" PRIu64, plan.grid[0]);
    CHECK(plan.grid[1] == static_cast<uint64_t>(row.t), "grid y %" PRIu64, plan.grid[1]);
    CHECK(static_cast<int64_t>(plan.args.head_chunk) * plan.args.head_chunks >= row.h, "chunks cover heads");
    CHECK(static_cast<int64_t>(plan.args.head_chunk) * (plan.args.head_chunks - 1) < row.h, "no empty chunk");
    CHECK(plan.grid[2] == static_cast<uint64_t>(row.b) * plan.args.head_chunks, "grid z %" PRIu64, plan.grid[2]);
  }

  // Decode keeps one head per thread; a long prefill gives each thread all heads.
  RopeCall decode = contiguous_call(JROPE_FLOAT16, 1, 32, 1, 128, 128);
  CHECK(plan_for(decode, 4096, 4096, limits).args.head_chunk == 1, "decode head chunk");
  RopeCall prefill = contiguous_call(JROPE_FLOAT16, 1, 32, 4096, 128, 128);
  CHECK(plan_for(prefill, 4096, 4096, limits).args.head_chunk == 32, "prefill head chunk");

  // A pipeline limit below the usual 1024 is respected.
  const DeviceLimits small{32, 64, 1 << 16};
  const RopePlan limited = plan_for(prefill, 4096, 4096, small);
  CHECK(limited.threadgroup[0] * limited.threadgroup[1] * limited.threadgroup[2] <= 64, "limit 64");
}

void test_in_place_and_tail() {
  RopeCall call = contiguous_call(JROPE_FLOAT32, 1, 2, 3, 20, 12);
  const RopePlan in_place = plan_for(call, 4096, 4096);
  CHECK(in_place.args.tensor[0].copy_tail == 0, "in place copies no tail");
  CHECK(in_place.args.tail_groups == 0, "in place has no tail threads");
  const RopePlan out_of_place = plan_for(call, 4096, 8192);
  CHECK(out_of_place.args.tensor[0].copy_tail == 1, "out of place copies the tail");
  CHECK(out_of_place.args.tail_groups == 2, "tail of 8 features in 2 threads");
}

void test_argument_packing() {
  RopeCall call = contiguous_call(JROPE_FLOAT16, 3, 4, 5, 16, 8);
  call.inverse = true;
  call.explicit_positions = true;
  call.position_batch_stride = 5;
  call.attention_factor = 1.25;
  const RopePlan plan = plan_for(call, 4096, 8192);
  CHECK(plan.args.sin_sign == -1.0f, "sin sign");
  CHECK(plan.args.attention_factor == 1.25f, "attention factor");
  CHECK(plan.args.explicit_positions == 1, "position mode");
  CHECK(plan.args.position_batch_stride == 5, "position batch stride");
  CHECK(plan.position_count == 2 * 5 + 5, "position count %" PRId64, plan.position_count);
  CHECK(plan.args.tensor[0].in_stride[0] == 320, "batch stride");
  CHECK(plan.args.tensor[0].out_stride[2] == 16, "token stride");
  CHECK(plan.args.tensor[1].heads == 0, "no k tensor");
  CHECK(plan.args.tokens == 5, "tokens");
  CHECK(plan.args.pairs == 4, "pairs");
  CHECK(plan.args.features == 16, "features");
}

void test_fused_query_key() {
  RopeCall q = contiguous_call(JROPE_FLOAT32, 2, 8, 16, 64, 64);
  RopeCall k = contiguous_call(JROPE_FLOAT32, 2, 2, 16, 64, 64);
  TensorRef refs[2] = {{&q, 4096, 4096}, {&k, 65536, 65536}};
  std::vector<double> w(32, 0.1);
  RopePlan plan;
  std::string error;
  CHECK(plan_rope(refs, 2, w.data(), DeviceLimits{}, &plan, &error), "%s", error.c_str());
  CHECK(plan.args.tensor[0].heads == 8, "query heads");
  CHECK(plan.args.tensor[1].heads == 2, "key heads");
  k.dims = 32;
  CHECK(!plan_rope(refs, 2, w.data(), DeviceLimits{}, &plan, &error), "dims mismatch accepted");
  CHECK(error == "k must have the dims of q (64), got 32", "%s", error.c_str());
}

void test_pair_turns_precision() {
  // The three floats must carry scale * w / (2 pi) modulo 1 to far below float precision.
  const double scales[] = {1.0, 0.25, 3.0, -1.5, 1e6};
  const double frequencies[] = {1.0, 0.5623413251903491, 1e-4, 1.0 / 3.0, 0.0, 7.25};
  for (double scale : scales) {
    for (double w : frequencies) {
      float parts[4];
      std::string error;
      CHECK(pair_turns(&w, 1, scale, parts, &error), "%s", error.c_str());
      const long double exact = static_cast<long double>(scale) * w / (2.0L * 3.14159265358979323846264338327950288L);
      const long double reduced = exact - std::rint(exact);
      const long double sum = static_cast<long double>(parts[0]) + parts[1] + parts[2];
      long double difference = std::fabs(sum - reduced);
      difference = std::fmin(difference, std::fabs(1.0L - difference));  // modulo 1
      CHECK(difference < 1e-17L * (1.0L + std::fabs(exact)), "scale %g w %g: off by %Lg", scale, w, difference);
      CHECK(std::fabs(parts[0]) <= 0.5f, "first part %g", static_cast<double>(parts[0]));
      CHECK(parts[3] == 0.0f, "padding %g", static_cast<double>(parts[3]));
    }
  }
  double infinite = 1e308;
  float parts[4];
  std::string error;
  CHECK(!pair_turns(&infinite, 1, 1e10, parts, &error), "overflow accepted");
}

void test_parse_errors() {
  std::vector<int64_t> call(JROPE_CALL_SLOTS, 0);
  call[JROPE_SLOT_ABI_VERSION] = JROPE_ABI_VERSION;
  call[JROPE_SLOT_DIMS] = 8;
  call[JROPE_SLOT_FEATURES] = 8;
  const double one = 1.0;
  std::memcpy(&call[JROPE_SLOT_SCALE_BITS], &one, 8);
  std::memcpy(&call[JROPE_SLOT_ATTENTION_FACTOR_BITS], &one, 8);
  RopeCall parsed;
  std::string error;
  CHECK(parse_call(call.data(), &parsed, &error), "%s", error.c_str());

  const double nan = std::nan("");
  std::memcpy(&call[JROPE_SLOT_SCALE_BITS], &nan, 8);
  CHECK(!parse_call(call.data(), &parsed, &error), "NaN scale accepted");
  CHECK(error.find("scale must be finite") == 0, "%s", error.c_str());
  std::memcpy(&call[JROPE_SLOT_SCALE_BITS], &one, 8);
  call[JROPE_SLOT_OUT_STRIDE_FEATURE] = -1;
  CHECK(!parse_call(call.data(), &parsed, &error), "negative stride accepted");
  CHECK(error == "out feature stride must be >= 0, got -1", "%s", error.c_str());
  call[JROPE_SLOT_OUT_STRIDE_FEATURE] = 1;
  call[JROPE_SLOT_POSITION_BATCH_STRIDE] = -3;
  CHECK(!parse_call(call.data(), &parsed, &error), "negative position batch stride accepted");
  CHECK(error == "position batch stride must be >= 0, got -3", "%s", error.c_str());
}

}  // namespace

int main() {
  test_kernel_choice();
  test_grid_shapes();
  test_in_place_and_tail();
  test_argument_packing();
  test_fused_query_key();
  test_pair_turns_precision();
  test_parse_errors();
  if (failures != 0) {
    std::printf("%d checks failed\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
