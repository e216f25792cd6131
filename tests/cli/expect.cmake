# Runs COMMAND (a ;-list) and checks its exit code (EXIT) and that its combined output matches
# OUTPUT (a regular expression) and, when ABSENT is set, does not match ABSENT. ctest's own
# properties cannot check both at once.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err
  TIMEOUT 300)
set(all "${out}${err}")
if(NOT code STREQUAL "${EXIT}")
  message(FATAL_ERROR "exit code ${code}, expected ${EXIT}; output:\n${all}")
endif()
if(NOT all MATCHES "${OUTPUT}")
  message(FATAL_ERROR "output does not match '${OUTPUT}':\n${all}")
endif()
if(DEFINED ABSENT AND NOT ABSENT STREQUAL "" AND all MATCHES "${ABSENT}")
  message(FATAL_ERROR "output matches '${ABSENT}', which must not appear:\n${all}")
endif()
message(STATUS "exit ${code} and output as expected:\n${all}")
