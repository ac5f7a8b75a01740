// Rotary positional encoding (RoPE) on Metal.
//
// Tensors are (B, H, T, D) blocks with arbitrary element strides. One call may rotate two tensors
// that share batch rows, tokens, positions and frequencies (q and k, with different head counts
// for grouped-query attention): their heads form one combined head axis, q's first.
//
// Grid (dispatchThreads, so edge threadgroups may be partial and no bounds check is needed):
//   x: pair groups (V pairs each), then tail groups (features dims..D-1, copied out of place only)
//   y: token t
//   z: batch row b times head chunks
// A thread computes cos/sin of its V pairs once for its (b, t) and applies them to every head of
// its chunk, so cos/sin cost one evaluation per (position, pair) and head chunk.
//
// Angle accuracy without doubles: the host passes, per pair, f = scale * w_i / (2 pi) reduced
// modulo 1 as the sum of three floats (72 significant bits). The kernel splits the integer position
// n exactly into nh * 2^24 + nl, forms n * f modulo 1 from exact fma products and error-free sums,
// and only then converts turns to radians, so the angle is right to float32 rounding far beyond
// position 2^31, where a float32 product p * w would be off by radians. cos and sin of the reduced
// angle are polynomials, and the rotation keeps their small parts apart (see PairRotation).
//
// The same file compiles as C++ (the emulator) and as C++ for OpenCL (the address-space check)
// through shaders/compat/metal_stdlib. Fast math must be off: the error-free transformations below
// rely on IEEE rounding of each operation.
#include <metal_stdlib>
using namespace metal;

// ---- Arguments, byte for byte the layout of jrope::metal::RopeArgs (native/metal/rope_plan.h) ----

// One of the (at most two) tensors of a call. Strides are in elements, in the order batch, head,
// token, feature; the host checks that they are non-negative.
struct RopeTensorArgs {
  long in_stride[4];
  long out_stride[4];
  // Element (0,0,0,0) relative to the bound buffer address. The host binds buffers at 16-byte
  // aligned offsets, as Metal asks for device buffers read as vectors, and passes the rest here.
  long in_offset;
  long out_offset;
  uint heads;
  uint copy_tail;  // 1 out of place: features dims..D-1 are copied to out
};

struct RopeArgs {
  RopeTensorArgs tensor[2];     // q, then k (k.heads == 0 for a single-tensor call)
  long position_batch_stride;   // elements of `positions` between batch rows; 0 broadcasts
  uint tokens;                  // T
  uint pairs;                   // dims / 2
  uint features;                // D
  uint pair_groups;             // pairs / V: grid x threads that rotate
  uint tail_groups;             // grid x threads after them that copy the tail
  uint tail_unit;               // tail features per tail thread
  uint head_chunk;              // heads per thread over the combined head axis
  uint head_chunks;             // chunks per batch row: grid z = B * head_chunks
  uint explicit_positions;      // 0: pos = positions[b*stride] + t; 1: pos = positions[b*stride + t]
  float sin_sign;               // -1 rotates by -theta (inverse)
  float attention_factor;       // multiplies the rotated pair, as scaling cos and sin does
  uint reserved;
};

static_assert(sizeof(RopeTensorArgs) == 88, "RopeTensorArgs layout must match the host");
static_assert(sizeof(RopeArgs) == 232, "RopeArgs layout must match the host");

// ---- Element types: loads widen to float, stores round once to nearest even ----

// Metal 3.1 has a bfloat type; older Metal stores bfloat16 as ushort bits. C++ builds take the
// compat header's bfloat struct unless JROPE_FORCE_BFLOAT_BITS selects the ushort path.
// NOTE: the bfloat path assumes Metal's float-to-bfloat conversion rounds to nearest even, which
// has not been checked on Apple hardware; scripts/mac-smoke.sh runs the parity suite that would.
#if defined(__METAL_VERSION__)
#define JROPE_NATIVE_BFLOAT (__METAL_VERSION__ >= 310)
#elif defined(JROPE_COMPAT_HAS_BFLOAT) && !defined(JROPE_FORCE_BFLOAT_BITS)
#define JROPE_NATIVE_BFLOAT 1
#else
#define JROPE_NATIVE_BFLOAT 0
#endif

template <typename S>
struct Codec;

template <>
struct Codec<float> {
  typedef float2 S2;
  typedef float4 S4;
  static float widen(float value) { return value; }
  static float narrow(float value) { return value; }
};

template <>
struct Codec<half> {
  typedef half2 S2;
  typedef half4 S4;
  static float widen(half value) { return float(value); }
  static half narrow(float value) { return half(value); }
};

#if JROPE_NATIVE_BFLOAT
typedef bfloat bf16_storage;

template <>
struct Codec<bfloat> {
  typedef bfloat2 S2;
  typedef bfloat4 S4;
  static float widen(bfloat value) { return float(value); }
  static bfloat narrow(float value) { return bfloat(value); }
};
#else
// Metal before 3.1 has no bfloat: elements are ushort bit patterns, the upper half of a float32.
typedef ushort bf16_storage;

template <>
struct Codec<ushort> {
  typedef ushort2 S2;
  typedef ushort4 S4;
  static float widen(ushort bits) { return as_type<float>(uint(bits) << 16); }
  static ushort narrow(float value) {
    const uint word = as_type<uint>(value);
    if ((word & 0x7fffffffu) > 0x7f800000u) {
      return ushort((word >> 16) | 0x0040u);  // quiet NaN
    }
    return ushort((word + 0x7fffu + ((word >> 16) & 1u)) >> 16);
  }
};
#endif

// ---- Angle: n * f modulo 1 in float-float, then radians ----

// A number of turns as hi + lo with hi in [-1/2, 1/2] and |lo| far below ulp(hi).
struct Turns {
  float hi;
  float lo;
};

// Adds x turns. x - rint(x) and s - rint(s) are exact (Sterbenz), and the rounding error of
// hi + x is recovered exactly (two-sum), so only lo carries rounding.
inline void add_turns(thread Turns &sum, float x) {
  const float reduced = x - rint(x);
  const float s = sum.hi + reduced;
  const float b = s - sum.hi;
  const float error = (sum.hi - (s - b)) + (reduced - b);
  sum.hi = s - rint(s);
  sum.lo += error;
}

// Adds a * b * scale turns, scale a power of two: the product and its rounding error are exact
// floats (fma), and each is reduced separately.
inline void add_product_turns(thread Turns &sum, float a, float b, float scale) {
  const float product = a * b;
  const float error = fma(a, b, -product);
  add_turns(sum, product * scale);
  add_turns(sum, error * scale);
}

// 2 pi as a float plus the float nearest to the remainder.
constant constexpr float kTwoPiHi = 6.28318548202514648f;
constant constexpr float kTwoPiLo = -1.74845553e-7f;
constant constexpr float kTwoPow24 = 16777216.0f;
// 1/24 - 0.0416666679f and -1/6 + 0.166666672f: what the float Taylor coefficients leave out.
constant constexpr float kInv24Lo = -1.24176343e-9f;
constant constexpr float kInv6Lo = 4.96705373e-9f;

// The rotation by theta = a + quadrant * pi/2 of one pair, |a| <= pi/4 + 2^-20:
// cos(a) = 1 + cos_tail + cos_tail_lo and sin(a) = sin_hi + sin_lo, each within about 1e-8.
// Keeping 1 and a apart from the small tails lets the rotation form u*cos - v*sin from exact
// products, so the result stays accurate where u*cos and v*sin nearly cancel.
struct PairRotation {
  float cos_tail;
  float cos_tail_lo;
  float sin_hi;
  float sin_lo;
  int quadrant;
};

// Returns the rotation of position n for f = f3.x + f3.y + f3.z turns per position (sign -1 turns
// the other way).
//
// Error budget: with |n| < 2^48 every product below is exact or captured by fma, so the turns are
// exact up to the float rounding of the small terms (about 2^-40 turns). cos and sin of the
// reduced angle come from Taylor polynomials on [-pi/4, pi/4] (truncation below 2e-9) evaluated in
// float on the small tails only, so no trigonometric function of the GPU library is involved and
// the emulator runs the same IEEE operations as the GPU.
// NOTE: equal bits also assume that the Metal compiler, with fast math off, does not fuse a
// product into a later statement's sum (fp-contract across statements); unchecked on hardware.
inline PairRotation pair_rotation(long n, float4 f3, float sign) {
  // n = nh * 2^24 + nl with 0 <= nl < 2^24; both are exact floats while |n| < 2^48.
  // NOTE: beyond |n| >= 2^48, nh is rounded and the angle loses accuracy.
  const float nh = float(n >> 24);
  const float nl = float(uint(n & 0xffffff));

  Turns sum;
  sum.hi = 0.0f;
  sum.lo = 0.0f;
  add_product_turns(sum, nh, f3.x, kTwoPow24);
  add_product_turns(sum, nh, f3.y, kTwoPow24);
  add_turns(sum, nh * f3.z * kTwoPow24);
  add_product_turns(sum, nl, f3.x, 1.0f);
  add_product_turns(sum, nl, f3.y, 1.0f);
  add_turns(sum, nl * f3.z);

  // Renormalise, then take out quarter turns: t = q/4 + r with |r| <= 1/8 exactly.
  const float t_hi = sum.hi + sum.lo;
  const float t_lo = sum.lo - (t_hi - sum.hi);
  const float quarter = rint(t_hi * 4.0f);
  const float r = t_hi - quarter * 0.25f;

  // a = 2 pi (r + t_lo) as a_hi + a_lo, negated for the inverse rotation.
  float a_hi = r * kTwoPiHi;
  float a_lo = fma(r, kTwoPiHi, -a_hi) + fma(r, kTwoPiLo, t_lo * kTwoPiHi);
  int quadrant = int(quarter);
  if (sign < 0.0f) {
    a_hi = -a_hi;
    a_lo = -a_lo;
    quadrant = -quadrant;
  }

  // cos and sin of a_hi as 1 + tail and a_hi + s3, then a_lo enters to first order:
  // cos(a) = cos(a_hi) - sin(a_hi) a_lo and sin(a) = sin(a_hi) + cos(a_hi) a_lo (a_lo^2 < 1e-13).
  // z + z_error = a_hi^2 exactly.
  const float z = a_hi * a_hi;
  const float z_error = fma(a_hi, a_hi, -z);

  // cos(a_hi) - 1 = -z/2 + z^2 (1/24 - z/720 + z^2/40320 - z^3/3628800); the next term is below
  // 2e-10. 1/24 and 1/6 are floats plus their rounding remainders (kInv24Lo, kInv6Lo), which are
  // worth up to a quarter of 2^-24 in cos and sin.
  const float cos_poly =
      fma(z, fma(z, fma(z, -2.755732e-7f, 2.48015876e-5f), -0.00138888892f), 0.0416666679f);
  const float half_z = -0.5f * z;
  const float quartic = z * z * cos_poly;
  const float tail = half_z + quartic;
  const float tail_b = tail - half_z;
  const float tail_error = (half_z - (tail - tail_b)) + (quartic - tail_b);
  const float tail_lo = fma(z * z, kInv24Lo, fma(-0.5f, z_error, tail_error));

  // sin(a_hi) - a_hi = a_hi^3 (-1/6 + z/120 - z^2/5040 + z^3/362880); the next term is below 2e-9.
  // a_hi^3 = cube + cube_error + a_hi z_error.
  const float sin_poly =
      fma(z, fma(z, fma(z, 2.75573188e-6f, -0.000198412701f), 0.00833333377f), -0.166666672f);
  const float cube = a_hi * z;
  const float cube_error = fma(a_hi, z, -cube) + a_hi * z_error;
  const float s3 = fma(cube, sin_poly, fma(cube, kInv6Lo, -0.166666672f * cube_error));

  PairRotation rotation;
  rotation.cos_tail = tail;
  rotation.cos_tail_lo = fma(-(a_hi + s3), a_lo, tail_lo);
  rotation.sin_hi = a_hi;
  rotation.sin_lo = s3 + fma(tail, a_lo, a_lo);
  rotation.quadrant = quadrant & 3;
  return rotation;
}

// Position of token t in batch row b. Offsets wrap like two's complement (Java long arithmetic).
inline long position_of(constant RopeArgs &args, device const long *positions, uint b, uint t) {
  const long row = long(b) * args.position_batch_stride;
  if (args.explicit_positions != 0) {
    return positions[row + long(t)];
  }
  return as_type<long>(as_type<ulong>(positions[row]) + ulong(t));
}

// ---- Rotation of one head row ----

// Rotates (u, v) by theta: first by quadrant * pi/2, exactly, then by a. For
// u' = u cos(a) - v sin(a) = (u - v sin_hi) + (u cos_tail - v sin_lo), the large part comes from an
// exact product and sum, so only the small part and the final sum round. Then times the attention
// factor.
inline void rotate_pair(thread float &u, thread float &v, PairRotation r, float factor) {
  float x = u;
  float y = v;
  if (r.quadrant == 1) {
    x = -v;
    y = u;
  } else if (r.quadrant == 2) {
    x = -u;
    y = -v;
  } else if (r.quadrant == 3) {
    x = v;
    y = -u;
  }

  const float pu = y * r.sin_hi;
  const float pu_error = fma(y, r.sin_hi, -pu);
  const float su = x - pu;
  const float su_b = su - x;
  const float su_error = (x - (su - su_b)) + (-pu - su_b);
  const float small_u = fma(x, r.cos_tail, fma(-y, r.sin_lo, su_error - pu_error)) + x * r.cos_tail_lo;

  const float pv = x * r.sin_hi;
  const float pv_error = fma(x, r.sin_hi, -pv);
  const float sv = y + pv;
  const float sv_b = sv - y;
  const float sv_error = (y - (sv - sv_b)) + (pv - sv_b);
  const float small_v = fma(y, r.cos_tail, fma(x, r.sin_lo, sv_error + pv_error)) + y * r.cos_tail_lo;

  float rotated_u = su + small_u;
  float rotated_v = sv + small_v;
  // An infinite input makes the error terms inf - inf; the plain formula keeps IEEE's inf and NaN.
  if (!isfinite(rotated_u) || !isfinite(rotated_v)) {
    const float c = 1.0f + r.cos_tail;
    const float s = r.sin_hi + r.sin_lo;
    rotated_u = x * c - y * s;
    rotated_v = x * s + y * c;
  }
  u = rotated_u * factor;
  v = rotated_v * factor;
}

// V = 1: any feature stride.
template <typename S, bool TRADITIONAL, typename I>
inline void rotate_row(device const S *in, device S *out, I in_fs, I out_fs, uint pair, uint pairs,
                       PairRotation r, float factor) {
  const I iu = TRADITIONAL ? I(2 * pair) : I(pair);
  const I iv = TRADITIONAL ? I(2 * pair + 1) : I(pair + pairs);
  float u = Codec<S>::widen(in[iu * in_fs]);
  float v = Codec<S>::widen(in[iv * in_fs]);
  rotate_pair(u, v, r, factor);
  out[iu * out_fs] = Codec<S>::narrow(u);
  out[iv * out_fs] = Codec<S>::narrow(v);
}

// V = 2 split-half: pairs (p, p + pairs) and (p+1, p+1 + pairs) as two 2-element vectors. The host
// chose this only for feature stride 1, even `pair` offsets and vector-aligned rows.
template <typename S, typename I>
inline void rotate_row2_split(device const S *in, device S *out, uint pair, uint pairs,
                              thread const PairRotation *r, float factor) {
  typedef typename Codec<S>::S2 S2;
  const S2 u = *reinterpret_cast<device const S2 *>(in + I(pair));
  const S2 v = *reinterpret_cast<device const S2 *>(in + I(pair + pairs));
  float u0 = Codec<S>::widen(u.x);
  float u1 = Codec<S>::widen(u.y);
  float v0 = Codec<S>::widen(v.x);
  float v1 = Codec<S>::widen(v.y);
  rotate_pair(u0, v0, r[0], factor);
  rotate_pair(u1, v1, r[1], factor);
  S2 ru;
  S2 rv;
  ru.x = Codec<S>::narrow(u0);
  ru.y = Codec<S>::narrow(u1);
  rv.x = Codec<S>::narrow(v0);
  rv.y = Codec<S>::narrow(v1);
  *reinterpret_cast<device S2 *>(out + I(pair)) = ru;
  *reinterpret_cast<device S2 *>(out + I(pair + pairs)) = rv;
}

// V = 2 interleaved: features 2p..2p+3 as one 4-element vector.
template <typename S, typename I>
inline void rotate_row2_traditional(device const S *in, device S *out, uint pair,
                                    thread const PairRotation *r, float factor) {
  typedef typename Codec<S>::S4 S4;
  const S4 x = *reinterpret_cast<device const S4 *>(in + I(2 * pair));
  float u0 = Codec<S>::widen(x.x);
  float v0 = Codec<S>::widen(x.y);
  float u1 = Codec<S>::widen(x.z);
  float v1 = Codec<S>::widen(x.w);
  rotate_pair(u0, v0, r[0], factor);
  rotate_pair(u1, v1, r[1], factor);
  S4 result;
  result.x = Codec<S>::narrow(u0);
  result.y = Codec<S>::narrow(v0);
  result.z = Codec<S>::narrow(u1);
  result.w = Codec<S>::narrow(v1);
  *reinterpret_cast<device S4 *>(out + I(2 * pair)) = result;
}

// Element offset of head row (b, h, t) for strides st.
template <typename I>
inline I row_offset(constant const long *st, uint b, uint h, uint t) {
  return I(b) * I(st[0]) + I(h) * I(st[1]) + I(t) * I(st[2]);
}

// ---- Kernel ----

// S: storage type; TRADITIONAL: pairs (2i, 2i+1) instead of (i, i + dims/2); V: pairs per thread;
// I: index type, uint when every element offset of the call fits 31 bits, else ulong.
template <typename S, bool TRADITIONAL, uint V, typename I>
[[kernel]] void rope(constant RopeArgs &args [[buffer(0)]],
                     device const S *q_in [[buffer(1)]],
                     device S *q_out [[buffer(2)]],
                     device const S *k_in [[buffer(3)]],
                     device S *k_out [[buffer(4)]],
                     device const long *positions [[buffer(5)]],
                     device const float4 *pair_turns [[buffer(6)]],
                     uint3 gid [[thread_position_in_grid]]) {
  const uint t = gid.y;
  const uint b = gid.z / args.head_chunks;
  const uint chunk = gid.z - b * args.head_chunks;
  const uint q_heads = args.tensor[0].heads;
  const uint total_heads = q_heads + args.tensor[1].heads;
  const uint head_begin = chunk * args.head_chunk;
  const uint head_end = min(head_begin + args.head_chunk, total_heads);

  if (gid.x >= args.pair_groups) {
    // Tail thread: copies features [first, last) of every head in the chunk, out of place only.
    const uint first = 2 * args.pairs + (gid.x - args.pair_groups) * args.tail_unit;
    const uint last = min(first + args.tail_unit, args.features);
    for (uint h = head_begin; h < head_end; ++h) {
      const uint which = h < q_heads ? 0u : 1u;
      const uint head = h - which * q_heads;
      constant RopeTensorArgs &tensor = args.tensor[which];
      if (tensor.copy_tail == 0) {
        continue;
      }
      device const S *in = (which == 0 ? q_in : k_in) + I(tensor.in_offset) +
                           row_offset<I>(tensor.in_stride, b, head, t);
      device S *out = (which == 0 ? q_out : k_out) + I(tensor.out_offset) +
                      row_offset<I>(tensor.out_stride, b, head, t);
      const I in_fs = I(tensor.in_stride[3]);
      const I out_fs = I(tensor.out_stride[3]);
      for (uint j = first; j < last; ++j) {
        out[I(j) * out_fs] = in[I(j) * in_fs];
      }
    }
    return;
  }

  const uint pair = gid.x * V;
  const long n = position_of(args, positions, b, t);
  PairRotation rotation[V];
  for (uint v = 0; v < V; ++v) {
    rotation[v] = pair_rotation(n, pair_turns[pair + v], args.sin_sign);
  }

  for (uint h = head_begin; h < head_end; ++h) {
    const uint which = h < q_heads ? 0u : 1u;
    const uint head = h - which * q_heads;
    constant RopeTensorArgs &tensor = args.tensor[which];
    device const S *in = (which == 0 ? q_in : k_in) + I(tensor.in_offset) +
                         row_offset<I>(tensor.in_stride, b, head, t);
    device S *out = (which == 0 ? q_out : k_out) + I(tensor.out_offset) +
                    row_offset<I>(tensor.out_stride, b, head, t);
    if (V == 1) {
      rotate_row<S, TRADITIONAL, I>(in, out, I(tensor.in_stride[3]), I(tensor.out_stride[3]), pair,
                                    args.pairs, rotation[0], args.attention_factor);
    } else if (TRADITIONAL) {
      rotate_row2_traditional<S, I>(in, out, pair, rotation, args.attention_factor);
    } else {
      rotate_row2_split<S, I>(in, out, pair, args.pairs, rotation, args.attention_factor);
    }
  }
}

// ---- Instances: rope_<dtype>_<split|trad>_v<V>_i<index bits> ----

#define JROPE_ROPE_INSTANCES_FOR(X, DT, S)                  \
  X(rope_##DT##_split_v1_i32, S, false, 1, uint)            \
  X(rope_##DT##_split_v2_i32, S, false, 2, uint)            \
  X(rope_##DT##_trad_v1_i32, S, true, 1, uint)              \
  X(rope_##DT##_trad_v2_i32, S, true, 2, uint)              \
  X(rope_##DT##_split_v1_i64, S, false, 1, ulong)           \
  X(rope_##DT##_split_v2_i64, S, false, 2, ulong)           \
  X(rope_##DT##_trad_v1_i64, S, true, 1, ulong)             \
  X(rope_##DT##_trad_v2_i64, S, true, 2, ulong)

#define JROPE_ROPE_INSTANCES(X)                 \
  JROPE_ROPE_INSTANCES_FOR(X, f32, float)       \
  JROPE_ROPE_INSTANCES_FOR(X, f16, half)        \
  JROPE_ROPE_INSTANCES_FOR(X, bf16, bf16_storage)

// MSL names each instance with [[host_name]]; that form is an error in clang's C++ modes, which
// get a plain explicit instantiation instead.
#if defined(__METAL_VERSION__)
#define JROPE_INSTANTIATE(NAME, S, TRADITIONAL, V, I)                                       \
  template [[host_name(#NAME)]] [[kernel]] void rope<S, TRADITIONAL, V, I>(                 \
      constant RopeArgs & args [[buffer(0)]], device const S *q_in [[buffer(1)]],           \
      device S *q_out [[buffer(2)]], device const S *k_in [[buffer(3)]],                    \
      device S *k_out [[buffer(4)]], device const long *positions [[buffer(5)]],            \
      device const float4 *pair_turns [[buffer(6)]], uint3 gid [[thread_position_in_grid]]);
#else
#define JROPE_INSTANTIATE(NAME, S, TRADITIONAL, V, I)                                           \
  template void rope<S, TRADITIONAL, V, I>(constant RopeArgs &, device const S *, device S *,    \
                                           device const S *, device S *, device const long *,    \
                                           device const float4 *, uint3);
#endif

JROPE_ROPE_INSTANCES(JROPE_INSTANTIATE)
