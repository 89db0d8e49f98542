# Build checks of lstm-nlp: warnings (and warnings as errors) on our own targets, and sanitizers.
#
#   -DLSTMNLP_WERROR=ON                     warnings fail the build (scripts/test.sh, CI)
#   -DLSTMNLP_SANITIZE=address,undefined    instrument everything (scripts/sanitize.sh)
#   -DLSTMNLP_FUZZ=ON                       clang only: coverage for libFuzzer and the fuzz/
#                                           harnesses (scripts/fuzz.sh)
#
# LibTorch, Boost, yaml-cpp, GoogleTest and SentencePiece come in as imported targets or from
# /usr/include, that is as system headers, so their own warnings stay out of ours.

option(LSTMNLP_WERROR "Treat compiler warnings as errors" OFF)
option(LSTMNLP_FUZZ "Build the libFuzzer harnesses in fuzz/ (clang only)" OFF)
set(LSTMNLP_SANITIZE "" CACHE STRING
    "Comma-separated sanitizers to build with, e.g. address,undefined (empty = none)")

set(LSTMNLP_WARNING_FLAGS "")
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(LSTMNLP_WARNING_FLAGS -Wall -Wextra)
  if(LSTMNLP_WERROR)
    list(APPEND LSTMNLP_WARNING_FLAGS -Werror)
    # GCC 13 and later (Debian 13's GCC 14) report -Warray-bounds and -Wstringop-overflow inside
    # libstdc++'s own algorithms when inlined at -O3 (a known class of false positives, e.g. on
    # std::vector copies in models/lstm.cpp): they stay warnings there, not errors.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 13)
      list(APPEND LSTMNLP_WARNING_FLAGS -Wno-error=array-bounds -Wno-error=stringop-overflow)
    endif()
  endif()
endif()

# Adds the warning flags to `target` (the library, every executable and the test binary, so that
# they can share one precompiled header).
function(lstmnlp_warnings target)
  target_compile_options(${target} PRIVATE ${LSTMNLP_WARNING_FLAGS})
endfunction()

if(LSTMNLP_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "LSTMNLP_SANITIZE needs GCC or Clang")
  endif()
  message(STATUS "Sanitizers: ${LSTMNLP_SANITIZE}")
  add_compile_options(-fsanitize=${LSTMNLP_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${LSTMNLP_SANITIZE})
endif()

if(LSTMNLP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LSTMNLP_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Coverage feedback from all of our code; the harnesses link libFuzzer itself (fuzz/).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
