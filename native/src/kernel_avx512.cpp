// x86-64 variant built with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c.
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "kernel_avx512.cpp needs -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#define JROPE_KERNEL_NS avx512
#define JROPE_KERNEL_NAME "avx512"
#include "cpu_kernel_body.h"
