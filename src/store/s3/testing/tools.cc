#include "store/s3/testing/tools.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace coffer::testing_tools {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::vector<std::string> SearchDirs() {
  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t colon = p.find(':', start);
    if (colon == std::string::npos) colon = p.size();
    if (colon > start) dirs.push_back(p.substr(start, colon - start));
    start = colon + 1;
  }
  if (const char* home = std::getenv("HOME")) dirs.push_back(std::string(home) + "/.pyenv/shims");
  dirs.push_back("/root/.pyenv/shims");
  return dirs;
}

}  // namespace

Result<std::string> FindExecutable(const std::string& name) {
  std::string looked;
  for (const std::string& dir : SearchDirs()) {
    std::string candidate = dir + "/" + name;
    if (IsExecutable(candidate)) return candidate;
    looked += (looked.empty() ? "" : ":") + dir;
  }
  return NotFound("'" + name + "' is not installed: not found in " + looked +
                  " (it comes with the machine image; see scripts/deps.sh)");
}

Result<std::string> FindPythonWithBotocore() {
  for (const std::string& dir : SearchDirs()) {
    std::string candidate = dir + "/python3";
    if (!IsExecutable(candidate)) continue;
    auto r = RunCommand({candidate, "-c", "import botocore.auth"}, "", {}, 30);
    if (r && r->exit_code == 0) return candidate;
  }
  return NotFound(
      "no python3 on PATH or in ~/.pyenv/shims can import botocore (installed with the aws "
      "CLI on the machine image)");
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input,
                                 const std::vector<std::string>& env, int timeout_seconds) {
  if (argv.empty()) return InvalidArgument("RunCommand: empty argv");
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return std::unexpected(ErrnoError(errno, "pipe"));
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return std::unexpected(ErrnoError(errno, "pipe"));
  }
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const std::string& e : env) envs.push_back(e);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return std::unexpected(ErrnoError(errno, "fork"));
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(out_pipe[1], 2);
    ::execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  // Feed the input, then read the output until EOF or the deadline. Inputs
  // are small (a JSON document), so writing all first cannot dead-lock on a
  // child that fills its output pipe only after reading everything.
  ::signal(SIGPIPE, SIG_IGN);
  size_t done = 0;
  while (done < input.size()) {
    ssize_t n = ::write(in_pipe[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  ::close(in_pipe[1]);

  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{out_pipe[0], POLLIN, 0};
    int pr = ::poll(&pfd, 1, int(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, size_t(n));
  }
  ::close(out_pipe[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Unavailable(argv[0] + " ran longer than " + std::to_string(timeout_seconds) +
                       " s; output so far: " + result.output);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace coffer::testing_tools
