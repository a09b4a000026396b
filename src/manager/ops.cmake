# coffer_manager_ops: the manager's work on targets and its background loops
# (targets service, cron, scheduler, retention, GC loop, index rebuild).
# Included from src/manager/CMakeLists.txt; the REST server and orchestration
# are a library of their own that links this one.
add_library(coffer_manager_ops
  ${CMAKE_CURRENT_LIST_DIR}/cron.cc
  ${CMAKE_CURRENT_LIST_DIR}/targets.cc)
target_link_libraries(coffer_manager_ops PUBLIC coffer_meta coffer_engine coffer_store)

coffer_test(cron_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cron_test.cc LIBS coffer_manager_ops)
