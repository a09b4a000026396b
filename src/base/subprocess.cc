#include "base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

extern char** environ;

namespace coffer {

bool ProcessExists(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}
namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  int r = -1, w = -1;
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Appends what is readable now; returns false at end of file or error.
bool ReadSome(int fd, std::string* to, size_t max, bool* truncated) {
  char buf[16384];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  size_t keep = to->size() < max ? std::min(size_t(n), max - to->size()) : 0;
  to->append(buf, keep);
  if (keep < size_t(n)) *truncated = true;
  return true;
}

}  // namespace

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options,
                                       const std::atomic<bool>* cancel) {
  if (options.argv.empty()) return InvalidArgument("no command to run");
  Pipe out, err;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::unexpected(ErrnoError(errno, "pipe"));
  out.r = fds[0], out.w = fds[1];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::unexpected(ErrnoError(errno, "pipe"));
  err.r = fds[0], err.w = fds[1];

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.w, 1);
  posix_spawn_file_actions_adddup2(&actions, err.w, 2);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, so a timeout kills all of it
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  std::vector<std::string> args = options.argv, envs = options.env;
  auto cargs = CStrings(args), cenv = CStrings(envs);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, cargs[0], &actions, &attr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return std::unexpected(ErrnoError(rc, "cannot run " + options.argv[0]));
  ::close(out.w), out.w = -1;
  ::close(err.w), err.w = -1;
  ::fcntl(out.r, F_SETFL, O_NONBLOCK);
  ::fcntl(err.r, F_SETFL, O_NONBLOCK);

  SubprocessResult result;
  const auto started = Clock::now();
  std::optional<Clock::time_point> term_sent;
  bool open[2] = {true, true};
  int status = 0;
  bool exited = false;
  while (!exited) {
    pollfd p[2] = {{open[0] ? out.r : -1, POLLIN, 0}, {open[1] ? err.r : -1, POLLIN, 0}};
    ::poll(p, 2, 50);
    if (open[0] && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      open[0] = ReadSome(out.r, &result.out, options.max_output, &result.truncated);
    }
    if (open[1] && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      open[1] = ReadSome(err.r, &result.err, options.max_output, &result.truncated);
    }
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      exited = true;
      break;
    }
    const auto now = Clock::now();
    if (!term_sent) {
      bool expired = options.timeout.count() > 0 && now - started >= options.timeout;
      bool stop = cancel != nullptr && cancel->load();
      if (expired || stop) {
        result.timed_out = expired;
        result.cancelled = !expired;
        ::kill(-pid, SIGTERM);
        term_sent = now;
      }
    } else if (now - *term_sent >= std::chrono::seconds(1)) {
      ::kill(-pid, SIGKILL);
    }
  }
  // The child is gone; take what its pipes still hold, without waiting for
  // a daemon it left behind to close them.
  for (int i = 0; i < 2; ++i) {
    while (open[i]) {
      size_t before = (i == 0 ? result.out : result.err).size();
      open[i] = ReadSome(i == 0 ? out.r : err.r, i == 0 ? &result.out : &result.err,
                         options.max_output, &result.truncated);
      if ((i == 0 ? result.out : result.err).size() == before) break;
    }
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace coffer
