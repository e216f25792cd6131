# Copies one public header into the staged include tree (cmake/ExapoolPackage.cmake) with its
# project includes prefixed by exapool/: #include "messages/lease.hpp" becomes
# #include "exapool/messages/lease.hpp". Everything else is copied as it is.
#   SOURCE_DIR  the project root     HEADER  the header, relative to it
#   OUTPUT      the staged copy      LIST    the public headers (one a line), computed by cmake
cmake_minimum_required(VERSION 3.25)
file(STRINGS "${LIST}" public_headers)
file(READ "${SOURCE_DIR}/${HEADER}" text)
string(REGEX MATCHALL "#[ \t]*include[ \t]*\"[^\"]+\"" includes "${text}")
foreach(directive IN LISTS includes)
  string(REGEX REPLACE ".*\"([^\"]+)\"" "\\1" included "${directive}")
  if(NOT EXISTS "${SOURCE_DIR}/${included}")
    continue()
  endif()
  if(NOT included IN_LIST public_headers)
    message(FATAL_ERROR "${HEADER} includes \"${included}\", which is not among the public "
      "headers cmake computed: re-run cmake")
  endif()
  if(included MATCHES "^include/(exapool/.*)$")
    set(staged "${CMAKE_MATCH_1}")
  else()
    set(staged "exapool/${included}")
  endif()
  string(REPLACE "${directive}" "#include \"${staged}\"" text "${text}")
endforeach()
file(WRITE "${OUTPUT}" "${text}")
