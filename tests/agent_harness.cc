#include "tests/agent_harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/bytes.h"
#include "engine/repository.h"
#include "service/http_client.h"
#include "store/local/local_store.h"
#include "store/open_store.h"
#include "tests/harness.h"
#include "volume/testing/peers.h"

extern char** environ;

namespace coffer::testing {

AgentProcess::AgentProcess(const std::string& dir, const std::vector<std::string>& roots,
                           std::vector<std::string> extra_args) {
  uint8_t rnd[16];
  FillRandom(rnd, sizeof rnd);
  token_ = "test-token-" + HexEncode(rnd);
  std::string token_file = dir + "/agent.token";
  WriteFile(token_file, token_ + "\n");
  log_ = dir + "/agent.log";
  const size_t log_from = FileSizeOrZero(log_);
  std::vector<std::string> argv = {"setpriv",      "--pdeathsig", "KILL",     "--",
                                   CofferBin(),    "agent",       "--listen", "127.0.0.1:0",
                                   "--token-file", token_file};
  for (const auto& r : roots) argv.insert(argv.end(), {"--volume-root", r});
  for (size_t i = 0; i + 1 < extra_args.size(); ++i) {
    if (extra_args[i] == "--tls-cert") tls_ca_ = extra_args[i + 1];
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  int rc = ::posix_spawnp(&pid_, "setpriv", &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fd);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start the agent";
    return;
  }
  port_ = ListeningPort(log_, log_from, 30);
  if (port_ == 0) {
    ADD_FAILURE() << "the agent did not say where it listens: " << ReadFile(log_);
    return;
  }
  for (int i = 0; i < 3000; ++i) {  // 30 s: a sanitizer build on a loaded machine
    if (Call("GET", "/healthz").status == 200) return;
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "the agent did not answer /healthz: " << ReadFile(log_);
  port_ = 0;
}

AgentProcess::~AgentProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      // A clean stop exits 0; a sanitizer report or a crash on the way out does not.
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ADD_FAILURE() << "the agent did not stop cleanly (status " << status
                      << "): " << ReadFile(log_);
      }
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  ADD_FAILURE() << "the agent did not stop within 10 s of SIGTERM: " << ReadFile(log_);
}

HttpReply AgentProcess::Call(const std::string& method, const std::string& path,
                             const std::string& body, const std::string* token) const {
  std::string scheme = tls_ca_.empty() ? "http://" : "https://";
  service::HttpClient client(scheme + "127.0.0.1:" + std::to_string(port_),
                             {std::chrono::seconds(30), tls_ca_});
  const std::string& t = token ? *token : token_;
  const bool with_body = method != "GET" && method != "DELETE";
  auto r = client.Call(method, path, t, with_body ? &body : nullptr);
  HttpReply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.raw = r->body;
  reply.body = json::parse(r->body, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

json AgentProcess::WaitJob(const std::string& id, double timeout_s) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpReply r = Call("GET", "/v1/storage/jobs/" + id);
    if (r.status != 200) {
      ADD_FAILURE() << "GET job " << id << ": " << r.status << " " << r.raw;
      return r.body;
    }
    last = r.body;
    if (last["state"] != "running") return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "job " << id << " still running after " << timeout_s << " s: " << last.dump();
  return last;
}

std::string InitTargetForAgent(const std::string& path) {
  auto store = LocalStore::Open(path, true);
  if (!store) {
    ADD_FAILURE() << store.error().message();
    return "";
  }
  InitOptions opts;
  opts.argon2 = DefaultArgon2Params();
  auto repo = Repository::Init(std::move(*store), "agent test passphrase", opts);
  if (!repo) {
    ADD_FAILURE() << repo.error().message();
    return "";
  }
  const SecretKey& tk = (*repo)->keys().target_key;
  return HexEncode(ByteView(tk.data(), kKeyLen));
}

json LocalTarget(const std::string& path, const std::string& key_hex) {
  return {{"address", path}, {"key", key_hex}};
}

namespace {
constexpr char kTestAccessKey[] = "agent-test-key", kTestSecret[] = "agent-test-secret";
}

std::string InitS3TargetForAgent(const std::string& address, const std::string& endpoint) {
  StoreOptions o;
  o.s3_endpoint = endpoint;
  o.s3_credentials = AwsCredentials{kTestAccessKey, kTestSecret, ""};
  auto store = OpenStore(address, o);
  if (!store) {
    ADD_FAILURE() << store.error().message();
    return "";
  }
  InitOptions opts;
  opts.argon2 = DefaultArgon2Params();
  auto repo = Repository::Init(std::move(*store), "agent test passphrase", opts);
  if (!repo) {
    ADD_FAILURE() << repo.error().message();
    return "";
  }
  const SecretKey& tk = (*repo)->keys().target_key;
  return HexEncode(ByteView(tk.data(), kKeyLen));
}

json S3Target(const std::string& address, const std::string& endpoint, const std::string& key_hex) {
  return {{"address", address},
          {"key", key_hex},
          {"s3_endpoint", endpoint},
          {"s3_access_key_id", kTestAccessKey},
          {"s3_secret_access_key", kTestSecret}};
}

size_t ManifestCount(const std::string& target) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(target + "/manifests", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename().string().find('.') == std::string::npos) {
      ++n;
    }
  }
  return n;
}

void MakeImage(const std::string& path, const std::string& size, int seed, bool sparse) {
  std::vector<std::string> args = {MkimageBin(),         "create", "--size", size, "--seed",
                                   std::to_string(seed), path};
  if (sparse) args.insert(args.begin() + 2, "--sparse");
  RunResult r = RunProcess(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace coffer::testing
