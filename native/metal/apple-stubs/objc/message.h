// Declaration-only stand-in for an Apple system header, so that scripts/check-metal-host.sh can
// syntax-check the metal-cpp host shim off Apple platforms. Declares only what metal-cpp uses;
// never compiled into a library.
#pragma once

#include <objc/runtime.h>

// Apple declares the dispatch functions without parameters; callers cast them to the real type.
#ifdef __cplusplus
extern "C" {
#endif
void objc_msgSend(void);
void objc_msgSend_fpret(void);
void objc_msgSend_stret(void);
#ifdef __cplusplus
}
#endif
