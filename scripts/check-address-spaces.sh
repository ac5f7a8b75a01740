#!/usr/bin/env bash
# Checks a Metal kernel source off Apple hardware, with clang 15 or newer:
#  1. as C++ for OpenCL, with device/constant/threadgroup/thread mapped to
#     __global/__constant/__local/__private by shaders/compat/metal_stdlib. Passing a pointer of one
#     address space where another is expected, or writing through constant memory, is then an
#     error. It runs once with Metal 3.1's bfloat type and once with the ushort fallback;
#  2. as C++17 with -Wdouble-promotion -Werror, since MSL has no double.
#
# Usage: scripts/check-address-spaces.sh [KERNEL.metal]   (default: shaders/rope.metal)
# Environment: CLANG (default: clang-16, else clang). Exits non-zero on the first failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source_file=${1:-$root/shaders/rope.metal}
compat=$root/shaders/compat

clang=${CLANG:-}
if [[ -z $clang ]]; then
    for candidate in clang-16 clang-17 clang-18 clang-15 clang; do
        if command -v "$candidate" >/dev/null 2>&1; then
            clang=$candidate
            break
        fi
    done
fi
if [[ -z $clang ]]; then
    echo "check-address-spaces: no clang found; install clang-16 (apt-get install clang-16) or set CLANG" >&2
    exit 2
fi
if [[ ! -f $source_file ]]; then
    echo "check-address-spaces: kernel source $source_file not found" >&2
    exit 2
fi

# -Wno-unknown-attributes: [[buffer(0)]] and the other MSL attributes mean nothing to these modes.
common=(-fsyntax-only -Wall -Wno-unknown-attributes -I "$compat")
opencl=(-x clcpp -cl-std=clc++2021 -target spir64 -Xclang -cl-ext=+cl_khr_fp16)

run() {
    local label=$1
    shift
    if "$clang" "$@" "$source_file"; then
        echo "ok: $label"
    else
        echo "FAILED: $label ($source_file)" >&2
        exit 1
    fi
}

run "address spaces, bfloat type (C++ for OpenCL)" "${opencl[@]}" "${common[@]}" -Werror
run "address spaces, bfloat as ushort bits (C++ for OpenCL)" "${opencl[@]}" "${common[@]}" -Werror \
    -DJROPE_FORCE_BFLOAT_BITS=1
run "no double precision (C++17)" -x c++ -std=c++17 "${common[@]}" -Wdouble-promotion -Werror
