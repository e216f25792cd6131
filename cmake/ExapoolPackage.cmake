# exapool as a CMake package: the public headers, the namespaced library targets, and the install
# rules (headers, libraries, exapoolConfig.cmake with its version file, exported targets,
# pkg-config files).
#
# The header layout. In the repository every header is reached from the repository root
# ("actors/runtime.hpp", "messages/lease.hpp", "integration/exasol/connection.hpp"), and the
# repository keeps that layout. A consumer must not get the repository root (or an include
# directory holding actors/, messages/, integration/ at its top) on its include path: those generic
# names could shadow or be shadowed by the consumer's own folders, and then exapool's headers would
# include the consumer's messages/errors.hpp. So a consumer sees one directory, exapool/:
#   <exapool/runtime.hpp>, <exapool/client.hpp>, <exapool/exasim.hpp>   the umbrella headers
#                                                                       (include/exapool/)
#   <exapool/actors/...>, <exapool/messages/...>, <exapool/integration/...>   what they include
# Only the headers the umbrellas reach (their transitive closure of project includes) are
# public; tests' helpers, apps and the rest stay out. They are staged into
# <build>/include/exapool/ as copies whose project includes get the prefix exapool/
# ("actors/session_actor.hpp" becomes "exapool/actors/session_actor.hpp"), by a build step per
# header (cmake/exapool_stage_header.cmake), so the sources' include lines stay as they are and
# the rewrite is mechanical. The staged tree is what add_subdirectory users compile against
# (BUILD_INTERFACE) and what `cmake --install` copies to <prefix>/include (INSTALL_INTERFACE):
# the same headers either way.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(EXAPOOL_STAGED_INCLUDE_DIR "${PROJECT_BINARY_DIR}/include")

# Where a project header goes in the staged tree: include/exapool/x.hpp -> exapool/x.hpp,
# actors/x.hpp -> exapool/actors/x.hpp.
function(exapool_staged_path header out)
  if(header MATCHES "^include/(exapool/.*)$")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "exapool/${header}" PARENT_SCOPE)
  endif()
endfunction()

# Stages the given umbrella headers (paths relative to the project root) and every project header
# they reach, through a custom target of the given name. The closure is computed when cmake runs,
# and cmake runs again when one of those headers changes (a fraction of a second), so a new
# include line is followed; should a staged header still include a project header outside the
# closure, the build stops and says to re-run cmake (cmake/exapool_stage_header.cmake).
function(exapool_stage_public_headers target)
  set(queue ${ARGN})
  set(headers)
  while(queue)
    list(POP_FRONT queue header)
    if(header IN_LIST headers)
      continue()
    endif()
    list(APPEND headers "${header}")
    file(STRINGS "${PROJECT_SOURCE_DIR}/${header}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" included "${line}")
      if(EXISTS "${PROJECT_SOURCE_DIR}/${included}")
        list(APPEND queue "${included}")
      endif()
    endforeach()
  endwhile()
  list(SORT headers)
  list(TRANSFORM headers PREPEND "${PROJECT_SOURCE_DIR}/" OUTPUT_VARIABLE header_paths)
  set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${header_paths})
  set(list_file "${PROJECT_BINARY_DIR}/exapool_public_headers.txt")
  string(REPLACE ";" "\n" header_lines "${headers}")
  file(CONFIGURE OUTPUT "${list_file}" CONTENT "${header_lines}\n")
  set(outputs)
  foreach(header IN LISTS headers)
    exapool_staged_path("${header}" staged)
    set(output "${EXAPOOL_STAGED_INCLUDE_DIR}/${staged}")
    add_custom_command(OUTPUT "${output}"
      COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}" "-DHEADER=${header}"
        "-DOUTPUT=${output}" "-DLIST=${list_file}"
        -P "${PROJECT_SOURCE_DIR}/cmake/exapool_stage_header.cmake"
      DEPENDS "${PROJECT_SOURCE_DIR}/${header}"
        "${PROJECT_SOURCE_DIR}/cmake/exapool_stage_header.cmake" "${list_file}"
      COMMENT "Staging <${staged}>"
      VERBATIM)
    list(APPEND outputs "${output}")
  endforeach()
  add_custom_target(${target} ALL DEPENDS ${outputs})
  # A header no longer public leaves the staged tree too.
  file(GLOB_RECURSE staged_files "${EXAPOOL_STAGED_INCLUDE_DIR}/exapool/*")
  foreach(file IN LISTS staged_files)
    if(NOT file IN_LIST outputs)
      file(REMOVE "${file}")
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY EXAPOOL_PUBLIC_HEADERS "${headers}")
endfunction()

# Makes a library of ours a package library: exapool::<name> in the tree (ALIAS) and installed
# (EXPORT_NAME), installed as libexapool_<name>.a, C++17 for whoever links it, our compile
# settings private. PUBLIC_HEADERS: a consumer includes <exapool/...> through it.
function(exapool_package_library target name)
  cmake_parse_arguments(arg "PUBLIC_HEADERS" "" "" ${ARGN})
  add_library(exapool::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME exapool_${name})
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:exapool_options>)
  if(arg_PUBLIC_HEADERS)
    target_include_directories(${target} INTERFACE
      $<BUILD_INTERFACE:${EXAPOOL_STAGED_INCLUDE_DIR}>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    add_dependencies(${target} exapool_headers)
  endif()
  set_property(GLOBAL APPEND PROPERTY EXAPOOL_PACKAGE_TARGETS ${target})
endfunction()

# The install rules: run after every package library is defined.
function(exapool_install_package)
  set(config_dir "${CMAKE_INSTALL_LIBDIR}/cmake/exapool")
  get_property(targets GLOBAL PROPERTY EXAPOOL_PACKAGE_TARGETS)
  install(TARGETS ${targets} EXPORT exapoolTargets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT development
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT development)
  get_property(headers GLOBAL PROPERTY EXAPOOL_PUBLIC_HEADERS)
  foreach(header IN LISTS headers)
    exapool_staged_path("${header}" staged)
    get_filename_component(dir "${staged}" DIRECTORY)
    install(FILES "${EXAPOOL_STAGED_INCLUDE_DIR}/${staged}"
      DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/${dir}" COMPONENT development)
  endforeach()
  install(EXPORT exapoolTargets NAMESPACE exapool:: DESTINATION "${config_dir}"
    COMPONENT development)
  configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/exapoolConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/exapoolConfig.cmake" INSTALL_DESTINATION "${config_dir}")
  # 0.x: a minor release may change the API, so only the same major.minor is compatible.
  write_basic_package_version_file("${PROJECT_BINARY_DIR}/exapoolConfigVersion.cmake"
    COMPATIBILITY SameMinorVersion)
  # Debian's CAF ships no CMake config: the consumer finds it with our find module.
  install(FILES "${PROJECT_BINARY_DIR}/exapoolConfig.cmake"
    "${PROJECT_BINARY_DIR}/exapoolConfigVersion.cmake" "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
    DESTINATION "${config_dir}" COMPONENT development)

  # pkg-config: exapool (the runtime and the client) and exapool-exasim (the simulator). The
  # libraries are static, so their dependencies are in Libs. The prefix is found from the .pc
  # file's own place, so `cmake --install --prefix` anywhere works.
  set(pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(EXAPOOL_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  else()
    file(RELATIVE_PATH up "/root/${pc_dir}" "/root")
    set(EXAPOOL_PC_PREFIX "\${pcfiledir}/${up}")
  endif()
  foreach(pc exapool exapool-exasim)
    configure_file("${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in" "${PROJECT_BINARY_DIR}/${pc}.pc" @ONLY)
    install(FILES "${PROJECT_BINARY_DIR}/${pc}.pc" DESTINATION "${pc_dir}" COMPONENT development)
  endforeach()
endfunction()
