// Manager: the `coffer manager` service put together (DESIGN §4, §10) — the
// one place that builds the services from the config and starts and stops
// them in order.
//
// Start():
//   1. the master key (created 0600 at the first start) and the metadata
//      database (SQLite in the data directory by default, WAL; or
//      PostgreSQL), migrated;
//   2. the admin token: COFFER_ADMIN_TOKEN, or generated at the first start
//      and printed once on stderr as "admin token: <token>"; only its hash is
//      stored (api_token table);
//   3. the REST API, bound to the listen address;
//   4. the background loops — scheduler, daily GC, reconciler — which work
//      only while this replica holds the leader lock (one replica of several
//      sharing a PostgreSQL database; SQLite: one process). The job poller
//      runs on every replica: it follows the jobs this replica started.
// Serve() answers requests until Stop() (from a signal handler thread).
//
// Thread safety: Start, Serve and the destructor from one thread; Stop from
// any thread.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/error.h"
#include "manager/common/config.h"

namespace coffer::meta {
class MetaStore;
class LeaderLock;
}  // namespace coffer::meta

namespace coffer::manager {

class Manager {
 public:
  explicit Manager(ManagerConfig config);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Opens everything and binds the API; `env_token` is COFFER_ADMIN_TOKEN.
  Status Start(std::optional<std::string> env_token);
  int port() const;
  // Answers requests until Stop(); then stops the loops.
  Status Serve();
  void Stop();

  // Whether this replica holds leadership now (tries to take it when not).
  bool IsLeader();

 private:
  struct Parts;
  // Master key, database (migrated), leader lock, admin token.
  Status OpenDatabase(std::optional<std::string> env_token);
  // Everything between the database and the HTTP server.
  void BuildServices();
  ManagerConfig config_;
  std::unique_ptr<Parts> parts_;
  std::mutex leader_mu_;
};

}  // namespace coffer::manager
