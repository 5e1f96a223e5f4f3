# SPDX-License-Identifier: Apache-2.0
# Sanitizers.cmake — sanitizer flags as one INTERFACE target, ifz::sanitizer, selected by
# IFZ_SANITIZER. Every ifz_* target links it, so nothing edits the global CMAKE_CXX_FLAGS.
add_library(ifz_sanitizer INTERFACE)
add_library(ifz::sanitizer ALIAS ifz_sanitizer)
# Fuzzer instrumentation without libFuzzer's main(): for libraries linked into fuzz targets.
add_library(ifz_fuzzer_no_link INTERFACE)
add_library(ifz::fuzzer_no_link ALIAS ifz_fuzzer_no_link)

set(_ifz_common -fno-omit-frame-pointer -g)
if(IFZ_SANITIZER STREQUAL "asan" OR IFZ_SANITIZER STREQUAL "fuzz")
  set(_ifz_san -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  target_compile_options(ifz_sanitizer INTERFACE ${_ifz_san} ${_ifz_common})
  target_link_options(ifz_sanitizer INTERFACE ${_ifz_san})
  target_compile_definitions(ifz_sanitizer INTERFACE IFZ_ASAN=1)
elseif(IFZ_SANITIZER STREQUAL "tsan")
  target_compile_options(ifz_sanitizer INTERFACE -fsanitize=thread ${_ifz_common})
  target_link_options(ifz_sanitizer INTERFACE -fsanitize=thread)
  target_compile_definitions(ifz_sanitizer INTERFACE IFZ_TSAN=1)
elseif(NOT IFZ_SANITIZER STREQUAL "none" AND NOT IFZ_SANITIZER STREQUAL "fuzz-nosan")
  message(FATAL_ERROR
    "IFZ_SANITIZER must be none, asan, tsan, fuzz or fuzz-nosan (got '${IFZ_SANITIZER}')")
endif()
# fuzz-nosan: libFuzzer coverage without ASan/UBSan, to measure the engine's own speed.
if(IFZ_SANITIZER STREQUAL "fuzz" OR IFZ_SANITIZER STREQUAL "fuzz-nosan")
  # Coverage of the runtime only (sancov_ignorelist.txt says why). The list is copied under
  # a name carrying its hash, so that editing it changes the command line and rebuilds.
  set(_ifz_ignore ${CMAKE_CURRENT_LIST_DIR}/sancov_ignorelist.txt)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_ifz_ignore})
  file(SHA1 ${_ifz_ignore} _ifz_ignore_hash)
  string(SUBSTRING ${_ifz_ignore_hash} 0 12 _ifz_ignore_hash)
  configure_file(${_ifz_ignore} ${CMAKE_BINARY_DIR}/sancov_ignorelist-${_ifz_ignore_hash}.txt COPYONLY)
  target_compile_options(ifz_fuzzer_no_link INTERFACE -fsanitize=fuzzer-no-link
    -fsanitize-coverage-ignorelist=${CMAKE_BINARY_DIR}/sancov_ignorelist-${_ifz_ignore_hash}.txt)
endif()
