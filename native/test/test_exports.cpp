// Loads libjrope.so the way Java does, through its exported symbols only, and runs one call.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "jrope.h"

int main() {
  int failures = 0;
  if (jrope_abi_version() != JROPE_ABI_VERSION) {
    std::printf("FAIL: jrope_abi_version() = %d, expected %d\n", jrope_abi_version(), JROPE_ABI_VERSION);
    ++failures;
  }

  // One token at position 1 of one head with D = 2: (1, 0) rotates to (cos 1, sin 1).
  int64_t slots[JROPE_CALL_SLOTS] = {};
  slots[JROPE_SLOT_ABI_VERSION] = JROPE_ABI_VERSION;
  slots[JROPE_SLOT_DTYPE] = JROPE_FLOAT32;
  slots[JROPE_SLOT_DIMS] = 2;
  for (int slot : {JROPE_SLOT_BATCH, JROPE_SLOT_HEADS, JROPE_SLOT_TOKENS}) {
    slots[slot] = 1;
  }
  slots[JROPE_SLOT_FEATURES] = 2;
  slots[JROPE_SLOT_X_STRIDE_FEATURE] = 1;
  slots[JROPE_SLOT_OUT_STRIDE_FEATURE] = 1;
  const double unit_factor = 1.0;  // scale and attention factor
  std::memcpy(&slots[JROPE_SLOT_SCALE_BITS], &unit_factor, sizeof unit_factor);
  std::memcpy(&slots[JROPE_SLOT_ATTENTION_FACTOR_BITS], &unit_factor, sizeof unit_factor);
  float x[2] = {1.0f, 0.0f};
  float out[2] = {0.0f, 0.0f};
  const int64_t position = 1;
  const double inv_freq = 1.0;
  const int32_t status = jrope_rope(slots, x, out, &position, &inv_freq);
  if (status != JROPE_OK || out[0] != static_cast<float>(std::cos(1.0)) ||
      out[1] != static_cast<float>(std::sin(1.0))) {
    std::printf("FAIL: status %d (%s), out = (%.9g, %.9g), expected (cos 1, sin 1)\n", status,
                jrope_last_error(), out[0], out[1]);
    ++failures;
  }

  std::printf("kernel %s, default threads %d: %s\n", jrope_cpu_kernel(), jrope_default_threads(),
              failures == 0 ? "PASSED" : "FAILED");
  return failures == 0 ? 0 : 1;
}
