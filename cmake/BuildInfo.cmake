# ksef_build_info: Version(), GitRevision() and VersionLine() of
# common/build_info.h, from a source file written into the build tree by
# cmake/WriteBuildInfo.cmake. The target ksef_build_info_refresh runs that
# script at every build, so the revision follows HEAD (and the -dirty mark)
# without a re-configure; the file is rewritten only when a value changed,
# and then only this small library and what links it (ksef-hsmd, ksef-hsm,
# their man pages) are rebuilt. Link it where the version is shown, not into
# ksef_common, which nearly everything links.
set(KSEF_BUILD_INFO_CC ${PROJECT_BINARY_DIR}/generated/common/build_info.cc)
set(_ksef_build_info_command
    ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DVERSION=${PROJECT_VERSION}
    -DTEMPLATE=${PROJECT_SOURCE_DIR}/common/build_info.cc.in -DOUTPUT=${KSEF_BUILD_INFO_CC}
    -P ${PROJECT_SOURCE_DIR}/cmake/WriteBuildInfo.cmake)
# Once now, so the file exists before the first build.
execute_process(COMMAND ${_ksef_build_info_command} COMMAND_ERROR_IS_FATAL ANY)
add_custom_target(ksef_build_info_refresh
  COMMAND ${_ksef_build_info_command}
  BYPRODUCTS ${KSEF_BUILD_INFO_CC}
  COMMENT "Checking the git revision for common/build_info.h"
  VERBATIM)
ksef_cc_library(NAME build_info SRCS ${KSEF_BUILD_INFO_CC} FOLDER common)
add_dependencies(ksef_build_info ksef_build_info_refresh)
