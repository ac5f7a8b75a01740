// Declaration-only stand-in for an Apple system header, so that scripts/check-metal-host.sh can
// syntax-check the metal-cpp host shim off Apple platforms. Declares only what metal-cpp uses;
// never compiled into a library.
#pragma once

typedef struct __IOSurface *IOSurfaceRef;
