#!/bin/bash -eu
# SPDX-License-Identifier: Apache-2.0
# ci/oss-fuzz/build.sh — the OSS-Fuzz / ClusterFuzzLite build (DESIGN D8): every fuzz target of
# fuzzers/ into $OUT with its <target>_seed_corpus.zip, .dict and .options.
#
# Uses only the standard environment: $CC $CXX $CFLAGS $CXXFLAGS (sanitizer and coverage flags
# included) $LIB_FUZZING_ENGINE $OUT $WORK, and $SRC for the checkout (the working directory
# when it holds the project, as the Dockerfile's WORKDIR does, else $SRC/interpfuzz). The
# project adds no sanitizer flag of its own here (IFZ_SANITIZER=none): OSS-Fuzz's are in the
# flags. Boost.Context is linked statically: the runner image has no libboost.
# OSS-Fuzz forbids child processes and runs one core: nothing on this path forks for real (the
# targets use the simulated platform, whose fork is in-process).
if [[ -f CMakeLists.txt && -d fuzzers ]]; then
  project="$PWD"
else
  project="$SRC/interpfuzz"
fi
build="$WORK/interpfuzz-build"

boost_context_a="$(find /usr/lib /usr/local/lib -name libboost_context.a 2>/dev/null | head -n 1)"
if [[ -z "$boost_context_a" ]]; then
  echo "build.sh: libboost_context.a not found (install libboost-context-dev)" >&2
  exit 1
fi
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

# No CMAKE_BUILD_TYPE: the optimisation level is OSS-Fuzz's (-O1 ... in $CFLAGS).
cmake -S "$project" -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE= \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DIFZ_SANITIZER=none -DIFZ_BUILD_TESTING=OFF \
  -DIFZ_FUZZING_ENGINE="$LIB_FUZZING_ENGINE" \
  -DIFZ_BOOST_CONTEXT_LIB="$boost_context_a"
cmake --build "$build" --target fuzz_targets ifz_gen_dict -j "$(nproc)"

zip_dir() {  # zip_dir DIR ZIP: the files of DIR, flat (OSS-Fuzz seed corpus layout)
  rm -f "$2"
  if command -v zip >/dev/null; then
    (cd "$1" && zip -q -j "$2" ./*)
  else
    (cd "$1" && cmake -E tar cf "$2" --format=zip -- ./*)
  fi
}

for target in $("$build/bin/ifz_gen_dict" --list); do
  cp "$build/bin/$target" "$OUT/"
  cp "$project/fuzzers/$target.options" "$OUT/"
  cp "$project/corpus/dict/$target.dict" "$OUT/"
  zip_dir "$build/fuzzers/corpus/$target" "$OUT/${target}_seed_corpus.zip"
done
