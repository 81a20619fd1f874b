# Sanitizer builds (docs/testing.md).
#
#   -DKSEF_SANITIZE=address,undefined   every target of this project (our
#       libraries, generated proto code, executables, the fault module) and
#       every link get -fsanitize=<list> -fno-sanitize-recover=all
#       -fno-omit-frame-pointer; ctest runs each test with
#       KSEF_SANITIZER_TEST_ENV (halt on the first error, stack traces, leak
#       checking with tests/sanitizers/lsan.supp). The tests hand their
#       environment down to the ksef-hsmd processes they start, so the server
#       runs under the same options. gcc or clang.
#
#   -DKSEF_SANITIZE=thread   ThreadSanitizer (scripts/tsan.sh, clang): the
#       same flags, TSAN_OPTIONS instead of the ASan ones (halt on the first
#       race, both stacks of a lock-order inversion, the third-party
#       suppressions in tests/sanitizers/tsan.supp). Debian's abseil is not
#       instrumented, so every target of ours links
#       tests/sanitizers/tsan_absl_sync.cc and wraps (-Wl,--wrap) the
#       absl::Mutex/CondVar/Notification functions it names, which tell TSan
#       about their happens-before edges (the file says how).
#
#   -DKSEF_FUZZ=ON   the libFuzzer tree (tests/fuzz/): clang only; the
#       libraries the fuzz targets link are compiled with
#       -fsanitize=fuzzer-no-link,address,undefined so libFuzzer sees their
#       coverage; only the targets link -fsanitize=fuzzer (the main()).
#       No tests, no bench, no server, no client binary.
#
# Third-party libraries (OpenSSL, gRPC, SoftHSM2, ...) stay uninstrumented
# Debian builds; ASan still sees their heap through malloc interposition.

set(KSEF_SANITIZE "" CACHE STRING
    "Comma-separated -fsanitize= list for every target, e.g. address,undefined (empty: off)")
option(KSEF_FUZZ "Build only the libFuzzer targets in tests/fuzz (needs clang)" OFF)

set(KSEF_SANITIZER_TEST_ENV "")
# Targets every library of ours links PUBLIC (ksef_cc_library): the TSan
# abseil annotations below; empty otherwise.
set(KSEF_SANITIZER_DEPS "")

# -DKSEF_SANITIZE=thread: the library ksef_tsan_absl_sync and, for every
# link, -Wl,--wrap=<symbol> for each abseil symbol its source wraps (read
# from the source, so the two lists cannot drift apart).
macro(ksef_tsan_absl_sync)
  set(shim ${PROJECT_SOURCE_DIR}/tests/sanitizers/tsan_absl_sync.cc)
  file(READ ${shim} shim_text)
  string(REGEX MATCHALL "_ZNK?4absl7debian3[A-Za-z0-9_]+" wrapped "${shim_text}")
  list(REMOVE_DUPLICATES wrapped)
  foreach(sym IN LISTS wrapped)
    add_link_options(-Wl,--wrap=${sym})
  endforeach()
  add_library(ksef_tsan_absl_sync STATIC ${shim})
  target_link_libraries(ksef_tsan_absl_sync PUBLIC absl::synchronization)
  set(KSEF_SANITIZER_DEPS ksef_tsan_absl_sync)
endmacro()

if(KSEF_FUZZ AND KSEF_SANITIZE)
  message(FATAL_ERROR "KSEF_FUZZ and KSEF_SANITIZE are separate build trees; set one")
endif()

if(KSEF_SANITIZE)
  add_compile_options(-fsanitize=${KSEF_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${KSEF_SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC's flow-based warning is unreliable on instrumented code (gcc 12
    # reports std::function members inside std::regex as uninitialized with
    # -fsanitize=address); the normal build keeps it, with -Werror.
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
  set(supp ${PROJECT_SOURCE_DIR}/tests/sanitizers/lsan.supp)
  set(tsan_supp ${PROJECT_SOURCE_DIR}/tests/sanitizers/tsan.supp)
  # halt_on_error with -fno-sanitize-recover: the first finding fails the
  # test (and, in a ksef-hsmd child, the test that started it).
  # check_initialization_order catches static-init order bugs in our code.
  # exitcode=66: a finding in a ksef-hsmd child (even a leak reported at its
  # exit) differs from the exit code 1 some e2e tests expect from a refused
  # config, and from the 0 they expect after SIGTERM.
  set(KSEF_SANITIZER_TEST_ENV
      "ASAN_OPTIONS=exitcode=66:halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:print_stacktrace=1"
      "UBSAN_OPTIONS=exitcode=66:halt_on_error=1:print_stacktrace=1:report_error_type=1"
      "LSAN_OPTIONS=suppressions=${supp}:print_suppressions=0")
  find_program(KSEF_LLVM_SYMBOLIZER NAMES llvm-symbolizer llvm-symbolizer-14)
  if(KSEF_LLVM_SYMBOLIZER)
    list(APPEND KSEF_SANITIZER_TEST_ENV "ASAN_SYMBOLIZER_PATH=${KSEF_LLVM_SYMBOLIZER}"
         "TSAN_SYMBOLIZER_PATH=${KSEF_LLVM_SYMBOLIZER}")
  endif()
  if(KSEF_SANITIZE MATCHES "(^|,)thread(,|$)")
    # TSan: halt_on_error with exitcode=66 as above; second_deadlock_stack:
    # a lock-order inversion report shows where both locks were taken.
    list(APPEND KSEF_SANITIZER_TEST_ENV
         "TSAN_OPTIONS=exitcode=66:halt_on_error=1:second_deadlock_stack=1:suppressions=${tsan_supp}:print_suppressions=0")
    ksef_tsan_absl_sync()
  endif()
endif()

if(KSEF_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KSEF_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(KSEF_BUILD_TESTS OFF CACHE BOOL "" FORCE)
  set(KSEF_BUILD_BENCH OFF CACHE BOOL "" FORCE)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
