# The API reference check: docs/api.md must describe exactly the RPCs of
# the .proto files, each with its errors and its audit event.
#
#   cmake -P cmake/CheckApiDoc.cmake                 (the repository)
#   cmake -DROOT=<tree> -P cmake/CheckApiDoc.cmake   (<tree>/proto, <tree>/docs/api.md)
#
# Reads every `service S {` and `rpc R(` of <tree>/proto/**/*.proto (after
# removing // comments) and every `### S.R` heading of docs/api.md; a
# section runs to the next heading. Prints one line per problem,
#   <proto file>:<line>: RPC S.R has no section "### S.R" in docs/api.md
#   docs/api.md:<line>: section S.R documents no RPC of proto/
#   docs/api.md:<line>: section S.R has no "**Errors:**" part
#   docs/api.md:<line>: section S.R has no "**Audit event:**" part
#   docs/api.md:<line>: section S.R repeats the one at line <n>
#   docs/api.md:<line>: heading "### X" is not "### Service.Rpc"
# and fails (exit status 1) if there is any. Needs only CMake (ctest:
# api_doc_check; its own test on wrong fixtures: api_doc_check_self_test).
cmake_minimum_required(VERSION 3.25)

if(NOT ROOT)
  get_filename_component(ROOT ${CMAKE_CURRENT_LIST_DIR} DIRECTORY)
endif()
get_filename_component(ROOT "${ROOT}" ABSOLUTE)
set(doc_name docs/api.md)
set(doc ${ROOT}/${doc_name})
set(problems 0)

macro(problem text)
  message("${text}")
  math(EXPR problems "${problems} + 1")
endmacro()

# The 1-based line of offset <pos> in <text>.
function(line_at out text pos)
  string(SUBSTRING "${text}" 0 ${pos} before)
  string(REGEX MATCHALL "\n" newlines "${before}")
  list(LENGTH newlines n)
  math(EXPR n "${n} + 1")
  set(${out} ${n} PARENT_SCOPE)
endfunction()

# --- The RPCs of the .proto files: rpc_names (S.R) and rpc_where_<S.R>.
file(GLOB_RECURSE protos RELATIVE ${ROOT} ${ROOT}/proto/*.proto)
list(SORT protos)
if(NOT protos)
  message(FATAL_ERROR "api doc check: no .proto file under ${ROOT}/proto")
endif()
set(rpc_names "")
foreach(proto IN LISTS protos)
  file(READ ${ROOT}/${proto} text)
  # Comments go (newlines stay, so offsets still give the right lines).
  string(REGEX REPLACE "//[^\n]*" "" text "${text}")
  set(service "")
  set(rest "${text}")
  set(consumed 0)
  while(rest MATCHES "(^|[^A-Za-z0-9_.])(service|rpc)[ \t\r\n]+([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*([{(])")
    set(kind ${CMAKE_MATCH_2})
    set(name ${CMAKE_MATCH_3})
    set(opener "${CMAKE_MATCH_4}")
    string(FIND "${rest}" "${CMAKE_MATCH_0}" at)
    string(LENGTH "${CMAKE_MATCH_0}" length)
    math(EXPR offset "${consumed} + ${at}")
    math(EXPR skip "${at} + ${length}")
    string(SUBSTRING "${rest}" ${skip} -1 rest)
    math(EXPR consumed "${consumed} + ${skip}")
    if(kind STREQUAL "service" AND opener STREQUAL "{")
      set(service ${name})
    elseif(kind STREQUAL "rpc" AND opener STREQUAL "(" AND NOT service STREQUAL "")
      line_at(line "${text}" ${offset})
      list(APPEND rpc_names ${service}.${name})
      set(rpc_where_${service}.${name} "${proto}:${line}")
    endif()
  endwhile()
endforeach()
if(NOT rpc_names)
  message(FATAL_ERROR "api doc check: no rpc in the .proto files under ${ROOT}/proto")
endif()

# --- The sections of docs/api.md.
if(NOT EXISTS ${doc})
  message(FATAL_ERROR "api doc check: ${doc} does not exist")
endif()
file(READ ${doc} doc_text)
# One list element per line: ';' and brackets would split or join elements.
string(REPLACE ";" "<semicolon>" doc_text "${doc_text}")
string(REPLACE "[" "<open>" doc_text "${doc_text}")
string(REPLACE "]" "<close>" doc_text "${doc_text}")
string(REPLACE "\n" ";" doc_lines "${doc_text}")

set(documented "")
set(section "")
# Reports what the open section lacks, then closes it.
macro(close_section)
  if(NOT section STREQUAL "")
    if(NOT has_errors)
      problem("${doc_name}:${section_line}: section ${section} has no \"**Errors:**\" part")
    endif()
    if(NOT has_audit)
      problem("${doc_name}:${section_line}: section ${section} has no \"**Audit event:**\" part")
    endif()
  endif()
  set(section "")
endmacro()

set(n 0)
foreach(line IN LISTS doc_lines)
  math(EXPR n "${n} + 1")
  if(line MATCHES "^### +(.*[^ ]) *$")
    close_section()
    set(heading "${CMAKE_MATCH_1}")
    if(NOT heading MATCHES "^[A-Za-z_][A-Za-z0-9_]*\\.[A-Za-z_][A-Za-z0-9_]*$")
      problem("${doc_name}:${n}: heading \"### ${heading}\" is not \"### Service.Rpc\"")
      continue()
    endif()
    if(DEFINED section_at_${heading})
      problem("${doc_name}:${n}: section ${heading} repeats the one at line ${section_at_${heading}}")
    else()
      set(section_at_${heading} ${n})
      list(APPEND documented ${heading})
      if(NOT heading IN_LIST rpc_names)
        problem("${doc_name}:${n}: section ${heading} documents no RPC of proto/")
      endif()
    endif()
    set(section ${heading})
    set(section_line ${n})
    set(has_errors FALSE)
    set(has_audit FALSE)
  elseif(line MATCHES "^#+ ")
    close_section()
  elseif(line MATCHES "^\\*\\*Errors:\\*\\*")
    set(has_errors TRUE)
  elseif(line MATCHES "^\\*\\*Audit event:\\*\\*")
    set(has_audit TRUE)
  endif()
endforeach()
close_section()

foreach(rpc IN LISTS rpc_names)
  if(NOT rpc IN_LIST documented)
    problem("${rpc_where_${rpc}}: RPC ${rpc} has no section \"### ${rpc}\" in ${doc_name}")
  endif()
endforeach()

if(problems GREATER 0)
  message(FATAL_ERROR "api doc check: ${problems} problem(s) between proto/ and ${doc_name}")
endif()
list(LENGTH rpc_names count)
message("api doc check: ${count} RPCs, each with its section, errors and audit event")
