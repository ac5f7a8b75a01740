#!/usr/bin/env bash
# Smoke test of the Metal backend on an Apple-silicon Mac, for a person with one at hand:
#  1. builds the native libraries (CPU shim and libjrope_metal.dylib) with CMake;
#  2. runs the planner's unit test;
#  3. prints the Metal device jrope finds, or why it finds none;
#  4. runs the parity suite on the GPU with Metal's API and shader validation on
#     (MTL_DEBUG_LAYER=1, MTL_SHADER_VALIDATION=1) and autorelease-pool checks;
#  5. prints benchmark numbers for metal and native, if ./jrope bench exists in this tree.
#
# Usage: scripts/mac-smoke.sh
# Environment: JROPE_SMOKE_DIR (build folder, default target/mac-smoke),
#              JROPE_SMOKE_SHAPES (bench shapes, default "1,32,1,128 1,32,4096,128 8,32,2048,128").
# Needs: the Xcode command-line tools (clang), cmake, Maven and a JDK 22 or newer. CMake downloads
# metal-cpp on the first run (see native/metal/jrope_metal.cmake).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '\n=== %s\n' "$*"; }

if [[ $(uname -s) != Darwin || $(uname -m) != arm64 ]]; then
    echo "mac-smoke: this script needs macOS on Apple silicon; this is $(uname -s) $(uname -m)." >&2
    echo "mac-smoke: elsewhere, test the kernels through the emulator: ctest in a CMake build," >&2
    echo "mac-smoke: scripts/check-address-spaces.sh and scripts/check-metal-host.sh METAL_CPP_DIR." >&2
    exit 2
fi
for tool in cmake mvn clang++; do
    command -v "$tool" >/dev/null 2>&1 || { echo "mac-smoke: $tool not found on PATH" >&2; exit 2; }
done

build=${JROPE_SMOKE_DIR:-$root/target/mac-smoke}
maven_build=$build/maven

log "system"
sw_vers
sysctl -n machdep.cpu.brand_string

log "build (CMake, $build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(sysctl -n hw.ncpu)" --target jrope jrope_metal jrope_metal_plan_test
metal_library=$build/libjrope_metal.dylib
[[ -f $metal_library ]] || metal_library=$(find "$build" -name libjrope_metal.dylib -print -quit)
cpu_library=$build/libjrope.dylib
echo "Metal library: $metal_library"

log "planner unit test"
"$build/jrope_metal_plan_test"

# API validation, shader validation (bounds and alignment of every device access), and a report of
# any autorelease without a pool.
export MTL_DEBUG_LAYER=1 MTL_SHADER_VALIDATION=1 OBJC_DEBUG_MISSING_POOLS=YES
jvm_options=(--enable-native-access=ALL-UNNAMED "-Djrope.metal.library=$metal_library"
    "-Djrope.native.library=$cpu_library")

log "classes (Maven, $maven_build)"
mvn -B -q -ntp "-Djrope.build.dir=$maven_build" -Djrope.native.skip=true test-compile

log "device"
probe=$(mktemp -d)/MetalProbe.java
cat >"$probe" <<'EOF'
import io.jrope.Backend;
import io.jrope.backend.metal.MetalBackend;

public class MetalProbe {
    public static void main(String[] args) {
        Backend metal = Backend.named("metal");
        if (!metal.isAvailable()) {
            System.out.println("metal: not available: " + metal.unavailableReason().orElse("?"));
            System.exit(1);
        }
        System.out.println("metal: " + MetalBackend.metal().deviceName());
    }
}
EOF
java "${jvm_options[@]}" -cp "$maven_build/classes" "$probe"

log "parity suite on the GPU (validation on)"
mvn -B -ntp "-Djrope.build.dir=$maven_build" -Djrope.native.skip=true surefire:test \
    -Dtest='RandomParityTest,PropertyTest,GoldenParityTest,MetalEmulatorTest' \
    -Djrope.test.require=native,metal \
    "-Djrope.test.jvm.extra=-Djrope.metal.library=$metal_library -Djrope.native.library=$cpu_library"

log "benchmark"
unset MTL_DEBUG_LAYER MTL_SHADER_VALIDATION OBJC_DEBUG_MISSING_POOLS
if [[ -x ./jrope ]] && ./jrope bench --help >/dev/null 2>&1; then
    export JROPE_JAVA_OPTS="-Djrope.metal.library=$metal_library -Djrope.native.library=$cpu_library"
    for shape in ${JROPE_SMOKE_SHAPES:-1,32,1,128 1,32,4096,128 8,32,2048,128}; do
        for backend in metal native; do
            ./jrope bench --backend "$backend" --shape "$shape" --dtype float32,float16,bfloat16 || \
                echo "bench: $backend $shape failed"
        done
    done
else
    echo "bench: ./jrope bench is not available in this tree; skipped"
fi

log "done: the Metal path built, found a device and passed the parity suite under validation"
