# Run by ctest before the TypeScript driver conformance test: is node there, and are the npm
# packages installed in integration/peers at the versions package.json pins?
if(NOT NODE OR NODE MATCHES "NOTFOUND$")
  message(FATAL_ERROR "node was not found: install Node.js 18 or newer (apt-get install nodejs npm, "
    "or ./run.sh test, which installs it) and re-run cmake")
endif()
file(READ "${PEERS_DIR}/package.json" manifest)
foreach(package @exasol/exasol-driver-ts ws)
  string(JSON pinned GET "${manifest}" dependencies ${package})
  set(installed_manifest "${PEERS_DIR}/node_modules/${package}/package.json")
  if(NOT EXISTS "${installed_manifest}")
    message(FATAL_ERROR "npm package ${package} is missing from integration/peers/node_modules: "
      "run `npm ci` in integration/peers (./run.sh test does it)")
  endif()
  file(READ "${installed_manifest}" installed)
  string(JSON version GET "${installed}" version)
  if(NOT version STREQUAL pinned)
    message(FATAL_ERROR "integration/peers/node_modules has ${package} ${version}, package.json "
      "pins ${pinned}: run `npm ci` in integration/peers (./run.sh test does it)")
  endif()
endforeach()
message(STATUS "node ${NODE}, @exasol/exasol-driver-ts and ws installed as pinned")
