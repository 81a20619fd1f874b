# Writes the build information source (common/build_info.cc.in -> OUTPUT)
# with the project version and `git describe --always --dirty` of the source
# tree, or "unknown" when SOURCE_DIR is not the top of a git checkout (a
# tarball unpacked inside some other repository must not take its revision)
# or git is missing. configure_file rewrites OUTPUT only when its content
# changes, so an unchanged revision recompiles nothing.
#
#   cmake -DSOURCE_DIR=<repo> -DVERSION=<x.y.z> -DTEMPLATE=<in> -DOUTPUT=<cc>
#         -P cmake/WriteBuildInfo.cmake
foreach(var SOURCE_DIR VERSION TEMPLATE OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "WriteBuildInfo.cmake: -D${var}=... is required")
  endif()
endforeach()

set(KSEF_VERSION "${VERSION}")
set(KSEF_GIT_REVISION unknown)
find_program(KSEF_GIT git)
if(KSEF_GIT)
  execute_process(COMMAND ${KSEF_GIT} -C ${SOURCE_DIR} rev-parse --show-toplevel
                  OUTPUT_VARIABLE top RESULT_VARIABLE status
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(status EQUAL 0)
    file(REAL_PATH "${top}" top)
    file(REAL_PATH "${SOURCE_DIR}" source)
    if(top STREQUAL source)
      execute_process(COMMAND ${KSEF_GIT} -C ${SOURCE_DIR} describe --always --dirty
                      OUTPUT_VARIABLE described RESULT_VARIABLE status
                      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(status EQUAL 0 AND NOT described STREQUAL "")
        # Tag names may hold characters that do not belong in a C string or
        # a Prometheus label value: keep the harmless ones only.
        string(REGEX REPLACE "[^A-Za-z0-9._+-]" "_" KSEF_GIT_REVISION "${described}")
      endif()
    endif()
  endif()
endif()

configure_file(${TEMPLATE} ${OUTPUT} @ONLY)
