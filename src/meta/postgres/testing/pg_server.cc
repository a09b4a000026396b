#include "meta/postgres/testing/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "base/subprocess.h"
namespace coffer::meta::pgtest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The newest /usr/lib/postgresql/<N>/bin that has both initdb and postgres.
Result<fs::path> FindBinDir() {
  if (const char* env = std::getenv("COFFER_PG_BINDIR"); env && *env) return fs::path(env);
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = entry.path() / "bin";
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version && fs::exists(bin / "initdb") && fs::exists(bin / "postgres")) {
      best = bin;
      best_version = version;
    }
  }
  if (best_version < 0) {
    return Unavailable(
        "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install Debian's "
        "'postgresql' package with `make deps`, or set COFFER_PG_BINDIR)");
  }
  return best;
}

Result<int> FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port < 0) return Unavailable("cannot find a free port on 127.0.0.1");
  return port;
}

std::string Tail(const fs::path& file, size_t max_bytes = 2000) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_bytes) s = "…" + s.substr(s.size() - max_bytes);
  return s;
}

// Forks and execs argv with output appended to `log`, as uid/gid when
// `drop` is set, with SIGQUIT as the parent-death signal. Everything the
// child needs is prepared before fork: after it, only async-signal-safe
// calls.
Result<pid_t> Spawn(const std::vector<std::string>& args, const fs::path& log, bool drop, uid_t uid,
                    gid_t gid) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return std::unexpected(ErrnoError(errno, "fork"));
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
      ::_exit(126);
    }
    if (::chdir("/") != 0) ::_exit(124);  // not the caller's directory, which postgres may not read
    // Set after the uid change, which would clear it.
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(125);  // the parent died already
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid` up to `timeout`; true if it exited (status in *status).
bool WaitFor(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Removes the directories of test servers whose test process was killed
// (the server died with it, the directory stayed): older than an hour and
// without a live postmaster. Younger ones may belong to a run in progress.
void SweepStaleDirs() {
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    if (!entry.path().filename().string().starts_with("coffer-pg-")) continue;
    std::error_code e2;
    if (fs::last_write_time(entry.path(), e2) > cutoff || e2) continue;
    std::ifstream pidfile(entry.path() / "data" / "postmaster.pid");
    long pid = 0;
    if (pidfile >> pid && pid > 0 && ProcessExists(pid)) {
      continue;  // still running
    }
    fs::remove_all(entry.path(), e2);
  }
}

}  // namespace

Result<std::unique_ptr<PgServer>> PgServer::Start() {
  auto started = Clock::now();
  SweepStaleDirs();
  std::unique_ptr<PgServer> s(new PgServer());
  COFFER_ASSIGN_OR_RETURN(s->bin_, FindBinDir());
  s->version_ = s->bin_.parent_path().filename().string();

  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return Unavailable(
          "PostgreSQL refuses to run as root, and there is no 'postgres' user to run it as "
          "(install Debian's 'postgresql' package)");
    }
    s->drop_privileges_ = true;
    s->uid_ = pw->pw_uid;
    s->gid_ = pw->pw_gid;
  }
  std::string tmpl = (fs::temp_directory_path() / "coffer-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return std::unexpected(ErrnoError(errno, tmpl));
  s->dir_ = tmpl;
  if (s->drop_privileges_ && ::chown(s->dir_.c_str(), s->uid_, s->gid_) != 0) {
    return std::unexpected(ErrnoError(errno, "chown " + s->dir_.string()));
  }

  const fs::path log = s->dir_ / "server.log";
  COFFER_ASSIGN_OR_RETURN(
      pid_t initdb,
      Spawn({(s->bin_ / "initdb").string(), "-D", (s->dir_ / "data").string(), "-U", "coffer",
             "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
            log, s->drop_privileges_, s->uid_, s->gid_));
  int status = 0;
  if (!WaitFor(initdb, std::chrono::seconds(120), &status)) {
    ::kill(initdb, SIGKILL);
    WaitFor(initdb, std::chrono::seconds(5), &status);
    return Unavailable("initdb did not finish in 120 s:\n" + Tail(log));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Unavailable("initdb failed (status " + std::to_string(status) + "):\n" + Tail(log));
  }

  // A port that was free a moment ago may be taken by the time postgres
  // binds it: try a few.
  Status launched;
  for (int attempt = 0; attempt < 3; ++attempt) {
    launched = s->Launch();
    if (launched) break;
  }
  if (!launched) return std::unexpected(launched.error());
  s->startup_seconds_ = std::chrono::duration<double>(Clock::now() - started).count();
  return s;
}

Status PgServer::Launch(int port) {
  if (port != 0) {
    port_ = port;
  } else {
    COFFER_ASSIGN_OR_RETURN(port_, FreePort());
  }
  const fs::path log = dir_ / "server.log";
  COFFER_ASSIGN_OR_RETURN(
      pid_, Spawn({(bin_ / "postgres").string(), "-D", (dir_ / "data").string(), "-p",
                   std::to_string(port_), "-c", "listen_addresses=127.0.0.1", "-c",
                   "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off",
                   "-c", "full_page_writes=off", "-c", "max_connections=200"},
                  log, drop_privileges_, uid_, gid_));
  const std::string url = Url();
  auto deadline = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (PQping(url.c_str()) == PQPING_OK) return {};
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable("postgres exited while starting on port " + std::to_string(port_) + ":\n" +
                         Tail(log));
    }
    if (Clock::now() >= deadline) {
      Stop();
      return Unavailable("postgres did not accept connections within 60 s:\n" + Tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void PgServer::Stop() {
  if (pid_ <= 0) return;
  int status = 0;
  ::kill(pid_, SIGINT);  // fast shutdown: disconnect clients, exit
  if (!WaitFor(pid_, std::chrono::seconds(20), &status)) {
    ::kill(pid_, SIGKILL);
    WaitFor(pid_, std::chrono::seconds(5), &status);
  }
  pid_ = -1;
}

PgServer::~PgServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PgServer::Url(std::string_view database) const {
  return "postgresql://coffer@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
}

Result<std::string> PgServer::CreateDatabase() {
  // CREATE DATABASE takes no parameters; the name is ours, never input.
  const std::string name = "coffer_test_" + std::to_string(next_db_.fetch_add(1));
  PGconn* conn = PQconnectdb(Url().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return Unavailable("connecting to the test server: " + msg);
  }
  const std::string sql = "CREATE DATABASE " + name;
  PGresult* res = PQexec(conn, sql.c_str());
  bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string msg = ok ? "" : PQerrorMessage(conn);
  PQclear(res);
  PQfinish(conn);
  if (!ok) return Unavailable(sql + ": " + msg);
  return Url(name);
}

}  // namespace coffer::meta::pgtest
