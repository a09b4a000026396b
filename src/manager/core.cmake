# coffer_manager: the REST API, the orchestration of agent jobs (backups,
# restores), the reconciler, metrics, the admin token and the composition of
# the service. Included from src/manager/CMakeLists.txt after ops.cmake;
# cpp-httplib and toml++ stay in this library.
set(_core ${CMAKE_CURRENT_LIST_DIR})
pkg_check_modules(MANAGER_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(MANAGER_TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)

add_library(coffer_manager
  ${_core}/admin_token.cc
  ${_core}/agent_client.cc
  ${_core}/config.cc
  ${_core}/job_poller.cc
  ${_core}/job_requests.cc
  ${_core}/log.cc
  ${_core}/manager.cc
  ${_core}/metrics.cc
  ${_core}/orchestrator.cc
  ${_core}/reconciler.cc
  ${_core}/restores.cc
  ${_core}/api/http_util.cc
  ${_core}/api/openapi.cc
  ${_core}/api/openapi_schemas.cc
  ${_core}/api/records.cc
  ${_core}/api/routes_agents.cc
  ${_core}/api/routes_backups.cc
  ${_core}/api/routes_system.cc
  ${_core}/api/routes_targets.cc
  ${_core}/api/routes_volumes.cc
  ${_core}/api/server.cc)
target_link_libraries(coffer_manager
  PUBLIC coffer_manager_ops coffer_meta coffer_hash nlohmann_json::nlohmann_json
  PRIVATE PkgConfig::MANAGER_HTTPLIB PkgConfig::MANAGER_TOMLPP Threads::Threads)

# Unit tests beside the code: config, admin token, HTTP helpers, and the
# reconciler against a fake agent over real HTTP.
coffer_test(manager_core_test
  SOURCES ${_core}/config_test.cc ${_core}/admin_token_test.cc ${_core}/api/http_util_test.cc
          ${_core}/reconciler_test.cc
  LIBS coffer_manager coffer_manager_ops_testing PkgConfig::MANAGER_HTTPLIB)
