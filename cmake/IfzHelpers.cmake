# SPDX-License-Identifier: Apache-2.0
# IfzHelpers.cmake — ifz_library / ifz_test / ifz_executable: every target gets the project's
# warnings and the selected sanitizer, and libraries get an ifz::<name> alias.
set(IFZ_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

function(ifz_library name)
  cmake_parse_arguments(A "" "" "SRCS;DEPS" ${ARGN})
  add_library(ifz_${name} STATIC ${A_SRCS})
  add_library(ifz::${name} ALIAS ifz_${name})
  target_include_directories(ifz_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(ifz_${name} PRIVATE ${IFZ_WARNINGS})
  target_link_libraries(ifz_${name} PUBLIC ifz::sanitizer ifz::fuzzer_no_link ${A_DEPS})
endfunction()

if(IFZ_SANITIZER STREQUAL "fuzz-nosan")
  # Coverage-instrumented libraries without a sanitizer runtime: a program that is not a fuzz
  # target takes the coverage callbacks from libFuzzer's runtime without its main().
  execute_process(
    COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libclang_rt.fuzzer_no_main-x86_64.a
    OUTPUT_VARIABLE IFZ_FUZZER_NO_MAIN OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()

# Programs that are not fuzz targets (tools, the CLI, tests) in a fuzz-nosan build.
function(ifz_link_coverage_runtime name)
  if(IFZ_SANITIZER STREQUAL "fuzz-nosan")
    target_link_libraries(${name} PRIVATE ${IFZ_FUZZER_NO_MAIN})
    # The archive may come before the libraries that need it on the link line: pull in the
    # object with every coverage callback up front.
    target_link_options(${name} PRIVATE -Wl,--undefined=__sanitizer_cov_8bit_counters_init)
  endif()
endfunction()

function(ifz_executable name)
  cmake_parse_arguments(A "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${A_SRCS})
  target_compile_options(${name} PRIVATE ${IFZ_WARNINGS})
  target_link_libraries(${name} PRIVATE ifz::sanitizer ${A_DEPS})
  ifz_link_coverage_runtime(${name})
endfunction()

# ifz_test(name SRCS ... DEPS ... [LABELS ...]): one GoogleTest binary, tests discovered by ctest.
function(ifz_test name)
  if(NOT IFZ_BUILD_TESTING)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SRCS})
  target_compile_options(${name} PRIVATE ${IFZ_WARNINGS})
  target_link_libraries(${name} PRIVATE ifz::sanitizer ${A_DEPS} GTest::gtest GTest::gtest_main)
  ifz_link_coverage_runtime(${name})
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${A_LABELS}")
endfunction()
