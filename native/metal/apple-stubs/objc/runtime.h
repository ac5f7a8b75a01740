// Declaration-only stand-in for an Apple system header, so that scripts/check-metal-host.sh can
// syntax-check the metal-cpp host shim off Apple platforms. Declares only what metal-cpp uses;
// never compiled into a library.
#pragma once

typedef struct objc_class *Class;
struct objc_object {
  Class isa;
};
typedef struct objc_object *id;
typedef struct objc_selector *SEL;
typedef struct objc_object Protocol;

#ifdef __cplusplus
extern "C" {
#endif
Class objc_lookUpClass(const char *name);
SEL sel_registerName(const char *name);
Protocol *objc_getProtocol(const char *name);
#ifdef __cplusplus
}
#endif
