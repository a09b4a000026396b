#include "tests/manager_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "base/bytes.h"
#include "base/uuid.h"
#include "service/http_client.h"
#include "store/s3/testing/moto_server.h"

extern char** environ;

namespace coffer::testing {
namespace {

std::vector<std::string> Environment(const Env& env) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
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

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> b(bytes);
  FillRandom(b.data(), b.size());
  return HexEncode(b);
}

// The agent wants its token even for /healthz; the manager wants none.
bool WaitHealthy(int port, double timeout_s, const std::string& token = "") {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (HttpCall(port, "GET", "/healthz", "", token).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

Reply HttpCall(int port, const std::string& method, const std::string& path,
               const std::string& body, const std::string& token) {
  service::HttpClient client("http://127.0.0.1:" + std::to_string(port),
                             {std::chrono::seconds(60), ""});
  const bool with_body = method != "GET" && method != "DELETE";
  auto r = client.Call(method, path, token, with_body ? &body : nullptr);
  Reply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.raw = r->body;
  reply.content_type = r->Header("Content-Type");
  reply.body = json::parse(r->body, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

Reply RawCall(int port, const std::string& request) {
  Reply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return reply;
  }
  std::string_view out = request;
  while (!out.empty()) {
    ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) before it has it all
    out.remove_prefix(size_t(n));
  }
  std::string in;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, size_t(n));
  ::close(fd);
  const size_t end = in.find("\r\n\r\n");
  if (!in.starts_with("HTTP/1.1 ") || end == std::string::npos) return reply;
  reply.status = std::atoi(in.c_str() + 9);
  reply.raw = in.substr(end + 4);
  reply.body = json::parse(reply.raw, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

bool Child::Start(const std::vector<std::string>& argv, const std::string& log, const Env& env) {
  std::vector<std::string> args = {"setpriv", "--pdeathsig", "KILL", "--"};
  args.insert(args.end(), argv.begin(), argv.end());
  std::vector<std::string> envs = Environment(env);
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  std::vector<char*> cargs, cenv;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  int rc = ::posix_spawnp(&pid_, "setpriv", &actions, nullptr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fd);
  if (rc != 0) pid_ = -1;
  return rc == 0;
}

void Child::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

bool Child::Alive() const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  return ::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

void Child::Kill(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int Child::Stop() {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill(SIGKILL);
  return -1;
}

namespace {

// The end of a log, for a failure message.
std::string Tail(const std::string& log) {
  std::string text = ReadFile(log);
  return text.size() > 4000 ? "…" + text.substr(text.size() - 4000) : text;
}

}  // namespace

AgentProc::AgentProc(const std::string& dir, const std::string& root, const Env& env,
                     const std::string& config)
    : dir_(dir), root_(root), token_("agent-token-" + RandomHex(16)), env_(env) {
  std::filesystem::create_directories(dir_);
  std::filesystem::create_directories(root_);
  token_file_ = dir_ + "/agent.token";
  WriteFile(token_file_, token_ + "\n");
  log_ = dir_ + "/agent.log";
  if (!config.empty()) {
    config_ = dir_ + "/agent.toml";
    WriteFile(config_, config);
  }
  Launch();
}

AgentProc::~AgentProc() {
  int code = child_.Stop();
  EXPECT_EQ(code, 0) << "the agent did not stop cleanly:\n" << Tail(log_);
}

// The first start picks a free port itself; a restart takes the same one
// (the manager knows the agent by its URL).
void AgentProc::Launch() {
  const size_t from = FileSizeOrZero(log_);
  std::vector<std::string> argv = {
      CofferBin(),    "agent",     "--listen",      "127.0.0.1:" + std::to_string(port_),
      "--token-file", token_file_, "--volume-root", root_};
  if (!config_.empty()) argv.insert(argv.end(), {"--config", config_});
  ASSERT_TRUE(child_.Start(argv, log_, env_));
  if (port_ == 0) port_ = ListeningPort(log_, from, 30);
  ASSERT_NE(port_, 0) << "the agent did not say where it listens: " << ReadFile(log_);
  ASSERT_TRUE(WaitHealthy(port_, 30, token_)) << "the agent did not come up: " << ReadFile(log_);
}

void AgentProc::Restart(int sig) {
  child_.Kill(sig);
  Launch();
}

ManagerProc::ManagerProc(const std::string& dir, const std::string& database_url, const Env& env,
                         int silence_seconds)
    : dir_(dir), database_url_(database_url), env_(env), silence_seconds_(silence_seconds) {
  std::filesystem::create_directories(dir_);
  log_ = dir_ + "/manager.log";
  Launch();
}

void ManagerProc::Restart(int sig) {
  child_.Kill(sig);
  Launch();
}

void ManagerProc::Launch() {
  const std::string& database_url = database_url_;
  const Env& env = env_;
  const std::string config = dir_ + "/manager.toml";
  // Short intervals so that the tests see polls, heartbeats and the
  // reconciler within seconds.
  WriteFile(config,
            "job_poll_interval_ms = 100\n"
            "agent_timeout_ms = 2000\n"
            "reconcile_interval_seconds = 1\n"
            "backup_silence_timeout_seconds = " +
                std::to_string(silence_seconds_) + "\n" +
                "scheduler_interval_seconds = 1\n"
                "gc_check_interval_seconds = 3600\n");
  std::vector<std::string> argv = {
      CofferBin(),  "manager",      "--config", config,
      "--data-dir", dir_ + "/data", "--listen", "127.0.0.1:" + std::to_string(port_)};
  if (!database_url.empty()) argv.insert(argv.end(), {"--database-url", database_url});
  Env e = env;
  if (!e.contains("COFFER_ADMIN_TOKEN")) e["COFFER_ADMIN_TOKEN"] = "";  // unset
  const size_t from = FileSizeOrZero(log_);
  ASSERT_TRUE(child_.Start(argv, log_, e));
  if (port_ == 0) port_ = ListeningPort(log_, from, 30);  // first start: its own pick
  ASSERT_NE(port_, 0) << "the manager did not say where it listens: " << Log();
  ASSERT_TRUE(WaitHealthy(port_, 30)) << "the manager did not come up: " << Log();
  if (auto it = env.find("COFFER_ADMIN_TOKEN"); it != env.end() && !it->second.empty()) {
    token_ = it->second;
    return;
  }
  // The first start's line (a restart prints none).
  const std::string log = Log();
  const std::string prefix = "admin token: ";
  size_t at = log.find(prefix);
  ASSERT_NE(at, std::string::npos) << "no admin token printed: " << log;
  size_t end = log.find('\n', at);
  token_ = log.substr(at + prefix.size(), end - at - prefix.size());
}

ManagerProc::~ManagerProc() {
  int code = child_.Stop();
  EXPECT_EQ(code, 0) << "the manager did not stop cleanly:\n" << Tail(log_);
}

Reply ManagerProc::Call(const std::string& method, const std::string& path,
                        const json& body) const {
  return HttpCall(port_, method, path, body.is_null() ? "" : body.dump(), token_);
}

json ManagerProc::WaitBackup(const std::string& id, double timeout_s) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    Reply r = Get("/v1/backups/" + id);
    if (r.status != 200) {
      ADD_FAILURE() << "GET backup " << id << ": " << r.status << " " << r.raw;
      return r.body;
    }
    last = r.body;
    if (last["status"] != "running") return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "backup " << id << " still running after " << timeout_s << " s: " << last.dump();
  return last;
}

json ManagerProc::WaitRestore(const std::string& id, double timeout_s) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    Reply r = Get("/v1/restores/" + id);
    if (r.status != 200) {
      ADD_FAILURE() << "GET restore " << id << ": " << r.status << " " << r.raw;
      return r.body;
    }
    last = r.body;
    if (last["state"] != "running") return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "restore " << id << " still running after " << timeout_s << " s";
  return last;
}

}  // namespace coffer::testing
