// x86-64 variant built with -mavx2 -mfma -mf16c.
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "kernel_avx2.cpp needs -mavx2 -mfma -mf16c"
#endif
#define JROPE_KERNEL_NS avx2
#define JROPE_KERNEL_NAME "avx2"
#include "cpu_kernel_body.h"
