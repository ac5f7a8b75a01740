// Validation of the call descriptor and the split of a call into units of work.
#ifndef JROPE_ROPE_PLAN_H
#define JROPE_ROPE_PLAN_H

#include <cstddef>
#include <cstdint>

#include "rope_call.h"

namespace jrope {

// Fills call from the descriptor and pointers of jrope_rope. On invalid input returns false and
// writes a message naming the slot, the value and the valid range into error (capacity bytes,
// always NUL-terminated). Pointers are only checked when the tensor is not empty.
bool parse_call(const int64_t *slots, void *x, void *out, const int64_t *positions,
                const double *inv_freq, RopeCall *call, char *error, size_t capacity);

bool is_empty(const RopeCall &call);

size_t element_size(Dtype dtype);

// Returns the unit split for a valid, non-empty call.
RopePlan make_plan(const RopeCall &call);

// When out-of-place outputs start using streaming stores. Tests and benchmarks change it.
void set_streaming_min_bytes(int64_t bytes);

// Resolves a requested thread count: 0 means the hardware concurrency (at least 1).
int resolve_threads(int64_t requested);

}  // namespace jrope

#endif  // JROPE_ROPE_PLAN_H
