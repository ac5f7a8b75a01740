# Writes a C++ header holding a Metal source file as the string kRopeMetalSource, so that the host
# shim compiles the kernels at run time without shipping the .metal file.
#
#   cmake -DINPUT=shaders/rope.metal -DOUTPUT=build/rope_metal_source.h -P native/metal/embed_shader.cmake
#
# The header changes only when the source does, so dependent objects rebuild only then.
if(NOT DEFINED INPUT OR NOT DEFINED OUTPUT)
  message(FATAL_ERROR "embed_shader.cmake needs -DINPUT=<kernel.metal> and -DOUTPUT=<header.h>")
endif()

file(READ "${INPUT}" source)
# The raw string ends at )jrope_metal" and must not meet that sequence earlier.
string(FIND "${source}" ")jrope_metal\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains )jrope_metal\" and cannot be embedded as a raw string")
endif()

get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
     "// Generated from ${name} by native/metal/embed_shader.cmake; do not edit.\n"
     "#pragma once\n"
     "static const char kRopeMetalSource[] = R\"jrope_metal(${source})jrope_metal\";\n")
execute_process(COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
file(REMOVE "${OUTPUT}.tmp")
