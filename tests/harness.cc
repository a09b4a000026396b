#include "tests/harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace coffer::testing {
namespace {

// The XDG_CACHE_HOME of every child that the test does not give one: a
// directory of this test process, removed when it exits, so that the
// known-chunks cache of `coffer backup` neither reads the user's cache nor
// leaves files in it.
const std::string& PrivateCacheHome() {
  static const TempDir dir;
  return dir.path();
}

std::vector<std::string> MergedEnv(const Env& env) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  all["XDG_CACHE_HOME"] = PrivateCacheHome();
  for (const auto& [k, v] : env) {
    if (v.empty()) {
      all.erase(k);
    } else {
      all[k] = v;
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t Start(const std::vector<std::string>& argv, const Env& env, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  if (err_fd >= 0) posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  if (out_fd < 0) posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  if (err_fd < 0) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = argv, envs = MergedEnv(env);
  auto cargs = CStrings(args), cenv = CStrings(envs);
  pid_t pid;
  int rc = posix_spawn(&pid, cargs[0], &actions, nullptr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

RunResult RunCoffer(std::vector<std::string> args, Env env) {
  args.insert(args.begin(), CofferBin());
  if (!env.contains("COFFER_PASSPHRASE")) env["COFFER_PASSPHRASE"] = "pw";
  return RunProcess(args, env);
}

std::string MakeImageFile(const std::string& path, const std::string& size, int seed) {
  RunResult r =
      RunProcess({MkimageBin(), "create", "--size", size, "--seed", std::to_string(seed), path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

RunResult RunProcess(const std::vector<std::string>& argv, const Env& env) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_t pid = Start(argv, env, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  RunResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, size_t(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

pid_t Spawn(const std::vector<std::string>& argv, const Env& env) {
  return Start(argv, env, -1, -1);
}

std::string CofferBin() { return COFFER_BIN; }
std::string MkimageBin() { return MKIMAGE_BIN; }

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TMPDIR");
  path_ = std::string(base && *base ? base : "/tmp") + "/coffer-e2e-" + std::to_string(getpid()) +
          "-" + std::to_string(counter++);
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string CompareFiles(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa) return "cannot open " + a;
  if (!fb) return "cannot open " + b;
  std::vector<char> ba(1 << 20), bb(1 << 20);
  uint64_t offset = 0;
  while (true) {
    fa.read(ba.data(), std::streamsize(ba.size()));
    fb.read(bb.data(), std::streamsize(bb.size()));
    size_t na = size_t(fa.gcount()), nb = size_t(fb.gcount());
    size_t n = std::min(na, nb);
    for (size_t i = 0; i < n; ++i) {
      if (ba[i] != bb[i]) return "files differ at offset " + std::to_string(offset + i);
    }
    if (na != nb) return "files differ in size near offset " + std::to_string(offset + n);
    if (na == 0) return "";
    offset += na;
  }
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary).write(data.data(), std::streamsize(data.size()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int ListeningPort(const std::string& log, size_t from, double timeout_s) {
  const std::string marker = "listening on ";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = ReadFile(log);
    size_t at = text.size() > from ? text.find(marker, from) : std::string::npos;
    size_t end = at == std::string::npos ? at : text.find('\n', at);
    if (end != std::string::npos) {
      size_t colon = text.rfind(':', end);
      if (colon != std::string::npos && colon > at) {
        return std::atoi(text.substr(colon + 1, end - colon - 1).c_str());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

size_t FileSizeOrZero(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : size_t(n);
}

std::vector<std::string> ChunkFiles(const std::string& target) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(target + "/chunks", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename().string().size() == 64) {
      out.push_back(it->path().string());
    }
  }
  return out;
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return uint64_t(st.st_blocks) * 512;
}

}  // namespace coffer::testing
