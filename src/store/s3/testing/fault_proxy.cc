#include "store/s3/testing/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace coffer::testing_tools {
namespace {

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

// Reads one request: its head (through the blank line) and a body of
// Content-Length bytes. Returns false if the client went away first.
bool ReadRequest(int fd, std::string* head, std::string* body) {
  std::string buf;
  char tmp[65536];
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(tmp, size_t(n));
  }
  *head = buf.substr(0, head_end + 4);
  *body = buf.substr(head_end + 4);
  size_t length = 0;
  std::string lower = *head;
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
    length = std::strtoull(lower.c_str() + at + 17, nullptr, 10);
  }
  while (body->size() < length) {
    ssize_t n = ::recv(fd, tmp, std::min(sizeof tmp, length - body->size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    body->append(tmp, size_t(n));
  }
  return true;
}

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string ErrorResponse(int status, const char* reason, const char* code) {
  std::string body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>") +
                     code + "</Code><Message>injected by the test proxy</Message></Error>";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/xml\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

FaultProxy::Decider FaultProxy::Random(double fraction, uint64_t seed) {
  auto state = std::make_shared<std::pair<std::mutex, std::mt19937_64>>();
  state->second.seed(seed);
  auto next_kind = std::make_shared<int>(0);
  return [=](const std::string&) {
    std::lock_guard lock(state->first);
    std::uniform_real_distribution<double> u(0, 1);
    if (u(state->second) >= fraction) return Fault::kNone;
    *next_kind = *next_kind % (kFaultKinds - 1) + 1;
    return Fault(*next_kind);
  };
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int upstream_port, Decider decide,
                                                      std::chrono::milliseconds stall) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(ErrnoError(errno, "socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return std::unexpected(ErrnoError(err, "fault proxy listen"));
  }
  std::unique_ptr<FaultProxy> p(
      new FaultProxy(fd, ntohs(addr.sin_port), upstream_port, std::move(decide), stall));
  p->acceptor_ = std::thread([raw = p.get()] { raw->AcceptLoop(); });
  return p;
}

FaultProxy::FaultProxy(int listen_fd, int port, int upstream_port, Decider decide,
                       std::chrono::milliseconds stall)
    : listen_fd_(listen_fd),
      port_(port),
      upstream_port_(upstream_port),
      decide_(std::move(decide)),
      stall_(stall) {}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return active_ == 0; });
}

uint64_t FaultProxy::total_faults() const {
  uint64_t n = 0;
  for (int i = 1; i < kFaultKinds; ++i) n += faults_[i].load();
  return n;
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard lock(mu_);
      ++active_;
    }
    std::thread([this, fd] {
      Serve(fd);
      ::close(fd);
      std::lock_guard lock(mu_);
      --active_;
      cv_.notify_all();
    }).detach();
  }
}

void FaultProxy::Serve(int fd) {
  std::string head, body;
  if (!ReadRequest(fd, &head, &body)) return;
  ++requests_;
  Fault fault = decide_(head);
  ++faults_[int(fault)];
  switch (fault) {
    case Fault::kInternalError500:
      WriteAll(fd, ErrorResponse(500, "Internal Server Error", "InternalError"));
      return;
    case Fault::kSlowDown503:
      WriteAll(fd, ErrorResponse(503, "Slow Down", "SlowDown"));
      return;
    case Fault::kReset: {
      linger lg{1, 0};  // close with RST instead of FIN
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      return;
    }
    case Fault::kStall: {
      auto until = std::chrono::steady_clock::now() + stall_;
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return;
    }
    case Fault::kNone:
    case Fault::kTruncate:
      break;
  }
  // Forward with "Connection: close", so the server's answer ends at EOF.
  int up = ConnectLoopback(upstream_port_);
  if (up < 0) return;
  size_t line_end = head.find("\r\n");
  std::string fwd =
      head.substr(0, line_end + 2) + "Connection: close\r\n" + head.substr(line_end + 2) + body;
  std::string response;
  if (WriteAll(up, fwd)) {
    char tmp[65536];
    for (;;) {
      ssize_t n = ::recv(up, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      response.append(tmp, size_t(n));
    }
  }
  ::close(up);
  size_t status_end = response.find("\r\n");
  if (status_end == std::string::npos) return;
  response.insert(status_end + 2, "Connection: close\r\n");
  if (fault == Fault::kTruncate) {
    // Keep the head and half of the body: the Content-Length promises more.
    size_t head_end = response.find("\r\n\r\n");
    size_t body_len = head_end == std::string::npos ? 0 : response.size() - head_end - 4;
    if (body_len > 1)
      response.resize(head_end + 4 + body_len / 2);
    else
      response.resize(status_end / 2);  // nothing to halve: cut inside the head
  }
  WriteAll(fd, response);
}

}  // namespace coffer::testing_tools
