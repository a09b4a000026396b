// Test peers for the network volume backends, run as real processes:
// nbdkit (NBD) and tgtd (iSCSI, Debian's `tgt`). Used by the backends' own
// tests and by the agent's end-to-end tests.
//
// nbdkit serves on a Unix socket in a directory the test owns, so parallel
// tests never collide on a port. tgtd listens on a free loopback port and
// uses its own management socket (tgtd's -C), so several can run at once
// beside a system tgtd. Both are stopped by the destructor.
//
// A peer that cannot start fails the test with the reason (never a skip).
//
// Thread safety: none; one test thread owns each server.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"

namespace coffer::testing {

// A free TCP port on 127.0.0.1 (bound and released, so a race is unlikely
// but possible; callers retry a start that fails to bind).
Result<int> FreeLoopbackPort();

class NbdkitServer {
 public:
  // Runs `nbdkit PLUGIN ARGS…` (e.g. {"file", "/path/img"} or {"memory",
  // "64M"}) in the foreground on a socket in `dir`; returns once it accepts.
  static Result<std::unique_ptr<NbdkitServer>> Start(const std::string& dir,
                                                     const std::vector<std::string>& plugin_args,
                                                     bool read_only = false);
  ~NbdkitServer();

  std::string uri() const { return "nbd+unix:///?socket=" + socket_; }
  const std::string& log_path() const { return log_; }

 private:
  NbdkitServer(pid_t pid, std::string socket, std::string log)
      : pid_(pid), socket_(std::move(socket)), log_(std::move(log)) {}
  pid_t pid_;
  std::string socket_, log_;
};

class TgtdServer {
 public:
  // Starts tgtd in the foreground on a free loopback port; returns once its
  // management socket answers. `dir` holds its log.
  static Result<std::unique_ptr<TgtdServer>> Start(const std::string& dir);
  ~TgtdServer();  // deletes its targets, asks it to exit, then kills it

  // Adds target `tid` named `iqn` with LUN 1 backed by `backing_file`, open
  // to every initiator. With `thin`, the LUN reports thin provisioning
  // (unmapped blocks read as zeros) so GET LBA STATUS shows the file's holes.
  Status AddTarget(int tid, const std::string& iqn, const std::string& backing_file,
                   bool thin = false);

  // iscsi://127.0.0.1:PORT/IQN/1
  std::string Url(const std::string& iqn) const;
  int port() const { return port_; }
  double started_seconds() const { return started_seconds_; }

 private:
  TgtdServer(pid_t pid, int port, int control, std::string log)
      : pid_(pid), port_(port), control_(control), log_(std::move(log)) {}
  Status Admin(const std::vector<std::string>& args) const;

  pid_t pid_;
  int port_, control_;
  std::string log_;
  std::vector<int> tids_;
  double started_seconds_ = 0;
};

}  // namespace coffer::testing
