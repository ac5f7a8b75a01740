// Internal description of one jrope_rope call, shared by the front door and every CPU kernel.
//
// Translation units compiled for different instruction sets include this header, so it contains
// only plain data and declarations. An inline function with external linkage here could be
// emitted with AVX-512 instructions and then picked by the linker for the generic kernel.
#ifndef JROPE_ROPE_CALL_H
#define JROPE_ROPE_CALL_H

#include <cstdint>

namespace jrope {

enum class Dtype : int { kFloat32 = 0, kFloat16 = 1, kBfloat16 = 2 };

// Axis order of the four-element stride arrays.
enum Axis : int { kBatch = 0, kHead = 1, kToken = 2, kFeature = 3 };

// A validated descriptor plus the pointers of the call. Strides are in elements.
struct RopeCall {
  Dtype dtype;
  int64_t dims;
  int64_t half;  // dims / 2, the number of pairs
  bool traditional;
  bool inverse;
  int64_t batch, heads, tokens, features;
  int64_t x_stride[4];
  int64_t out_stride[4];
  bool explicit_positions;
  int64_t position_batch_stride;
  double scale;
  double attention_factor;
  int threads;  // resolved: at least 1

  const unsigned char *x;
  unsigned char *out;
  const int64_t *positions;
  const double *inv_freq;
  bool in_place;  // out == x with equal strides
};

// How a call is cut into units of work. A unit is one batch row, one block of tokens and one
// chunk of heads. It computes the cos/sin table of its tokens once and reuses it for every head.
struct RopePlan {
  int64_t token_block;
  int64_t head_chunk;
  int64_t token_blocks;  // per batch row
  int64_t head_chunks;
  int64_t units;
  // Floats per token in each of the two tables: half for split-half pairs, dims for interleaved
  // pairs, whose tables repeat each cos and carry the sign of sin per lane.
  int64_t table_stride;
  int64_t scratch_floats;  // per thread
  int threads;             // 1 runs every unit on the calling thread
  bool contiguous_features;  // feature stride 1 in x and out
  bool tokens_outer;         // heads are closer in memory than tokens, so loop heads innermost
  bool streaming_stores;
};

// One instruction-set variant of the CPU kernel.
struct CpuKernel {
  const char *name;
  // Runs one unit of the plan. scratch has room for plan.scratch_floats floats.
  void (*rotate_unit)(const RopeCall &call, const RopePlan &plan, int64_t unit, float *scratch);
};

}  // namespace jrope

#endif  // JROPE_ROPE_CALL_H
