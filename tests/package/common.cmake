# Helpers of the package tests (run with cmake -P).
cmake_minimum_required(VERSION 3.25)

# Runs a command; stops the test with its output when it fails. The output is in run_output.
function(run what)
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(TIMESTAMP end "%s")
  math(EXPR seconds "${end} - ${start}")
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit ${code}):\n${ARGN}\n${out}")
  endif()
  message(STATUS "${what}: ok (${seconds} s)")
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

# Fails unless text matches the regular expression.
function(expect_match what text regex)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: output does not match '${regex}':\n${text}")
  endif()
  message(STATUS "${what}: as expected")
endfunction()

# The compiler (and launcher) of exapool's build, for the projects the tests configure.
set(compiler_args "-DCMAKE_CXX_COMPILER=${CXX}")
if(LAUNCHER)
  list(APPEND compiler_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()
include(ProcessorCount)
ProcessorCount(cores)
if(cores LESS 1)
  set(cores 2)
endif()
