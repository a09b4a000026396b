// Helpers for the manager's end-to-end tests: the real `coffer manager` and
// `coffer agent` processes on loopback ports, talked to over real HTTP.
//
// Every child runs under `setpriv --pdeathsig KILL`, so a crashed test leaves
// no service behind; its stdout and stderr go to a log file the test reads
// (the canary checks look for secrets there).
//
// Thread safety: for one test thread.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/harness.h"

namespace coffer::testing {

using nlohmann::json;

struct Reply {
  int status = 0;  // 0: no answer
  json body;       // null when the body is not JSON
  std::string raw;
  std::string content_type;
};

// One HTTP request to 127.0.0.1:port; `token` empty: no Authorization.
Reply HttpCall(int port, const std::string& method, const std::string& path,
               const std::string& body, const std::string& token);

// `request`'s bytes sent as they are on a new connection (for what
// HttpClient will not send: other content types, bytes that are not UTF-8,
// broken framing), and the answer read until the server closes.
Reply RawCall(int port, const std::string& request);

// A child process with its output in a log file.
class Child {
 public:
  Child() = default;
  ~Child() { Stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Starts argv (through setpriv); output appended to `log`.
  bool Start(const std::vector<std::string>& argv, const std::string& log, const Env& env = {});
  void Kill(int sig);    // sends the signal and reaps the process
  void Signal(int sig);  // sends the signal only (SIGSTOP, SIGCONT)
  pid_t pid() const { return pid_; }
  // SIGTERM, up to 10 s, then SIGKILL. Returns the exit code: 0 for a clean
  // stop, -1 if it had to be killed or died of a signal (an ASan report
  // makes it non-zero too).
  int Stop();
  bool running() const { return pid_ > 0; }
  // Whether the process still runs (it is not reaped if it exited).
  bool Alive() const;

 private:
  pid_t pid_ = -1;
};

// `coffer agent` on a fixed loopback port with a fixed token, so that a
// restarted agent is the same agent to the manager (a new process that knows
// none of the old one's jobs).
class AgentProc {
 public:
  // `env` is added to the agent's environment, `config` (TOML lines) to
  // its configuration file.
  AgentProc(const std::string& dir, const std::string& root, const Env& env = {},
            const std::string& config = "");
  ~AgentProc();           // stops it; a non-zero exit fails the test, with the log
  void Restart(int sig);  // kill with `sig`, start again on the same port
  void Signal(int sig) { child_.Signal(sig); }
  pid_t pid() const { return child_.pid(); }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& token() const { return token_; }
  const std::string& root() const { return root_; }
  const std::string& log() const { return log_; }

 private:
  void Launch();
  std::string dir_, root_, token_, token_file_, log_, config_;
  Env env_;
  int port_ = 0;
  Child child_;
};

class ManagerProc {
 public:
  // Starts `coffer manager` with its data in `dir`/data, a config file with
  // short intervals, and `database_url` (empty: SQLite). Reads the admin
  // token the first start prints.
  // `silence_seconds` is backup_silence_timeout_seconds.
  ManagerProc(const std::string& dir, const std::string& database_url, const Env& env = {},
              int silence_seconds = 20);
  ~ManagerProc();  // stops it; a non-zero exit fails the test, with the log
  // Kills it with `sig` and starts it again on the same port, data and
  // database (the admin token stays).
  void Restart(int sig);

  int port() const { return port_; }
  const std::string& token() const { return token_; }
  std::string Log() const { return ReadFile(log_); }
  bool Alive() const { return child_.Alive(); }

  Reply Call(const std::string& method, const std::string& path, const json& body = nullptr) const;
  Reply Get(const std::string& path) const { return Call("GET", path); }
  Reply Post(const std::string& path, const json& body = json::object()) const {
    return Call("POST", path, body);
  }
  Reply Patch(const std::string& path, const json& body) const { return Call("PATCH", path, body); }
  Reply Delete(const std::string& path) const { return Call("DELETE", path); }

  // Polls GET /v1/backups/{id} (or /v1/restores/{id}) until it leaves
  // "running"; returns the last answer's body.
  json WaitBackup(const std::string& id, double timeout_s = 60) const;
  json WaitRestore(const std::string& id, double timeout_s = 60) const;

 private:
  void Launch();
  std::string dir_, database_url_;
  Env env_;
  int silence_seconds_ = 20;
  std::string log_, token_;
  int port_ = 0;
  Child child_;
};

}  // namespace coffer::testing
