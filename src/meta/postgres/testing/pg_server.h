// PgServer: a throwaway PostgreSQL server for tests, from Debian's
// `postgresql` package (installed by `make deps`).
//
// Start() makes a cluster in a fresh temporary directory (initdb, trust
// authentication, superuser "coffer") and runs `postgres` in the foreground
// as a child process, listening on 127.0.0.1 at a free port with no Unix
// socket, and with fsync, synchronous_commit and full_page_writes off: the
// data is thrown away, so durability only costs time. It then waits until
// the server accepts connections.
//
// PostgreSQL refuses to run as root; when the test runs as root, the child
// drops to the `postgres` system user (which owns the directory). The child
// asks the kernel for SIGQUIT when the process that started it dies
// (PR_SET_PDEATHSIG), so a crashed or killed test does not leave a server
// behind (its directory stays, and the next Start removes it once it is an
// hour old). The destructor stops the server (fast shutdown) and removes
// the directory.
//
// Server binaries: $COFFER_PG_BINDIR, else the newest
// /usr/lib/postgresql/<version>/bin.
//
// Thread safety: Start from the thread that will outlive the server (the
// death signal follows the starting thread); CreateDatabase may be called
// from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "base/error.h"

namespace coffer::meta::pgtest {

class PgServer {
 public:
  // kUnavailable with the reason (and the server log's tail) when the
  // binaries are missing or the server does not come up.
  static Result<std::unique_ptr<PgServer>> Start();
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // "postgresql://coffer@127.0.0.1:<port>/<database>".
  std::string Url(std::string_view database = "postgres") const;
  // Creates an empty database with a new name and returns its URL.
  Result<std::string> CreateDatabase();

  int port() const { return port_; }
  // For tests of a database that goes away: Halt stops the server (fast
  // shutdown, clients disconnected) and keeps its data; Resume starts it
  // again on the same port.
  void Halt() { Stop(); }
  Status Resume() { return Launch(port_); }
  double startup_seconds() const { return startup_seconds_; }
  const std::string& version() const { return version_; }

 private:
  PgServer() = default;
  Status Launch(int port = 0);  // 0: a free port
  void Stop();

  std::filesystem::path dir_;  // the temporary directory; data/ and server.log inside
  std::filesystem::path bin_;
  std::string version_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool drop_privileges_ = false;
  pid_t pid_ = -1;
  int port_ = 0;
  double startup_seconds_ = 0;
  std::atomic<int> next_db_{0};
};

}  // namespace coffer::meta::pgtest
