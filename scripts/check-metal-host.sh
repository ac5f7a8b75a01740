#!/usr/bin/env bash
# Syntax-checks the Metal host shim (native/metal/metal_host.cpp) against real metal-cpp headers,
# off Apple platforms: clang with -fblocks (metal-cpp uses Apple's block syntax) and -fsyntax-only,
# with the declaration-only stand-ins of native/metal/apple-stubs in place of the Apple system
# headers metal-cpp includes. Checks the x86_64 and the arm64 branches of the headers.
#
# Nothing is linked or run, so this catches type and API errors (a wrong method name, an
# MTL::StorageMode passed where MTL::ResourceOptions belongs), not behaviour.
#
# Usage: scripts/check-metal-host.sh METAL_CPP_DIR
#   METAL_CPP_DIR holds Foundation/ and Metal/ (an unpacked metal-cpp release), or is a git
#   directory of a metal-cpp mirror, whose HEAD is then exported to a temporary folder.
# Environment: CLANGXX (default: clang++-16, else clang++).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -ne 1 ]]; then
    echo "usage: $0 METAL_CPP_DIR" >&2
    exit 2
fi
metal_cpp=$1

clangxx=${CLANGXX:-}
if [[ -z $clangxx ]]; then
    for candidate in clang++-16 clang++-17 clang++-18 clang++-15 clang++; do
        if command -v "$candidate" >/dev/null 2>&1; then
            clangxx=$candidate
            break
        fi
    done
fi
if [[ -z $clangxx ]]; then
    echo "check-metal-host: no clang++ found; install clang-16 (apt-get install clang-16) or set CLANGXX" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/jrope-metal-host.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ ! -f $metal_cpp/Metal/Metal.hpp ]]; then
    if git --git-dir="$metal_cpp" rev-parse --verify -q HEAD >/dev/null 2>&1; then
        mkdir "$work/metal-cpp"
        git --git-dir="$metal_cpp" archive HEAD | tar -x -C "$work/metal-cpp"
        echo "metal-cpp: $metal_cpp at $(git --git-dir="$metal_cpp" rev-parse HEAD)"
        metal_cpp=$work/metal-cpp
    else
        echo "check-metal-host: $metal_cpp has no Metal/Metal.hpp and is not a git directory" >&2
        exit 2
    fi
fi
if [[ ! -f $metal_cpp/Metal/Metal.hpp ]]; then
    echo "check-metal-host: no Metal/Metal.hpp under $metal_cpp" >&2
    exit 2
fi

cmake -DINPUT="$root/shaders/rope.metal" -DOUTPUT="$work/rope_metal_source.h" \
    -P "$root/native/metal/embed_shader.cmake"

flags=(-std=c++17 -fblocks -fsyntax-only -Wall -Wextra
    -isystem "$root/native/metal/apple-stubs" -isystem "$metal_cpp"
    -I "$root/native/metal" -I "$root/native/include" -I "$work")

status=0

# MTL::StorageMode* and MTL::ResourceStorageMode* are both plain integers to the compiler, so
# passing the first where newBuffer takes ResourceOptions compiles and picks another mode for
# Private (2 vs 32). The host code must name only the Resource* constants.
if grep -nE '(^|[^A-Za-z])StorageMode(Shared|Private|Managed|Memoryless)' "$root/native/metal/metal_host.cpp"; then
    echo "FAILED: metal_host.cpp uses MTL::StorageMode* where MTL::ResourceStorageMode* is meant" >&2
    status=1
fi

for target in x86_64 arm64; do
    extra=()
    if [[ $target == arm64 ]]; then
        extra=(-target aarch64-linux-gnu -D__arm64__=1)
        # The arm64 pass needs the C and C++ headers of an aarch64 toolchain.
        if ! echo '#include <string>' | "$clangxx" -x c++ -std=c++17 -fsyntax-only "${extra[@]}" - 2>/dev/null; then
            echo "SKIPPED: arm64 branches (no aarch64 C++ headers; on Debian install" \
                "libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross)"
            continue
        fi
    fi
    if "$clangxx" "${flags[@]}" "${extra[@]}" "$root/native/metal/metal_host.cpp"; then
        echo "ok: metal_host.cpp against $metal_cpp ($target branches)"
    else
        echo "FAILED: metal_host.cpp against $metal_cpp ($target branches)" >&2
        status=1
    fi
done
exit $status
