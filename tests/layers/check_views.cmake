# The include views of a configured build tree (cmake/KsefTargets.cmake),
# checked without compiling (ctest include_views_check, label layers):
#   - no compile command has the repository root as an include directory;
#   - no public view holds an internal/ or a test-only header (except the
#     views of test-only libraries, <folder>/testing, which only tests link);
#   - the views exist: some public view holds a header, and pkcs11's
#     private view holds every header of pkcs11/.
#   cmake -DSOURCE=<repository> -DBUILD=<build tree> -P tests/layers/check_views.cmake
cmake_minimum_required(VERSION 3.25)

set(problems "")
file(READ ${BUILD}/compile_commands.json commands)
string(FIND "${commands}" "-I${SOURCE} " root_include)
string(FIND "${commands}" "-I${SOURCE}\"" root_include_last)
if(root_include GREATER_EQUAL 0 OR root_include_last GREATER_EQUAL 0)
  list(APPEND problems "a compile command has -I${SOURCE} (the repository root)")
endif()

file(GLOB_RECURSE public RELATIVE ${BUILD}/include ${BUILD}/include/*/public/*.h)
if(NOT public)
  list(APPEND problems "no public view in ${BUILD}/include")
endif()
foreach(header IN LISTS public)
  string(REGEX REPLACE "/public/.*$" "" view "${header}")
  if(view MATCHES "(^|\\.)testing$")
    continue()  # a test-only library (e.g. client/testing): only tests link it
  endif()
  string(REGEX REPLACE "^[^/]+/public/" "" path "${header}")
  if(path MATCHES "(^|/)internal/" OR path MATCHES "(^|/)testing/" OR path MATCHES "_testing\\.h$")
    list(APPEND problems "${header} is in a public view")
  endif()
endforeach()

file(GLOB_RECURSE pkcs11 RELATIVE ${SOURCE} ${SOURCE}/pkcs11/*.h)
foreach(header IN LISTS pkcs11)
  if(NOT EXISTS ${BUILD}/include/pkcs11/private/${header})
    list(APPEND problems "${header} is missing from pkcs11's private view")
  endif()
endforeach()

if(problems)
  string(REPLACE ";" "\n  " problems "${problems}")
  message(FATAL_ERROR "include views:\n  ${problems}")
endif()
list(LENGTH public n)
message("include views: ${n} public headers, no internal or test-only one, no root include")
