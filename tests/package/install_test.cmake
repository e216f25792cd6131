# `cmake --install` of exapool's build into a scratch prefix, then a consumer: examples/embedding
# with find_package(exapool), and the same main.cpp with pkg-config's flags. Both programs run a
# query through a session actor against exasim. examples/http_service is built with
# find_package(exapool) too and runs its end-to-end test.
#   SOURCE_DIR BUILD_DIR WORK_DIR CXX LAUNCHER PKG_CONFIG CURL VERSION LIBDIR
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
run("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

# What a consumer gets: the package files, and one directory on its include path, exapool/,
# with the three umbrella headers and only what they include.
foreach(file include/exapool/runtime.hpp include/exapool/client.hpp include/exapool/exasim.hpp
    include/exapool/actors/runtime.hpp include/exapool/integration/exasim/server.hpp
    ${LIBDIR}/cmake/exapool/exapoolConfig.cmake ${LIBDIR}/cmake/exapool/exapoolConfigVersion.cmake
    ${LIBDIR}/cmake/exapool/exapoolTargets.cmake ${LIBDIR}/cmake/exapool/FindCAF.cmake
    ${LIBDIR}/pkgconfig/exapool.pc ${LIBDIR}/pkgconfig/exapool-exasim.pc
    ${LIBDIR}/libexapool_runtime.a ${LIBDIR}/libexapool_client.a ${LIBDIR}/libexapool_exasim.a
    bin/exapool bin/exasim)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "cmake --install did not install ${file}")
  endif()
endforeach()
file(GLOB top RELATIVE "${prefix}/include" "${prefix}/include/*")
if(NOT top STREQUAL "exapool")
  message(FATAL_ERROR "<prefix>/include should hold exapool/ only, it holds: ${top}")
endif()
file(GLOB_RECURSE headers RELATIVE "${prefix}/include/exapool" "${prefix}/include/exapool/*")
foreach(header IN LISTS headers)
  if(NOT header MATCHES "^(runtime|client|exasim)[.]hpp$|^(actors|messages|integration/exasol|integration/exasim)/[a-z_]+[.]hpp$")
    message(FATAL_ERROR "an unexpected installed header: include/exapool/${header}")
  endif()
  file(STRINGS "${prefix}/include/exapool/${header}" unprefixed
    REGEX "#[ \t]*include[ \t]*\"(actors|messages|integration|include)/")
  if(unprefixed)
    message(FATAL_ERROR "include/exapool/${header} includes outside exapool/: ${unprefixed}")
  endif()
endforeach()
list(LENGTH headers count)
message(STATUS "installed headers: ${count}, all under include/exapool/")

# find_package(exapool) and exapool::runtime: examples/embedding, built and run.
set(example "${WORK_DIR}/embedding")
run("configure examples/embedding" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples/embedding"
  -B "${example}" "-DCMAKE_PREFIX_PATH=${prefix}" ${compiler_args})
run("build examples/embedding" "${CMAKE_COMMAND}" --build "${example}" -j${cores})
run("run the embedding" "${example}/embedding")
expect_match("embedding" "${run_output}" "^hello from exapool, the answer is 42\n$")
run("run the service example" "${example}/embedding_service")
expect_match("embedding_service" "${run_output}"
  "prewarmed [0-9]+ of [0-9]+ connections\n.*visits: 20\n.*server sessions after shutdown: 0\n")

# examples/http_service, also with find_package(exapool), then its end-to-end test
# (tests/examples/http_service_test.sh) with the installed exasim and exapool programs.
set(http_example "${WORK_DIR}/http_service")
run("configure examples/http_service" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples/http_service"
  -B "${http_example}" "-DCMAKE_PREFIX_PATH=${prefix}" ${compiler_args})
run("build examples/http_service" "${CMAKE_COMMAND}" --build "${http_example}" -j${cores})
if(NOT CURL OR CURL MATCHES "NOTFOUND$")
  message(FATAL_ERROR "curl was not found: apt-get install curl (./run.sh test installs it) and "
    "re-run cmake")
endif()
run("run the http_service test" sh "${SOURCE_DIR}/tests/examples/http_service_test.sh"
  "${http_example}/http_service" "${prefix}/bin/exasim" "${prefix}/bin/exapool" "${CURL}")
expect_match("http_service" "${run_output}" "\nhttp_service: all checks passed\n$")

# The version file: another major.minor is refused.
file(WRITE "${WORK_DIR}/version-check/CMakeLists.txt"
  "cmake_minimum_required(VERSION 3.25)\nproject(version_check LANGUAGES CXX)\n"
  "find_package(exapool 9.0 QUIET)\nif(exapool_FOUND)\n  message(FATAL_ERROR \"9.0 accepted\")\n"
  "endif()\nfind_package(exapool ${VERSION} EXACT REQUIRED)\n")
run("find_package with versions" "${CMAKE_COMMAND}" -S "${WORK_DIR}/version-check"
  -B "${WORK_DIR}/version-check/build" "-DCMAKE_PREFIX_PATH=${prefix}")

# pkg-config: the same main.cpp, compiled and linked with nothing but what exapool.pc and
# exapool-exasim.pc give.
if(NOT PKG_CONFIG OR PKG_CONFIG MATCHES "NOTFOUND$")
  message(FATAL_ERROR "pkg-config was not found: apt-get install pkg-config (./run.sh test "
    "installs it) and re-run cmake")
endif()
set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
run("pkg-config --modversion" "${PKG_CONFIG}" --modversion exapool)
expect_match("exapool.pc version" "${run_output}" "^${VERSION}\n$")
run("pkg-config --cflags --libs" "${PKG_CONFIG}" --cflags --libs exapool exapool-exasim)
string(STRIP "${run_output}" flags)
message(STATUS "pkg-config --cflags --libs exapool exapool-exasim: ${flags}")
separate_arguments(flags UNIX_COMMAND "${flags}")
set(launcher_command)
if(LAUNCHER)
  set(launcher_command "${LAUNCHER}")
endif()
run("compile and link with pkg-config's flags" ${launcher_command} "${CXX}" -std=c++17
  "${SOURCE_DIR}/examples/embedding/main.cpp" -o "${WORK_DIR}/embedding-pkg-config" ${flags})
run("run the pkg-config build" "${WORK_DIR}/embedding-pkg-config")
expect_match("embedding (pkg-config)" "${run_output}" "^hello from exapool, the answer is 42\n$")

# Passed: the prefix and the programs (statically linked, with debug information) take about
# 450 MB; a failure above keeps them to look at.
file(REMOVE_RECURSE "${WORK_DIR}")
