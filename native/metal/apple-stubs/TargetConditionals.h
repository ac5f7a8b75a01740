// Declaration-only stand-in for an Apple system header, so that scripts/check-metal-host.sh can
// syntax-check the metal-cpp host shim off Apple platforms. Declares only what metal-cpp uses;
// never compiled into a library.
#pragma once

// The check targets macOS.
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_VISION 0
#define TARGET_OS_SIMULATOR 0
