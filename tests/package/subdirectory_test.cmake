# A parent project that adds exapool's source tree with add_subdirectory (parent/): it builds and
# runs a program linking exapool::runtime, and nothing of exapool's own build leaks into it.
# parent/CMakeLists.txt checks what cmake defines (no forced build type, no tests, programs or
# benchmarks, no Catch2); this script checks what the compiler is given.
#   SOURCE_DIR WORK_DIR CXX LAUNCHER
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

file(REMOVE_RECURSE "${WORK_DIR}")
run("configure the parent project" "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/parent"
  -B "${WORK_DIR}" "-DEXAPOOL_SOURCE_DIR=${SOURCE_DIR}" ${compiler_args})
message(STATUS "${run_output}")
# Only the program and the libraries it needs: exapool's others are not built.
run("build the parent's program" "${CMAKE_COMMAND}" --build "${WORK_DIR}" --target parent_app
  -j${cores})
run("run the parent's program" "${WORK_DIR}/parent_app")
expect_match("parent_app" "${run_output}" "^parent: exapool runtime started and shut down\n$")

# The compile lines: the parent's main.cpp gets exapool's staged include directory and nothing
# else of ours (no warnings, no definitions, not the repository root with its actors/ and
# messages/); exapool's own sources still get them (so the check is not vacuous).
file(READ "${WORK_DIR}/compile_commands.json" commands)
string(JSON count LENGTH "${commands}")
math(EXPR last "${count} - 1")
set(parent_command "")
set(runtime_command "")
foreach(i RANGE ${last})
  string(JSON file GET "${commands}" ${i} file)
  string(JSON command GET "${commands}" ${i} command)
  if(file STREQUAL "${CMAKE_CURRENT_LIST_DIR}/parent/main.cpp")
    set(parent_command "${command}")
  elseif(file STREQUAL "${SOURCE_DIR}/actors/runtime.cpp")
    set(runtime_command "${command}")
  endif()
endforeach()
if(NOT parent_command OR NOT runtime_command)
  message(FATAL_ERROR "compile_commands.json lacks parent/main.cpp or actors/runtime.cpp")
endif()
message(STATUS "parent/main.cpp compiles with: ${parent_command}")
foreach(leak -Wall -Wextra BOOST_ASIO_NO_DEPRECATED OPENSSL_API_COMPAT)
  string(FIND "${parent_command}" "${leak}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "exapool's ${leak} leaks into the parent's main.cpp: ${parent_command}")
  endif()
  string(FIND "${runtime_command}" "${leak}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "exapool's own actors/runtime.cpp lacks ${leak}: ${runtime_command}")
  endif()
endforeach()
separate_arguments(args UNIX_COMMAND "${parent_command}")
set(include_dirs)
foreach(arg IN LISTS args)
  if(arg MATCHES "^-(I|isystem|iquote)(.+)$")
    list(APPEND include_dirs "${CMAKE_MATCH_2}")
  endif()
endforeach()
set(staged "${WORK_DIR}/exapool/include")
if(NOT staged IN_LIST include_dirs)
  message(FATAL_ERROR "parent/main.cpp does not get exapool's include directory ${staged}")
endif()
foreach(dir IN LISTS include_dirs)
  if(EXISTS "${dir}/actors" OR EXISTS "${dir}/messages" OR EXISTS "${dir}/integration")
    message(FATAL_ERROR "parent/main.cpp gets ${dir}, which holds exapool's actors/, messages/ "
      "or integration/ at its top")
  endif()
endforeach()
message(STATUS "parent/main.cpp: no exapool warnings, definitions or generic include roots")
# Passed: the parent's build is not kept (a failure above keeps it to look at).
file(REMOVE_RECURSE "${WORK_DIR}")
