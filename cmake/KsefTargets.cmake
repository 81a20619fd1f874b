# Small helpers so every module target gets the same flags.
#
#   ksef_cc_library(NAME <name> SRCS ... DEPS ... [FOLDER f]) -> static library ksef_<name>
#   ksef_cc_test(NAME <name> SRCS ... DEPS ... [LABELS ...] [TIMEOUT s] [FOLDER f])
#   ksef_tpm2_variant(NAME <test> [TIMEOUT s])
#       -> ctest entry <test>_tpm2: the same executable with
#          KSEF_TEST_PKCS11_BACKEND=tpm2 (tpm2-pkcs11 over swtpm, label tpm2)
#
# Our own targets build with -Wall -Wextra, and with -Werror when
# -DKSEF_WERROR=ON (default OFF, so that a plain `cmake -S . -B b && cmake
# --build b` with another compiler or optimization level is not stopped by
# a new warning; scripts/build.sh, sanitize.sh, fuzz.sh and tsan.sh, i.e.
# everything CI runs, turn it on). Generated code (proto) gets neither.
#
# Include views: the build enforces the layers (cmake/layers.cmake). No target
# gets the repository root as an include directory; each sees only what it
# may include, through views of the source tree made of symbolic links in
# <build>/include/ (copies where the file system has no symbolic links):
#
#   <folder>/public/<folder>/x.h   the public headers of a folder: all of its
#                                  headers except <folder>/.../internal/ and
#                                  the test-only ones (testing/, *_testing.h)
#   <folder>/private/<folder>/...  all of its headers
#   test-only/<folder>/...         the test-only headers of every folder
#
# (<folder> with "/" as ".": client.cli, tests.support.) A library's folder
# is FOLDER, else the deepest folder holding all its sources (formats for
# formats/ + formats/csr/ ...; service for the fuzz tree's parsers built from
# service/ sources). Its users see its public view (INTERFACE include), it
# sees its private view (PRIVATE). Any other target of ours - a test, a
# program, a module, or a library made by add_library() - belongs to the
# library folder its sources are in (formats/csr/csr_test.cc: formats),
# else to the folder of its sources (tests/e2e, bench, tests/fuzz), and
# sees that folder's private view; tests (ksef_cc_test) also see test-only/.
# So tests beside a library use its internals, tests/ and bench/ only the
# public headers of what they link, and tests/e2e/e2e_fixture.h,
# tests/fuzz/fuzz_check.h, bench/raw_pkcs11.h are seen from their own folder.
# Headers of a library folder nested in another (client/cli in client) belong
# to the nested one only. Generated proto headers keep their own directory
# (ksef_proto). The known violations of cmake/layers.cmake of an internal or
# test-only header also open those views to the folder they name.
#
# The views are made at the end of configuring (cmake_language(DEFER), so
# every target of every directory is known, whatever created it), from
# scratch each time (a moved header leaves no stale link); the header lists
# are globbed with CONFIGURE_DEPENDS, so adding, moving or removing a header
# re-runs the configure step at the next build. With symbolic links (not
# copies) the path a compiler message or a debugger names opens the real
# file, editing it needs no re-configure, and make's dependency checks
# follow the links to the real files' times.
# The layer check (cmake/CheckLayers.cmake) states the same rules for every
# include line, with readable messages, and also checks the direction of
# includes between folders that a target links anyway.
#
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
option(KSEF_WERROR "Treat warnings in our own code as errors (CI turns this on)" OFF)

if(KSEF_WERROR)
  set(KSEF_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)
else()
  set(KSEF_WARNINGS -Wall -Wextra -Wno-missing-field-initializers)
endif()
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
  cmake_parse_arguments(A "" "NAME;FOLDER" "SRCS;DEPS" ${ARGN})
  add_library(ksef_${A_NAME} STATIC ${A_SRCS})
  if(A_FOLDER)
    set_target_properties(ksef_${A_NAME} PROPERTIES KSEF_FOLDER ${A_FOLDER})
  endif()
  target_compile_options(ksef_${A_NAME} PRIVATE ${KSEF_WARNINGS})
  target_link_libraries(ksef_${A_NAME} PUBLIC ${A_DEPS} ${KSEF_SANITIZER_DEPS})
  ksef_concurrency_add(ksef_${A_NAME})
endfunction()

function(ksef_cc_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT;FOLDER" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  set_target_properties(${A_NAME} PROPERTIES KSEF_TEST ON)
  if(A_FOLDER)
    set_target_properties(${A_NAME} PROPERTIES KSEF_FOLDER ${A_FOLDER})
  endif()
  target_compile_options(${A_NAME} PRIVATE ${KSEF_WARNINGS})
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

# ---- Include views: each target sees only the headers it may include ------
#
# Runs once, at the end of configuring (cmake_language(DEFER) below), over
# every target of the project, whichever command created it.

set(KSEF_VIEW_ROOT ${PROJECT_BINARY_DIR}/include)

# The temporary exceptions of the layer check (cmake/layers.cmake): a target
# whose folder has a known violation also sees the headers it needs for it.
include(${PROJECT_SOURCE_DIR}/cmake/KsefFolders.cmake)
include(${PROJECT_SOURCE_DIR}/cmake/layers.cmake)

# TRUE if <path> is <folder> or lies under it (both relative to the root).
# Every target defined in <dir> and its subdirectories.
function(_ksef_all_targets out dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _ksef_all_targets(more ${sub})
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# The deepest folder (relative to the repository root) that holds every
# source file of <target> in the source tree; "" when it has none there
# (ksef_proto: generated sources only).
function(_ksef_source_folder out target)
  get_target_property(srcs ${target} SOURCES)
  get_target_property(base ${target} SOURCE_DIR)
  set(folder "")
  set(first TRUE)
  foreach(src IN LISTS srcs)
    if(src MATCHES "^\\$<")
      continue()
    endif()
    cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY ${base} NORMALIZE OUTPUT_VARIABLE abs)
    ksef_under(in_build "${abs}" "${PROJECT_BINARY_DIR}")
    ksef_under(in_source "${abs}" "${PROJECT_SOURCE_DIR}")
    if(in_build OR NOT in_source)
      continue()
    endif()
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${abs})
    cmake_path(GET rel PARENT_PATH dir)
    if(first)
      set(folder "${dir}")
      set(first FALSE)
    endif()
    ksef_under(inside "${dir}" "${folder}")
    while(NOT inside)
      cmake_path(GET folder PARENT_PATH folder)
      ksef_under(inside "${dir}" "${folder}")
    endwhile()
  endforeach()
  if(NOT first AND folder STREQUAL "")
    message(FATAL_ERROR "${target}: sources in several top folders; give ksef_cc_* a FOLDER")
  endif()
  set(${out} "${folder}" PARENT_SCOPE)
endfunction()

function(_ksef_view_dir out folder kind)
  string(REPLACE "/" "." key "${folder}")
  set(${out} ${KSEF_VIEW_ROOT}/${key}/${kind} PARENT_SCOPE)
endfunction()

function(_ksef_link_header header dir)
  cmake_path(GET header PARENT_PATH parent)
  file(MAKE_DIRECTORY ${dir}/${parent})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${header} ${dir}/${header} SYMBOLIC COPY_ON_ERROR)
endfunction()

# The public and private views of <folder>. Headers of a library folder
# nested in it (client/cli in client) are not its own.
function(_ksef_make_views folder library_folders)
  _ksef_view_dir(public ${folder} public)
  _ksef_view_dir(private ${folder} private)
  file(MAKE_DIRECTORY ${public} ${private})
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}
       ${PROJECT_SOURCE_DIR}/${folder}/*.h)
  foreach(header IN LISTS headers)
    set(nested FALSE)
    foreach(other IN LISTS library_folders)
      ksef_under(below_other "${header}" "${other}")
      ksef_under(other_below "${other}" "${folder}")
      if(below_other AND other_below AND NOT other STREQUAL folder)
        set(nested TRUE)
      endif()
    endforeach()
    if(nested)
      continue()
    endif()
    _ksef_link_header(${header} ${private})
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/${folder} ${PROJECT_SOURCE_DIR}/${header})
    if(rel MATCHES "(^|/)internal/")
      continue()
    elseif(rel MATCHES "(^|/)testing/" OR rel MATCHES "_testing\\.h$")
      _ksef_link_header(${header} ${KSEF_VIEW_ROOT}/test-only)
    else()
      _ksef_link_header(${header} ${public})
    endif()
  endforeach()
endfunction()

function(_ksef_finish_include_views)
  _ksef_all_targets(all ${PROJECT_SOURCE_DIR})
  # 1. The folder of each library: FOLDER, else where its sources are.
  set(library_folders "")
  set(ours "")
  foreach(t IN LISTS all)
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY|MODULE_LIBRARY|EXECUTABLE)$")
      continue()
    endif()
    get_target_property(folder ${t} KSEF_FOLDER)
    if(NOT folder)
      _ksef_source_folder(folder ${t})
    endif()
    if(folder STREQUAL "")
      continue()
    endif()
    list(APPEND ours ${t})
    set(folder_${t} ${folder})
    if(type MATCHES "^(STATIC|SHARED|OBJECT)_LIBRARY$")
      list(APPEND library_folders ${folder})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES library_folders)
  # 2. A test or program belongs to the library folder its sources are in
  #    (formats/csr/csr_test.cc: formats), else to the folder of its sources.
  foreach(t IN LISTS ours)
    get_target_property(explicit ${t} KSEF_FOLDER)
    if(explicit OR folder_${t} IN_LIST library_folders)
      continue()
    endif()
    ksef_deepest_folder(best "${folder_${t}}" ${library_folders})
    if(NOT best STREQUAL "")
      set(folder_${t} ${best})
    endif()
  endforeach()
  # 3. The views, rebuilt from scratch (a moved header leaves no stale link).
  file(REMOVE_RECURSE ${KSEF_VIEW_ROOT})
  file(MAKE_DIRECTORY ${KSEF_VIEW_ROOT}/test-only)
  set(folders ${library_folders})
  foreach(t IN LISTS ours)
    list(APPEND folders ${folder_${t}})
  endforeach()
  list(REMOVE_DUPLICATES folders)
  foreach(folder IN LISTS folders)
    _ksef_make_views(${folder} "${library_folders}")
  endforeach()
  # 4. Who sees which view.
  foreach(t IN LISTS ours)
    set(folder ${folder_${t}})
    _ksef_view_dir(public ${folder} public)
    _ksef_view_dir(private ${folder} private)
    get_target_property(type ${t} TYPE)
    get_target_property(is_test ${t} KSEF_TEST)
    target_include_directories(${t} PRIVATE ${private})
    if(type MATCHES "^(STATIC|SHARED|OBJECT)_LIBRARY$")
      target_include_directories(${t} INTERFACE ${public})
    endif()
    if(is_test)
      target_include_directories(${t} PRIVATE ${KSEF_VIEW_ROOT}/test-only)
    endif()
    _ksef_grant_known_violations(${t} ${folder} "${library_folders}")
  endforeach()
endfunction()

# A known violation "<file prefix> <header prefix>" (cmake/layers.cmake) of
# an internal or a test-only header lets the targets of that file's folder
# see it (the private view of the header's folder, or the test-only view),
# so that the build and the layer check agree until the list is empty.
# (An include of a layer above compiles anyway when the target links it.)
function(_ksef_grant_known_violations target folder library_folders)
  foreach(entry IN LISTS KSEF_KNOWN_VIOLATIONS)
    string(REPLACE "|" ";" entry "${entry}")
    list(GET entry 0 file_prefix)
    list(GET entry 1 header_prefix)
    string(REGEX REPLACE "/$" "" file_prefix "${file_prefix}")
    ksef_under(file_in "${file_prefix}" "${folder}")
    ksef_under(folder_in "${folder}" "${file_prefix}")
    if(NOT file_in AND NOT folder_in)
      continue()
    endif()
    if(header_prefix MATCHES "(^|/)testing(/|$)" OR header_prefix MATCHES "_testing\\.h$")
      target_include_directories(${target} PRIVATE ${KSEF_VIEW_ROOT}/test-only)
    endif()
    if(NOT header_prefix MATCHES "(^|/)internal(/|$)")
      continue()
    endif()
    foreach(lib IN LISTS library_folders)
      ksef_under(inside "${header_prefix}" "${lib}")
      if(inside AND NOT lib STREQUAL folder)
        _ksef_view_dir(private ${lib} private)
        target_include_directories(${target} PRIVATE ${private})
      endif()
    endforeach()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _ksef_finish_include_views)
