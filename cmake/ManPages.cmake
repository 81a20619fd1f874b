# Man pages generated from the --help texts (common/man_page.h says how).
#
#   ksef_man_page(NAME <page> SECTION <n> GENERATOR <program target>)
#       runs "<generator> <build>/man/<page>.<n>" at build time (part of ALL),
#       compresses the result with gzip -9n (no name or time stamp, so the
#       bytes depend on the text only: lintian's rule) and installs
#       <page>.<n>.gz into ${CMAKE_INSTALL_MANDIR}/man<n>.
# The generators link the code that prints --help, so a changed help text
# changes the page at the next build.
find_program(KSEF_GZIP gzip REQUIRED)

function(ksef_man_page)
  cmake_parse_arguments(A "" "NAME;SECTION;GENERATOR" "" ${ARGN})
  set(dir ${PROJECT_BINARY_DIR}/man)
  set(page ${dir}/${A_NAME}.${A_SECTION})
  add_custom_command(OUTPUT ${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${A_GENERATOR} ${page}
    COMMAND ${KSEF_GZIP} -9nf ${page}
    DEPENDS ${A_GENERATOR}
    COMMENT "Man page ${A_NAME}(${A_SECTION})"
    VERBATIM)
  add_custom_target(${A_NAME}_man_page ALL DEPENDS ${page}.gz)
  install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${A_SECTION})
endfunction()
