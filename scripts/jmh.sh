#!/usr/bin/env bash
# Runs the JMH benchmarks under src/test/java/io/jrope/jmh on the JDK the ./jrope launcher finds.
# Arguments go to JMH, for example:  scripts/jmh.sh RopeBenchmark -p dtype=float32 -wi 2 -i 3
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

java_home="$(JROPE_PRINT_JAVA_HOME=1 ./jrope)"
JAVA_HOME="$java_home" mvn -q -B -ntp -DskipTests package >/dev/null
classpath="target/test-classes:target/classes:$(cat target/classpath.txt)"
exec "$java_home/bin/java" --enable-native-access=ALL-UNNAMED -cp "$classpath" org.openjdk.jmh.Main "$@"
