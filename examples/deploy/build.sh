#!/bin/sh
# Build the C demo against the exported library: one command, no Python involved.
#   sh examples/deploy/build.sh [out]      (out defaults to examples/deploy/out)
# The executable finds libdigits.so through its rpath ($ORIGIN/digits, i.e. next to it), and
# libdigits.so finds libscipy_openblas.so next to itself: the out directory can be moved as a whole.
set -e
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/out}"
${CC:-cc} -O2 -std=c99 -Wall "$here/main.c" -I"$out/digits" -L"$out/digits" -ldigits \
  '-Wl,-rpath,$ORIGIN/digits' -o "$out/digits_demo"
echo "built $out/digits_demo"
