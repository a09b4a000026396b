#include "store/s3/testing/moto_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/text.h"
#include "store/s3/http_client.h"
#include "store/s3/s3_client.h"
#include "store/s3/testing/tools.h"

namespace coffer::testing_tools {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Between(const std::string& s, const std::string& open, const std::string& close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = s.find(close, a);
  return b == std::string::npos ? "" : s.substr(a, b - a);
}

// Waits until the server answers an HTTP request, or it exits, or 60 s pass.
Status WaitUntilUp(pid_t pid, const std::string& endpoint, const std::string& ca_file,
                   const std::string& log) {
  HttpClient http(
      HttpOptions{1, std::chrono::milliseconds(1000), std::chrono::milliseconds(5000), ca_file});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return Unavailable("moto_server exited before answering (" + endpoint + "); its log:\n" +
                         ReadFile(log));
    }
    auto r = http.Send(HttpRequest{"GET", endpoint + "/moto-api/data.json"});
    if (r && r->status == 200) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Unavailable("moto_server did not answer within 60 s at " + endpoint + "; its log:\n" +
                     ReadFile(log));
}

// One IAM query-API call, signed as the aws CLI would sign it.
Result<std::string> IamCall(const std::string& endpoint, const std::string& ca_file,
                            const std::string& form) {
  std::string host = endpoint.substr(endpoint.find("://") + 3);
  std::string hash = Sha256Hex(AsBytes(form));
  HeaderList headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  SigningRequest sreq{"POST", host, "/", {}, headers, hash, false};
  AwsCredentials creds{"AKIAMOTOSETUP", "setup-secret", ""};
  SignedRequest s = SignV4(sreq, creds, "us-east-1", "iam", UnixNow());
  for (auto& h : s.headers) headers.push_back(std::move(h));
  HttpOptions options;
  options.ca_file = ca_file;
  HttpClient http(options);
  COFFER_ASSIGN_OR_RETURN(HttpResponse resp,
                          http.Send(HttpRequest{"POST", endpoint + "/", headers, AsBytes(form)}));
  if (resp.status != 200) {
    return Internal("IAM call '" + form + "' to moto failed: HTTP " + std::to_string(resp.status) +
                    ": " + resp.body);
  }
  return resp.body;
}

}  // namespace

Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return std::unexpected(ErrnoError(err, "binding a loopback port"));
  }
  ::close(fd);
  return int(ntohs(addr.sin_port));
}

Result<std::unique_ptr<MotoServer>> MotoServer::Start(bool tls) {
  COFFER_ASSIGN_OR_RETURN(std::string moto, FindExecutable("moto_server"));
  Error last(ErrorCode::kUnavailable, "moto_server did not start");
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TMPDIR");
  const std::string base = std::string(tmp ? tmp : "/tmp") + "/coffer-moto-" +
                           std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::string cert, key;
  if (tls) {
    cert = base + ".crt";
    key = base + ".key";
    COFFER_ASSIGN_OR_RETURN(std::string openssl, FindExecutable("openssl"));
    COFFER_ASSIGN_OR_RETURN(
        CommandResult made,
        RunCommand({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key,
                    "-out", cert},
                   ""));
    if (made.exit_code != 0)
      return Internal("openssl could not make a certificate: " + made.output);
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    COFFER_ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
    std::string log = base + "-" + std::to_string(attempt) + ".log";
    std::string port_s = std::to_string(port);
    pid_t pid = ::fork();
    if (pid < 0) return std::unexpected(ErrnoError(errno, "fork"));
    if (pid == 0) {
      ::setpgid(0, 0);                     // its own group, so stopping it stops its children too
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // and a crashed test does not leave it running
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      if (tls) {
        ::execl(moto.c_str(), moto.c_str(), "-H", "127.0.0.1", "-p", port_s.c_str(), "-c",
                cert.c_str(), "-k", key.c_str(), static_cast<char*>(nullptr));
      } else {
        ::execl(moto.c_str(), moto.c_str(), "-H", "127.0.0.1", "-p", port_s.c_str(),
                static_cast<char*>(nullptr));
      }
      _exit(127);
    }
    std::unique_ptr<MotoServer> server(new MotoServer(pid, port, log, cert));
    server->key_file_ = key;
    Status up = WaitUntilUp(pid, server->endpoint(), cert, log);
    if (up) return server;
    server->ca_file_.clear();  // still needed by the next attempt
    server->key_file_.clear();
    last = up.error();  // most likely the port was taken meanwhile: try another
  }
  return std::unexpected(last);
}

MotoServer::~MotoServer() {
  ::kill(-pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      ::kill(-pid_, SIGKILL);  // any child left in its group
      RemoveFiles();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  RemoveFiles();
}

void MotoServer::RemoveFiles() {
  for (const std::string* f : {&log_, &ca_file_, &key_file_}) {
    if (!f->empty()) ::unlink(f->c_str());
  }
}

Status MotoServer::CreateBucket(const std::string& bucket) {
  S3Config config;
  config.bucket = bucket;
  config.endpoint = endpoint();
  config.region = "us-east-1";
  config.credentials = {"AKIAMOTOSETUP", "setup-secret", ""};
  config.http.ca_file = ca_file_;
  COFFER_ASSIGN_OR_RETURN(auto client, S3Client::Create(config, nullptr));
  COFFER_RETURN_IF_ERROR(client->Call(S3Call{"PUT", RequestKind::kPut, ""}));
  return {};
}

Result<MotoServer::Keys> MotoServer::EnableAuthentication() {
  const std::string v = "&Version=2010-05-08";
  COFFER_RETURN_IF_ERROR(IamCall(endpoint(), ca_file_, "Action=CreateUser&UserName=coffer" + v));
  const std::string policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})";
  COFFER_RETURN_IF_ERROR(IamCall(endpoint(), ca_file_,
                                 "Action=PutUserPolicy&UserName=coffer&PolicyName=all"
                                 "&PolicyDocument=" +
                                     UriEncode(policy, false) + v));
  COFFER_ASSIGN_OR_RETURN(
      std::string created,
      IamCall(endpoint(), ca_file_, "Action=CreateAccessKey&UserName=coffer" + v));
  Keys keys{Between(created, "<AccessKeyId>", "</AccessKeyId>"),
            Between(created, "<SecretAccessKey>", "</SecretAccessKey>")};
  if (keys.access_key_id.empty() || keys.secret_access_key.empty()) {
    return Internal("moto's CreateAccessKey answer has no key: " + created);
  }
  HttpOptions options;
  options.ca_file = ca_file_;
  HttpClient http(options);
  COFFER_ASSIGN_OR_RETURN(
      HttpResponse resp,
      http.Send(HttpRequest{"POST", endpoint() + "/moto-api/reset-auth", {}, AsBytes("0")}));
  if (resp.status != 200) {
    return Internal("moto refused /moto-api/reset-auth: HTTP " + std::to_string(resp.status) +
                    ": " + resp.body);
  }
  return keys;
}

}  // namespace coffer::testing_tools
