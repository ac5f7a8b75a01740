// Declaration-only stand-in for an Apple system header, so that scripts/check-metal-host.sh can
// syntax-check the metal-cpp host shim off Apple platforms. Declares only what metal-cpp uses;
// never compiled into a library.
#pragma once

#include <math.h>
#include <stdint.h>

#include <dispatch/dispatch.h>

typedef double CFTimeInterval;
typedef const void *CFTypeRef;
