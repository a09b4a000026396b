#include "volume/testing/peers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "base/subprocess.h"

extern char** environ;

namespace coffer::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Starts argv with stdout and stderr appended to `log`; the child dies with
// this process (setpriv --pdeathsig), so a crashed test leaves no server.
Result<pid_t> SpawnLogged(std::vector<std::string> argv, const std::string& log) {
  argv.insert(argv.begin(), {"setpriv", "--pdeathsig", "KILL", "--"});
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(ErrnoError(errno, log));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, cargs[0], &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fd);
  if (rc != 0) return std::unexpected(ErrnoError(rc, "cannot start " + argv[4]));
  return pid;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

bool Exited(pid_t pid) {
  int status;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

void Kill(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
}

bool SocketAccepts(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

Result<SubprocessResult> Run(const std::vector<std::string>& argv) {
  SubprocessOptions o;
  o.argv = argv;
  o.env = CurrentEnvironment();
  o.timeout = std::chrono::seconds(20);
  return RunSubprocess(o);
}

}  // namespace

Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return std::unexpected(ErrnoError(err, "finding a free port"));
  }
  ::close(fd);
  return int(ntohs(addr.sin_port));
}

Result<std::unique_ptr<NbdkitServer>> NbdkitServer::Start(
    const std::string& dir, const std::vector<std::string>& plugin_args, bool read_only) {
  static int counter = 0;
  std::string socket = dir + "/nbdkit-" + std::to_string(counter++) + ".sock";
  std::string log = socket + ".log";
  std::vector<std::string> argv = {"nbdkit", "-f", "--exit-with-parent", "-U", socket};
  if (read_only) argv.push_back("-r");
  argv.insert(argv.end(), plugin_args.begin(), plugin_args.end());
  COFFER_ASSIGN_OR_RETURN(pid_t pid, SpawnLogged(argv, log));
  std::unique_ptr<NbdkitServer> server(new NbdkitServer(pid, socket, log));
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    if (SocketAccepts(socket)) return server;
    if (Exited(pid)) {
      server->pid_ = -1;
      return Unavailable("nbdkit exited at start (is Debian's nbdkit installed? `make deps`): " +
                         Tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Unavailable("nbdkit did not open " + socket + " within 10 s: " + Tail(log));
}

NbdkitServer::~NbdkitServer() {
  if (pid_ > 0) Kill(pid_);
  ::unlink(socket_.c_str());
}

Result<std::unique_ptr<TgtdServer>> TgtdServer::Start(const std::string& dir) {
  std::string last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto started = Clock::now();
    COFFER_ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
    std::string log = dir + "/tgtd-" + std::to_string(port) + ".log";
    // The management socket is named after the port (tgtd takes -C up to
    // 32767); a clash makes tgtd exit at once and the next attempt differs.
    int control = 1 + port % 32000;
    auto pid = SpawnLogged({"tgtd", "-f", "-C", std::to_string(control), "--iscsi",
                            "portal=127.0.0.1:" + std::to_string(port)},
                           log);
    if (!pid) {
      return Unavailable("cannot start tgtd (is Debian's tgt installed? `make deps`): " +
                         pid.error().message());
    }
    std::unique_ptr<TgtdServer> server(new TgtdServer(*pid, port, control, log));
    for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
      if (Exited(*pid)) {
        server->pid_ = -1;
        last_error = "tgtd exited at start: " + Tail(log);
        break;
      }
      if (server->Admin({"--mode", "target", "--op", "show"})) {
        server->started_seconds_ = std::chrono::duration<double>(Clock::now() - started).count();
        return server;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (last_error.empty()) last_error = "tgtd did not answer within 10 s: " + Tail(log);
  }
  return Unavailable(last_error);
}

Status TgtdServer::Admin(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"tgtadm", "-C", std::to_string(control_), "--lld", "iscsi"};
  argv.insert(argv.end(), args.begin(), args.end());
  COFFER_ASSIGN_OR_RETURN(SubprocessResult r, Run(argv));
  if (!r.ok()) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    return Internal(cmd + "failed: " + r.err + r.out);
  }
  return {};
}

Status TgtdServer::AddTarget(int tid, const std::string& iqn, const std::string& backing_file,
                             bool thin) {
  std::string t = std::to_string(tid);
  COFFER_RETURN_IF_ERROR(
      Admin({"--mode", "target", "--op", "new", "--tid", t, "--targetname", iqn}));
  tids_.push_back(tid);
  std::vector<std::string> lun = {
      "--mode", "logicalunit",     "--op",      "new", "--tid", t, "--lun",
      "1",      "--backing-store", backing_file};
  COFFER_RETURN_IF_ERROR(Admin(lun));
  if (thin) {
    COFFER_RETURN_IF_ERROR(Admin({"--mode", "logicalunit", "--op", "update", "--tid", t, "--lun",
                                  "1", "--params", "thin_provisioning=1"}));
  }
  return Admin({"--mode", "target", "--op", "bind", "--tid", t, "--initiator-address", "ALL"});
}

std::string TgtdServer::Url(const std::string& iqn) const {
  return "iscsi://127.0.0.1:" + std::to_string(port_) + "/" + iqn + "/1";
}

TgtdServer::~TgtdServer() {
  if (pid_ <= 0) return;
  for (int tid : tids_) {
    (void)Admin({"--mode", "target", "--op", "delete", "--force", "--tid", std::to_string(tid)});
  }
  // tgtd exits once asked with no targets left (it ignores SIGTERM).
  (void)Run({"tgtadm", "-C", std::to_string(control_), "--mode", "system", "--op", "delete"});
  for (auto deadline = Clock::now() + std::chrono::seconds(2); Clock::now() < deadline;) {
    if (Exited(pid_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill(pid_);
}

}  // namespace coffer::testing
