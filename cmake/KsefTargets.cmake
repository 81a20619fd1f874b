# Small helpers so every module target gets the same flags.
#
#   ksef_cc_library(NAME <name> SRCS ... DEPS ...)  -> static library ksef_<name>
#   ksef_cc_test(NAME <name> SRCS ... DEPS ... [LABELS ...] [TIMEOUT s])
#   ksef_tpm2_variant(NAME <test> [TIMEOUT s])
#       -> ctest entry <test>_tpm2: the same executable with
#          KSEF_TEST_PKCS11_BACKEND=tpm2 (tpm2-pkcs11 over swtpm, label tpm2)
#
# Our own targets build with -Wall -Wextra -Werror; generated code (proto) does not.
# Tests run with KSEF_SANITIZER_TEST_ENV (cmake/Sanitizers.cmake; empty unless
# KSEF_SANITIZE is set).
#
#   -DKSEF_THREAD_SAFETY_ANALYSIS=ON (clang only): our targets also build
#   with -Wthread-safety as an error, so clang checks the ABSL_GUARDED_BY /
#   ABSL_EXCLUSIVE_LOCKS_REQUIRED / ... annotations (gcc ignores them), and
#   with -Wthread-safety-beta, which alone checks the lock order declared by
#   ABSL_ACQUIRED_AFTER / ABSL_ACQUIRED_BEFORE (clang 14).
#   The target ksef_concurrency builds every library and program of ours plus
#   the tests labelled "concurrency" (scripts/tsan.sh; ctest -L concurrency).

option(KSEF_THREAD_SAFETY_ANALYSIS "clang: check the thread-safety annotations (-Werror=thread-safety)" OFF)

set(KSEF_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)
if(KSEF_THREAD_SAFETY_ANALYSIS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KSEF_THREAD_SAFETY_ANALYSIS needs clang: configure with "
                        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  list(APPEND KSEF_WARNINGS -Wthread-safety -Wthread-safety-beta -Werror=thread-safety
       -Werror=thread-safety-beta)
endif()

# ksef_concurrency: filled by ksef_cc_library, ksef_cc_test (LABELS concurrency)
# and ksef_concurrency_add (programs and modules).
add_custom_target(ksef_concurrency)
function(ksef_concurrency_add)
  add_dependencies(ksef_concurrency ${ARGN})
endfunction()

function(ksef_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(ksef_${A_NAME} STATIC ${A_SRCS})
  target_include_directories(ksef_${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(ksef_${A_NAME} PRIVATE ${KSEF_WARNINGS})
  target_link_libraries(ksef_${A_NAME} PUBLIC ${A_DEPS} ${KSEF_SANITIZER_DEPS})
  ksef_concurrency_add(ksef_${A_NAME})
endfunction()

function(ksef_cc_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_compile_options(${A_NAME} PRIVATE ${KSEF_WARNINGS})
  target_include_directories(${A_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${A_NAME} COMMAND ${A_NAME})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 600)
  endif()
  set(env KSEF_BUILD_DIR=${PROJECT_BINARY_DIR} KSEF_SOURCE_DIR=${PROJECT_SOURCE_DIR}
      ${KSEF_SANITIZER_TEST_ENV})
  set_tests_properties(${A_NAME} PROPERTIES TIMEOUT ${A_TIMEOUT} ENVIRONMENT "${env}")
  if(A_LABELS)
    set_tests_properties(${A_NAME} PROPERTIES LABELS "${A_LABELS}")
  endif()
  if("concurrency" IN_LIST A_LABELS)
    ksef_concurrency_add(${A_NAME})
  endif()
endfunction()

# The second PKCS#11 implementation (docs/operations.md): runs an existing
# ksef_cc_test executable again on a tpm2-pkcs11 token over a private swtpm.
function(ksef_tpm2_variant)
  cmake_parse_arguments(A "" "NAME;TIMEOUT" "" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_test(NAME ${A_NAME}_tpm2 COMMAND ${A_NAME})
  # Sanitizer runs: tpm2-pkcs11's own leaks are suppressed for these entries
  # only (tests/sanitizers/lsan-tpm2.supp says why).
  set(sanitizer_env ${KSEF_SANITIZER_TEST_ENV})
  list(TRANSFORM sanitizer_env REPLACE "/lsan\\.supp" "/lsan-tpm2.supp")
  set(env KSEF_BUILD_DIR=${PROJECT_BINARY_DIR} KSEF_SOURCE_DIR=${PROJECT_SOURCE_DIR}
      KSEF_TEST_PKCS11_BACKEND=tpm2 ${sanitizer_env})
  set_tests_properties(${A_NAME}_tpm2 PROPERTIES TIMEOUT ${A_TIMEOUT} ENVIRONMENT "${env}"
                       LABELS tpm2)
endfunction()
