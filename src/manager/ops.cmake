# coffer_manager_ops: the manager's work on targets and its background loops
# (targets service, cron, scheduler, retention, GC loop, index rebuild).
# Included from src/manager/CMakeLists.txt; the REST server and orchestration
# are a library of their own that links this one.
set(_ops ${CMAKE_CURRENT_LIST_DIR})
add_library(coffer_manager_ops
  ${_ops}/cron.cc
  ${_ops}/target_checks.cc
  ${_ops}/targets.cc
  ${_ops}/retention.cc
  ${_ops}/scheduler.cc
  ${_ops}/gc_loop.cc
  ${_ops}/index_rebuild.cc)
target_link_libraries(coffer_manager_ops PUBLIC coffer_meta coffer_engine coffer_store coffer_agent_api)

# Tests: a SQLite metadata store, real local targets, moto for S3.
add_library(coffer_manager_ops_testing ${_ops}/testing/ops_testing.cc)
target_link_libraries(coffer_manager_ops_testing PUBLIC coffer_manager_ops coffer_volume
                      GTest::gtest)

coffer_test(cron_test SOURCES ${_ops}/cron_test.cc LIBS coffer_manager_ops)
coffer_test(retention_test SOURCES ${_ops}/retention_test.cc LIBS coffer_manager_ops_testing)
coffer_test(scheduler_test SOURCES ${_ops}/scheduler_test.cc LIBS coffer_manager_ops_testing)
coffer_test(gc_loop_test SOURCES ${_ops}/gc_loop_test.cc LIBS coffer_manager_ops_testing)
coffer_test(index_rebuild_test SOURCES ${_ops}/index_rebuild_test.cc
            LIBS coffer_manager_ops_testing)

# One moto_server for the whole binary: a single registered test.
add_executable(targets_test ${_ops}/targets_test.cc)
target_link_libraries(targets_test PRIVATE coffer_manager_ops_testing coffer_s3_testing
                      GTest::gtest GTest::gtest_main Threads::Threads)
add_test(NAME targets_test COMMAND targets_test)
set_tests_properties(targets_test PROPERTIES TIMEOUT 300)
