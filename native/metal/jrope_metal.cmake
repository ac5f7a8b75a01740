# The Metal backend's native parts, included from the root CMakeLists.txt:
#
#   include(native/metal/jrope_metal.cmake)
#
# Builds, on every platform, the dispatch planner (jrope_metal_plan) and its unit test; on macOS the
# Metal host shim libjrope_metal.dylib (metal-cpp fetched at configure time, never committed);
# elsewhere, when clang 15 or newer is found, the CPU emulator libjrope_metal_emu.so with its tests
# as an external project, because it must be compiled with clang whatever compiler the rest uses.
#
# Options:
#   JROPE_METAL_EMU         build the emulator off Apple platforms (default ON; skipped with a
#                           status message when no clang 15+ is found)
#   JROPE_METAL_CPP_DIR     use an unpacked metal-cpp here instead of fetching it
#   JROPE_METAL_CPP_URL     fetch a metal-cpp archive from this URL instead of the pinned git commit;
#   JROPE_METAL_CPP_SHA256  its SHA-256, required with the URL
# Tests: metal_plan (planner) and metal_emu (runs the emulator project's ctest).

set(JROPE_METAL_DIR "${CMAKE_CURRENT_LIST_DIR}")
get_filename_component(JROPE_METAL_ROOT "${JROPE_METAL_DIR}/../.." ABSOLUTE)

add_library(jrope_metal_plan STATIC "${JROPE_METAL_DIR}/rope_plan.cpp")
target_include_directories(jrope_metal_plan PUBLIC "${JROPE_METAL_DIR}" "${JROPE_METAL_ROOT}/native/include")
set_target_properties(jrope_metal_plan PROPERTIES
  POSITION_INDEPENDENT_CODE ON CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)

if(NOT DEFINED JROPE_BUILD_TESTS OR JROPE_BUILD_TESTS)
  add_executable(jrope_metal_plan_test "${JROPE_METAL_DIR}/plan_test.cpp")
  target_link_libraries(jrope_metal_plan_test PRIVATE jrope_metal_plan)
  set_target_properties(jrope_metal_plan_test PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
  add_test(NAME metal_plan COMMAND jrope_metal_plan_test)
endif()

if(APPLE)
  # metal-cpp release for macOS 14.2 / iOS 17.2, pinned by commit in a public mirror of Apple's
  # archives; JROPE_METAL_CPP_URL with JROPE_METAL_CPP_SHA256 selects Apple's own zip instead.
  set(JROPE_METAL_CPP_DIR "" CACHE PATH "unpacked metal-cpp (holds Foundation/ and Metal/); empty: fetch")
  set(JROPE_METAL_CPP_URL "" CACHE STRING "metal-cpp archive URL; empty: the pinned git commit")
  set(JROPE_METAL_CPP_SHA256 "" CACHE STRING "SHA-256 of JROPE_METAL_CPP_URL")
  if(JROPE_METAL_CPP_DIR)
    set(jrope_metal_cpp_source "${JROPE_METAL_CPP_DIR}")
  else()
    include(FetchContent)
    if(JROPE_METAL_CPP_URL)
      if(NOT JROPE_METAL_CPP_SHA256)
        message(FATAL_ERROR "JROPE_METAL_CPP_URL needs JROPE_METAL_CPP_SHA256, the archive's SHA-256")
      endif()
      FetchContent_Declare(jrope_metal_cpp URL "${JROPE_METAL_CPP_URL}" URL_HASH "SHA256=${JROPE_METAL_CPP_SHA256}")
    else()
      FetchContent_Declare(jrope_metal_cpp
        GIT_REPOSITORY https://github.com/bkaradzic/metal-cpp.git
        GIT_TAG a63bd172ddcba73a3d87ca32032b66ad41ddb9a6
        GIT_SHALLOW FALSE)
    endif()
    FetchContent_MakeAvailable(jrope_metal_cpp)
    set(jrope_metal_cpp_source "${jrope_metal_cpp_SOURCE_DIR}")
  endif()

  # shaders/rope.metal as a C++ string: the shim compiles it at run time with the OS's compiler.
  set(jrope_metal_generated "${CMAKE_CURRENT_BINARY_DIR}/jrope_metal_generated")
  add_custom_command(
    OUTPUT "${jrope_metal_generated}/rope_metal_source.h"
    COMMAND "${CMAKE_COMMAND}" -DINPUT=${JROPE_METAL_ROOT}/shaders/rope.metal
            -DOUTPUT=${jrope_metal_generated}/rope_metal_source.h -P "${JROPE_METAL_DIR}/embed_shader.cmake"
    DEPENDS "${JROPE_METAL_ROOT}/shaders/rope.metal" "${JROPE_METAL_DIR}/embed_shader.cmake"
    COMMENT "Embedding shaders/rope.metal")

  add_library(jrope_metal SHARED "${JROPE_METAL_DIR}/metal_host.cpp" "${jrope_metal_generated}/rope_metal_source.h")
  target_include_directories(jrope_metal PRIVATE "${jrope_metal_generated}")
  target_include_directories(jrope_metal SYSTEM PRIVATE "${jrope_metal_cpp_source}")
  # CoreGraphics: Apple asks command-line tools to link it to get a default Metal device.
  target_link_libraries(jrope_metal PRIVATE jrope_metal_plan
    "-framework Metal" "-framework Foundation" "-framework CoreGraphics")
  set_target_properties(jrope_metal PROPERTIES
    CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_VISIBILITY_PRESET hidden)
else()
  option(JROPE_METAL_EMU "Build the Metal emulator and its tests (needs clang 15 or newer)" ON)
  if(JROPE_METAL_EMU)
    set(jrope_emu_cxx "")
    if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 15)
      set(jrope_emu_cxx "${CMAKE_CXX_COMPILER}")
    else()
      find_program(JROPE_EMU_CXX NAMES clang++-16 clang++-18 clang++-17 clang++-15 clang++)
      if(JROPE_EMU_CXX)
        execute_process(COMMAND "${JROPE_EMU_CXX}" -dumpversion OUTPUT_VARIABLE jrope_emu_version
                        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        if(jrope_emu_version VERSION_GREATER_EQUAL 15)
          set(jrope_emu_cxx "${JROPE_EMU_CXX}")
        endif()
      endif()
    endif()

    if(jrope_emu_cxx)
      include(ExternalProject)
      set(jrope_emu_binary "${CMAKE_BINARY_DIR}/metal_emu")
      ExternalProject_Add(jrope_metal_emu_project
        SOURCE_DIR "${JROPE_METAL_ROOT}/native/metal_emu"
        BINARY_DIR "${jrope_emu_binary}"
        CMAKE_ARGS -DCMAKE_CXX_COMPILER=${jrope_emu_cxx} -DCMAKE_BUILD_TYPE=RelWithDebInfo
                   -DJROPE_EMU_SANITIZE_ADDRESS=${JROPE_SANITIZE}
        INSTALL_COMMAND ""
        BUILD_ALWAYS ON)
      add_test(NAME metal_emu COMMAND "${CMAKE_CTEST_COMMAND}" --test-dir "${jrope_emu_binary}" --output-on-failure)
      message(STATUS "Metal emulator: ${jrope_emu_binary}/libjrope_metal_emu.so, built with ${jrope_emu_cxx}")
    else()
      message(STATUS "Metal emulator not built: no clang 15 or newer found (install clang-16)")
    endif()
  endif()
endif()
