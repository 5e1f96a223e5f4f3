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

function(ifz_executable name)
  cmake_parse_arguments(A "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${A_SRCS})
  target_compile_options(${name} PRIVATE ${IFZ_WARNINGS})
  target_link_libraries(${name} PRIVATE ifz::sanitizer ${A_DEPS})
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
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${A_LABELS}")
endfunction()
