// Accuracy of the kernel's angle path (pair_rotation in shaders/rope.metal, compiled as C++) against
// binary128: cos and sin of n * scale * w for integer positions n up to 2^47 in magnitude. The test
// reads the float-float parts the kernel keeps, before they are applied to a pair.
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "rope_plan.h"

#include "../../shaders/rope.metal"
#include "metal_stdlib_undef.h"

extern "C" {
__float128 cosq(__float128);
__float128 sinq(__float128);
__float128 fmodq(__float128, __float128);
}

int main() {
  const __float128 two_pi =
      static_cast<__float128>(0x1.921fb54442d18p+2) + static_cast<__float128>(0x1.1a62633145c07p-52);
  const int pairs = 64;
  const double scales[] = {1.0, 0.125, 3.0};
  std::mt19937_64 random(2024);
  int failures = 0;

  for (double scale : scales) {
    std::vector<double> w(pairs);
    for (int i = 0; i < pairs; ++i) {
      w[static_cast<size_t>(i)] = std::pow(500000.0, -2.0 * i / (2.0 * pairs));
    }
    std::vector<float> turns(4 * pairs);
    std::string error;
    if (!jrope::metal::pair_turns(w.data(), pairs, scale, turns.data(), &error)) {
      std::printf("FAIL pair_turns: %s\n", error.c_str());
      return 1;
    }

    // Error of cos and sin in units of 2^-24 (half an ulp of values in [0.5, 1)).
    double worst = 0;
    int64_t worst_n = 0;
    for (int k = 0; k < 100000; ++k) {
      int64_t n;
      switch (k % 4) {
        case 0: n = static_cast<int64_t>(random() % (uint64_t{1} << 31)); break;             // [0, 2^31)
        case 1: n = static_cast<int64_t>(random() % (uint64_t{1} << 48)) - (int64_t{1} << 47); break;
        case 2: n = 2147483647 - static_cast<int64_t>(random() % 4096); break;               // near 2^31
        default: n = static_cast<int64_t>(random() % 65536) - 32768; break;                  // small, negative
      }
      const int i = static_cast<int>(random() % pairs);
      const float4 f = {turns[4 * i], turns[4 * i + 1], turns[4 * i + 2], turns[4 * i + 3]};
      const PairRotation r = pair_rotation(n, f, 1.0f);
      const double cos_a = 1.0 + static_cast<double>(r.cos_tail) + static_cast<double>(r.cos_tail_lo);
      const double sin_a = static_cast<double>(r.sin_hi) + static_cast<double>(r.sin_lo);
      // theta = a + quadrant * pi/2.
      const double quadrant_cos[4] = {cos_a, -sin_a, -cos_a, sin_a};
      const double quadrant_sin[4] = {sin_a, cos_a, -sin_a, -cos_a};
      const double c = quadrant_cos[r.quadrant];
      const double s = quadrant_sin[r.quadrant];
      const __float128 theta = fmodq(static_cast<__float128>(n) * static_cast<__float128>(scale) *
                                         static_cast<__float128>(w[static_cast<size_t>(i)]),
                                     two_pi);
      const double error = std::fmax(std::fabs(c - static_cast<double>(cosq(theta))),
                                     std::fabs(s - static_cast<double>(sinq(theta)))) *
                           16777216.0;
      if (error > worst) {
        worst = error;
        worst_n = n;
      }
    }
    std::printf("scale %g: worst cos/sin error %.3f x 2^-24 at n=%" PRId64 "\n", scale, worst, worst_n);
    // The parts carry cos and sin beyond float precision: the float rounding of the small terms
    // leaves about a quarter unit (measured), well inside this bound.
    if (worst > 0.4) {
      std::printf("FAIL scale %g: error above 0.4 x 2^-24\n", scale);
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
