# coffer_manager: the REST API, the orchestration of agent jobs (backups,
# restores), the reconciler, metrics, the admin token and the composition of
# the service. Included from src/manager/CMakeLists.txt after ops.cmake.
# HTTP and TOML come from the service shell (src/service).
set(_core ${CMAKE_CURRENT_LIST_DIR})

add_library(coffer_manager
  ${_core}/admin_token.cc
  ${_core}/agent_client.cc
  ${_core}/agents.cc
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
  PUBLIC coffer_manager_ops coffer_meta coffer_hash coffer_agent_api coffer_service
         nlohmann_json::nlohmann_json
  PRIVATE Threads::Threads)

# Unit tests beside the code: config, admin token, HTTP helpers, and the
# reconciler against a fake agent over real HTTP.
coffer_test(manager_core_test
  SOURCES ${_core}/config_test.cc ${_core}/admin_token_test.cc ${_core}/api/http_util_test.cc
          ${_core}/reconciler_test.cc
  LIBS coffer_manager coffer_manager_ops_testing)
