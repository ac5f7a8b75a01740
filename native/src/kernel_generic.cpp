// Portable variant: baseline flags of the target (SSE2 on x86-64, NEON on arm64).
#define JROPE_KERNEL_NS generic
#define JROPE_KERNEL_NAME "generic"
#include "cpu_kernel_body.h"
