# Folder arithmetic shared by the build (KsefTargets.cmake: which library
# folder a target belongs to) and the layer check (CheckLayers.cmake: which
# folder of the table a file or an include belongs to). Paths are relative
# to the repository root, without a trailing slash.
#
#   ksef_under(<out> <path> <folder>)
#       TRUE if <path> is <folder> or lies inside it ("" holds everything).
#   ksef_deepest_folder(<out> <path> <folder>...)
#       the longest <folder> that holds <path>; "" if none does.
include_guard(GLOBAL)

function(ksef_under out path folder)
  set(r FALSE)
  if(path STREQUAL folder OR folder STREQUAL "")
    set(r TRUE)
  else()
    string(FIND "${path}/" "${folder}/" pos)
    if(pos EQUAL 0)
      set(r TRUE)
    endif()
  endif()
  set(${out} ${r} PARENT_SCOPE)
endfunction()

function(ksef_deepest_folder out path)
  set(best "")
  foreach(folder IN LISTS ARGN)
    ksef_under(inside "${path}" "${folder}")
    string(LENGTH "${folder}" len)
    string(LENGTH "${best}" best_len)
    if(inside AND len GREATER best_len)
      set(best ${folder})
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()
