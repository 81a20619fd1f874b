# The API reference check's own test (ctest api_doc_check_self_test, label
# layers): runs cmake/CheckApiDoc.cmake on the fixture trees beside this file
# and checks its verdict:
#   good/  every RPC documented, with comments, odd spacing, a multi-line rpc
#          and a field named `service` in the .proto, semicolons and brackets
#          in the prose: passes, reports nothing;
#   bad/   an RPC without a section, a section of an RPC that does not exist
#          (one only in a comment), sections without their errors or audit
#          event (one whose part sits under the next heading), a repeated
#          section and a heading that names no RPC: fails and reports exactly
#          the lines of bad/expected.txt, no more.
#   cmake -P tests/api_doc/self_test.cmake
cmake_minimum_required(VERSION 3.25)

set(here ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(root ${here}/../.. ABSOLUTE)
set(failures 0)

# Runs the check on the fixture tree <case>; sets rc, output and reported
# (the sorted "file:line: ..." lines).
macro(run_check case)
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${here}/${case} -P ${root}/cmake/CheckApiDoc.cmake
                  RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  string(REGEX MATCHALL "[^\n]+" output_lines "${output}")
  set(reported "")
  foreach(line IN LISTS output_lines)
    if(line MATCHES "^[^ :]+:[0-9]+: ")
      list(APPEND reported "${line}")
    endif()
  endforeach()
  list(SORT reported)
endmacro()

macro(fail case what)
  message("FAIL ${case}: ${what}\n--- check output:\n${output}---")
  math(EXPR failures "${failures} + 1")
endmacro()

run_check(good)
if(NOT rc EQUAL 0)
  fail(good "exit status ${rc}, expected 0")
elseif(reported)
  fail(good "reported problems")
else()
  message("ok   good: passes")
endif()

run_check(bad)
file(STRINGS ${here}/bad/expected.txt expected)
list(SORT expected)
if(rc EQUAL 0)
  fail(bad "exit status 0, expected a failure")
elseif(NOT output MATCHES "api doc check: [0-9]+ problem\\(s\\)")
  fail(bad "no summary line")
elseif(NOT reported STREQUAL expected)
  string(REPLACE ";" "\n  " want "${expected}")
  fail(bad "reported lines differ from expected.txt:\n  ${want}")
else()
  list(LENGTH expected n)
  message("ok   bad: fails with the ${n} expected lines")
endif()

if(failures GREATER 0)
  message(FATAL_ERROR "api doc check self-test: ${failures} case(s) failed")
endif()
