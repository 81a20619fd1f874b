# The layer check's own test (ctest layer_check_self_test, label layers):
# runs cmake/CheckLayers.cmake, with the real table cmake/layers.cmake, on
# the fixture trees beside this file and checks its verdict:
#   good/          every kind of allowed include: passes, reports nothing;
#   known/         a violation listed as known (known/layers.cmake): passes;
#   bad_upward/    includes of a layer above, bad_internal/ of another
#   bad_testing/   folder's internal/ header (or of an internal header by a
#                  public one), of test-only headers by production code:
#                  each fails and reports exactly the lines of its
#                  expected.txt, no more.
#   cmake -P tests/layers/self_test.cmake
cmake_minimum_required(VERSION 3.25)

set(here ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(root ${here}/../.. ABSOLUTE)
set(check ${root}/cmake/CheckLayers.cmake)
set(failures 0)

# Runs the check on the fixture tree <case>; sets rc, output and reported
# (the sorted "file:line: ..." lines).
macro(run_check case)
  set(table_arg "")
  if(EXISTS ${here}/${case}/layers.cmake)
    set(table_arg -DTABLE=${here}/${case}/layers.cmake)
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${here}/${case} ${table_arg} -P ${check}
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

foreach(case good known)
  run_check(${case})
  if(NOT rc EQUAL 0)
    fail(${case} "exit status ${rc}, expected 0")
  elseif(reported)
    fail(${case} "reported violations")
  else()
    message("ok   ${case}: passes")
  endif()
endforeach()

foreach(case bad_upward bad_internal bad_testing)
  run_check(${case})
  file(STRINGS ${here}/${case}/expected.txt expected)
  list(SORT expected)
  if(rc EQUAL 0)
    fail(${case} "exit status 0, expected a failure")
  elseif(NOT output MATCHES "layer check: [0-9]+ include\\(s\\) break the layers")
    fail(${case} "no summary line")
  elseif(NOT reported STREQUAL expected)
    string(REPLACE ";" "\n  " want "${expected}")
    fail(${case} "reported lines differ from expected.txt:\n  ${want}")
  else()
    list(LENGTH expected n)
    message("ok   ${case}: fails with the ${n} expected lines")
  endif()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "layer check self-test: ${failures} case(s) failed")
endif()
