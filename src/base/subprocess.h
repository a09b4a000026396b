// RunSubprocess: runs a command to completion with a time limit and captures
// its output. Used for the agent's snapshot hooks and by test peers.
//
// The child gets its own process group, stdin from /dev/null, and exactly the
// environment given. When the time limit expires (or `cancel` becomes true)
// the whole group gets SIGTERM and, a second later, SIGKILL, so a hook that
// started helpers leaves none behind. Output is captured up to a limit per
// stream; the rest is read and dropped, so a chatty child never blocks.
//
// A child may leave a daemon behind that still holds the output pipes (a hook
// that starts an NBD server in the background): collection ends when the
// child itself exits, not when the pipes close.
//
// Thread safety: reentrant; each call owns its child.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace coffer {

// Whether a process with this id exists (it may belong to another user:
// kill(pid, 0) then fails with EPERM, which still says it runs).
bool ProcessExists(int64_t pid);

struct SubprocessOptions {
  std::vector<std::string> argv;         // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::string> env;          // "NAME=value", the child's whole environment
  std::chrono::milliseconds timeout{0};  // 0: none
  size_t max_output = size_t(1) << 20;   // bytes kept per stream
  std::string cwd;                       // empty: the caller's
};

struct SubprocessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, 0 if it exited
  bool timed_out = false;
  bool cancelled = false;
  std::string out, err;
  bool truncated = false;  // some output beyond max_output was dropped

  bool ok() const { return exit_code == 0 && !timed_out && !cancelled; }
};

// Fails only when the command cannot be started (kNotFound for a missing
// program); a non-zero exit or a timeout is reported in the result.
Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options,
                                       const std::atomic<bool>* cancel = nullptr);

// This process's environment as "NAME=value" strings.
std::vector<std::string> CurrentEnvironment();

}  // namespace coffer
