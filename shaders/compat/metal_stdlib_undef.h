// Removes the address-space macros of compat/metal_stdlib after a kernel source was included as
// C++, so that code after it (and standard headers) can use the names device, constant, thread
// and threadgroup again.
#undef device
#undef constant
#undef threadgroup
#undef thread
