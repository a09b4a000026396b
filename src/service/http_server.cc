#include "service/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "core/crypto/secret.h"
#include "service/http_wire.h"

namespace coffer::service {

// How the server spends its threads (DESIGN §6): one thread owns every
// socket — it accepts, reads request heads and bodies, and writes answers,
// all without blocking, under deadlines — and a pool of workers runs the
// handlers on complete requests. A client that sends slowly, or never
// finishes, costs a socket and a buffer until its deadline, never a thread,
// so a handful of slow or hostile clients cannot starve /healthz or the
// manager's calls. Bodies are counted as they arrive, chunked ones too, and
// refused with a 413 the moment they pass the limit.
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenId = 0, kWakeId = 1, kFirstConnId = 2;

bool KnownMethod(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE" ||
         m == "OPTIONS";
}

std::string PeerAddress(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, text, sizeof text);
  }
  return text;
}

std::string OpenSslError() {
  char buf[256] = "";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

struct HttpServer::Impl {
  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
  };

  enum class State {
    kHead,      // reading a request head (or idle between requests)
    kBody,      // reading its body
    kHandling,  // a worker has the request; the socket is not watched
    kWriting,   // writing the answer
    kClosing,   // answer written, write side shut; draining until EOF
  };

  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    SSL* ssl = nullptr;
    std::string peer;
    // What the log shows for a request whose head could not be parsed.
    std::string log_method = "-", log_path = "-";
    State state = State::kHead;
    bool head_started = false;  // a byte of the current head has arrived
    Clock::time_point deadline;
    std::string in;  // read, not yet consumed
    wire::RequestHead head;
    std::string body;
    std::optional<wire::ChunkedDecoder> chunked;
    std::string out;
    size_t out_done = 0;
    bool close_after_write = false;
    bool tls_wants_read = false, tls_wants_write = false;
    uint32_t events = 0;
    bool watched = false;
  };

  struct Job {
    uint64_t conn = 0;
    wire::RequestHead head;
    std::string body;
    Clock::time_point start;
  };
  struct Done {
    uint64_t conn = 0;
    std::string bytes;
    bool close = false;
  };

  explicit Impl(const ServerOptions& o) : options(o) {}
  ~Impl() {
    CloseAll();
    if (listen_fd >= 0) ::close(listen_fd);
    if (wake_fd >= 0) ::close(wake_fd);
    if (tls) SSL_CTX_free(tls);
  }

  const ServerOptions& options;
  std::vector<Route> routes;
  SSL_CTX* tls = nullptr;
  std::string tls_error;
  int listen_fd = -1, wake_fd = -1, epoll_fd = -1;
  std::atomic<bool> stopping{false};

  // Owned by the loop thread.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  std::unordered_map<std::string, size_t> per_peer;
  uint64_t next_id = kFirstConnId;
  Clock::time_point accept_paused_until{};

  // Between the loop and the workers.
  std::mutex mu;
  std::condition_variable work_ready;
  std::deque<Job> jobs;
  std::vector<Done> done;
  bool workers_stop = false;

  void Wake() {
    if (wake_fd < 0) return;
    const uint64_t one = 1;
    ssize_t n = ::write(wake_fd, &one, sizeof one);
    (void)n;
  }

  // --- the loop ---

  Status Loop();
  void Accept();
  void Watch(Conn& c);
  void Unwatch(Conn& c);
  void Close(Conn& c);
  void CloseAll();
  void OnEvent(Conn& c, uint32_t events);
  void OnReadable(Conn& c);
  void OnWritable(Conn& c);
  void OnEof(Conn& c);
  void Process(Conn& c);
  void Dispatch(Conn& c);
  void Reject(Conn& c, int status, const std::string& code, const std::string& message);
  void Answer(Conn& c, std::string bytes, bool close);
  void Finish(Conn& c);
  void Sweep(Clock::time_point now);
  void CollectDone();
  ssize_t Read(Conn& c, char* buf, size_t n);         // >0 bytes, 0 EOF, -1 later, -2 broken
  ssize_t Write(Conn& c, const char* buf, size_t n);  // >0 bytes, -1 later, -2 broken
  ssize_t TlsOutcome(Conn& c, int r);
  bool Authorized(const wire::RequestHead& h) const;

  // --- the workers ---

  void Work();
  Done Handle(Job& job);

  void Logged(const std::string& method, const std::string& path, int status, double seconds) {
    if (options.on_request) options.on_request(method, path, status, seconds);
    if (options.log_requests) {
      std::fprintf(stderr, "coffer %s: %s %s %d %lld ms\n", options.name.c_str(), method.c_str(),
                   path.c_str(), status, static_cast<long long>(seconds * 1000));
    }
  }
};

namespace {

// The path for the log and metrics: the target as sent, without its query
// (which may hold secrets). Only printable ASCII reaches here (the parser
// refuses the rest), and it is escaped once more for good measure.
std::string LoggedPath(const wire::RequestHead& h) {
  return wire::EscapeForLog(std::string_view(h.target).substr(0, h.target.find('?')));
}

std::string ErrorBytes(const ApiError& e, bool keep_alive, bool head_only = false) {
  Response r;
  SendError(r, e);
  return wire::FormatResponse(r.status, r.content_type, r.body, r.headers, keep_alive, head_only);
}

}  // namespace

bool HttpServer::Impl::Authorized(const wire::RequestHead& h) const {
  for (const std::string& open : options.open_paths) {
    if (h.path == open) return true;
  }
  std::string_view auth = h.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  return auth.starts_with(kBearer) && options.authorize &&
         options.authorize(auth.substr(kBearer.size()));
}

void HttpServer::Impl::Watch(Conn& c) {
  uint32_t want = 0;
  switch (c.state) {
    case State::kHead:
    case State::kBody:
    case State::kClosing:
      want |= EPOLLIN;
      break;
    case State::kWriting:
      want |= EPOLLOUT;
      break;
    case State::kHandling:
      break;
  }
  if (c.out_done < c.out.size()) want |= EPOLLOUT;
  if (c.tls_wants_read) want |= EPOLLIN;
  if (c.tls_wants_write) want |= EPOLLOUT;
  if (want == 0) {
    Unwatch(c);
    return;
  }
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  if (!c.watched) {
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd, &ev);
    c.watched = true;
  } else if (want != c.events) {
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
  }
  c.events = want;
}

// While a worker has the request the socket is not watched at all: a peer
// that hangs up then would otherwise wake the loop (EPOLLHUP cannot be
// masked) until the answer is ready.
void HttpServer::Impl::Unwatch(Conn& c) {
  if (c.watched) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
  c.watched = false;
  c.events = 0;
}

void HttpServer::Impl::Close(Conn& c) {
  Unwatch(c);
  if (c.ssl) SSL_free(c.ssl);
  ::close(c.fd);
  if (auto it = per_peer.find(c.peer); it != per_peer.end() && --it->second == 0) {
    per_peer.erase(it);
  }
  WipeString(c.body);
  conns.erase(c.id);  // c is gone
}

void HttpServer::Impl::CloseAll() {
  while (!conns.empty()) Close(*conns.begin()->second);
}

namespace {

// What a send or recv that did not move bytes means: -1 try again once the
// socket is ready, -2 the connection is broken.
ssize_t SocketOutcome() {
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
}

}  // namespace

// What an SSL_read or SSL_write that returned `r` <= 0 means: -1 wait for
// the socket readiness TLS asked for (noted in the connection), 0 the peer
// closed the TLS session, -2 broken.
ssize_t HttpServer::Impl::TlsOutcome(Conn& c, int r) {
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ:
      c.tls_wants_read = true;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      c.tls_wants_write = true;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      return -2;
  }
}

ssize_t HttpServer::Impl::Read(Conn& c, char* buf, size_t n) {
  if (!c.ssl) {
    ssize_t r = ::recv(c.fd, buf, n, 0);
    return r >= 0 ? r : SocketOutcome();
  }
  c.tls_wants_read = c.tls_wants_write = false;
  ERR_clear_error();
  int r = SSL_read(c.ssl, buf, int(std::min<size_t>(n, INT32_MAX)));
  return r > 0 ? r : TlsOutcome(c, r);
}

ssize_t HttpServer::Impl::Write(Conn& c, const char* buf, size_t n) {
  if (!c.ssl) {
    ssize_t w = ::send(c.fd, buf, n, MSG_NOSIGNAL);
    if (w > 0) return w;
    return w == 0 ? -1 : SocketOutcome();
  }
  c.tls_wants_read = c.tls_wants_write = false;
  ERR_clear_error();
  int w = SSL_write(c.ssl, buf, int(std::min<size_t>(n, INT32_MAX)));
  if (w > 0) return w;
  const ssize_t outcome = TlsOutcome(c, w);
  return outcome == 0 ? -2 : outcome;  // a closed session takes no more bytes
}

void HttpServer::Impl::Accept() {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop listening for a moment rather than spin
        // on a listener that stays readable.
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
        accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
      }
      return;
    }
    const std::string peer = PeerAddress(addr);
    size_t& mine = per_peer[peer];
    if (conns.size() >= options.max_connections || mine >= options.max_connections_per_client) {
      const std::string busy = ErrorBytes(
          ApiError{
              503, "unavailable",
              "too many connections" +
                  std::string(mine >= options.max_connections_per_client ? " from " + peer : "") +
                  "; try again later",
              "", ""},
          false);
      if (!tls) (void)::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
      ::close(fd);
      if (mine == 0) per_peer.erase(peer);
      continue;
    }
    ++mine;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->id = next_id++;
    c->fd = fd;
    c->peer = peer;
    c->deadline = Clock::now() + options.idle_timeout;
    if (tls) {
      c->ssl = SSL_new(tls);
      SSL_set_fd(c->ssl, fd);
      SSL_set_accept_state(c->ssl);
      // The handshake counts against the head's deadline.
      c->head_started = true;
      c->deadline = Clock::now() + options.header_timeout;
    }
    Conn& ref = *c;
    conns.emplace(ref.id, std::move(c));
    Watch(ref);
  }
}

void HttpServer::Impl::OnEvent(Conn& c, uint32_t events) {
  const uint64_t id = c.id;
  if ((events & EPOLLERR) || ((events & EPOLLHUP) && c.state == State::kWriting)) {
    Close(c);  // a reset, or a peer gone before it read its answer
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP)) {
    if (c.state == State::kWriting && c.tls_wants_read) {
      OnWritable(c);
    } else {
      OnReadable(c);
    }
    if (!conns.contains(id)) return;
  }
  if (events & EPOLLOUT) {
    if (c.tls_wants_write && (c.state == State::kHead || c.state == State::kBody) &&
        c.out_done == c.out.size()) {
      OnReadable(c);
    } else {
      OnWritable(c);
    }
    if (!conns.contains(id)) return;
  }
  Watch(c);
}

void HttpServer::Impl::OnReadable(Conn& c) {
  const uint64_t id = c.id;
  char buf[64 * 1024];
  while (c.state == State::kHead || c.state == State::kBody || c.state == State::kClosing) {
    ssize_t r = Read(c, buf, sizeof buf);
    if (r == -1) return;
    if (r == -2) {
      Close(c);
      return;
    }
    if (r == 0) {
      OnEof(c);
      return;
    }
    if (c.state == State::kClosing) continue;  // drained and dropped
    c.in.append(buf, size_t(r));
    Process(c);
    if (!conns.contains(id)) return;
  }
}

void HttpServer::Impl::OnEof(Conn& c) {
  if (c.state == State::kBody) {
    // The client stopped sending (a shut write side) before the body it
    // announced: say so instead of waiting for a deadline.
    const std::string got = std::to_string(c.body.size());
    Reject(c, 400, "invalid-argument",
           c.head.body == wire::RequestHead::Body::kLength
               ? "the body ended after " + got + " of the " +
                     std::to_string(c.head.content_length) + " bytes its Content-Length announced"
               : "the chunked body ended before its last chunk");
    return;
  }
  Close(c);
}

void HttpServer::Impl::Process(Conn& c) {
  for (;;) {
    if (c.state == State::kHead) {
      if (c.in.empty()) return;
      if (!c.head_started) {
        c.head_started = true;
        c.deadline = Clock::now() + options.header_timeout;
      }
      const size_t end = wire::FindHeadEnd(c.in);
      if (end == std::string::npos || end > wire::kMaxHeadBytes) {
        if (c.in.size() > wire::kMaxHeadBytes) {
          std::tie(c.log_method, c.log_path) = wire::RequestLineForLog(c.in);
          Reject(
              c, 431, "invalid-argument",
              "the request head is larger than " + std::to_string(wire::kMaxHeadBytes) + " bytes");
        }
        return;
      }
      auto head = wire::ParseRequestHead(std::string_view(c.in).substr(0, end));
      if (!head) {
        std::tie(c.log_method, c.log_path) = wire::RequestLineForLog(c.in);
        Reject(c, 400, "invalid-argument", "malformed request: " + head.error().message());
        return;
      }
      c.in.erase(0, end);
      c.head = std::move(*head);
      if (!KnownMethod(c.head.method)) {
        Reject(c, 405, "invalid-argument",
               "method " + c.head.method + " is not one this service answers");
        return;
      }
      // The token before the body: an unauthenticated client cannot make
      // the server read (or buffer) a byte of its body.
      if (!Authorized(c.head)) {
        const bool missing = c.head.Header("Authorization").empty();
        Reject(c, 401, "unauthenticated",
               missing ? "missing bearer token (Authorization: Bearer <token>)"
                       : "invalid bearer token");
        return;
      }
      if (c.head.body == wire::RequestHead::Body::kLength &&
          c.head.content_length > options.max_body_bytes) {
        Reject(c, 413, "too-large",
               "the body is larger than the " + options.name + " accepts (" +
                   std::to_string(options.max_body_bytes) + " bytes)");
        return;
      }
      c.body.clear();
      c.chunked.reset();
      if (c.head.body == wire::RequestHead::Body::kChunked)
        c.chunked.emplace(options.max_body_bytes);
      if (c.head.expect_continue && c.head.body != wire::RequestHead::Body::kNone) {
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
      }
      c.state = State::kBody;
      c.deadline = Clock::now() + options.body_timeout;
    }
    if (c.state != State::kBody) return;
    switch (c.head.body) {
      case wire::RequestHead::Body::kNone:
        break;
      case wire::RequestHead::Body::kLength: {
        const size_t want = size_t(c.head.content_length) - c.body.size();
        const size_t take = std::min(want, c.in.size());
        c.body.append(c.in, 0, take);
        c.in.erase(0, take);
        if (c.body.size() < c.head.content_length) {
          if (c.out_done < c.out.size()) OnWritable(c);  // the 100 Continue
          return;
        }
        break;
      }
      case wire::RequestHead::Body::kChunked: {
        auto used = c.chunked->Feed(c.in, &c.body);
        if (!used) {
          const bool large = used.error().code() == ErrorCode::kResourceExhausted;
          Reject(c, large ? 413 : 400, large ? "too-large" : "invalid-argument",
                 large ? "the body is larger than the " + options.name + " accepts (" +
                             std::to_string(options.max_body_bytes) + " bytes)"
                       : "malformed request: " + used.error().message());
          return;
        }
        c.in.erase(0, *used);
        if (!c.chunked->done()) {
          if (c.out_done < c.out.size()) OnWritable(c);
          return;
        }
        break;
      }
    }
    Dispatch(c);
    return;
  }
}

void HttpServer::Impl::Dispatch(Conn& c) {
  Job job{c.id, std::move(c.head), std::move(c.body), Clock::now()};
  c.head = {};
  c.body.clear();
  c.chunked.reset();
  std::unique_lock lock(mu);
  if (jobs.size() >= options.max_queued_requests) {
    lock.unlock();
    c.head = std::move(job.head);
    WipeString(job.body);
    Reject(c, 503, "unavailable", "the " + options.name + " is busy; try again later");
    return;
  }
  jobs.push_back(std::move(job));
  lock.unlock();
  work_ready.notify_one();
  c.state = State::kHandling;
  Unwatch(c);
}

void HttpServer::Impl::Reject(Conn& c, int status, const std::string& code,
                              const std::string& message) {
  if (!c.head.method.empty()) {
    Logged(c.head.method, LoggedPath(c.head), status, 0);
  } else {
    Logged(c.log_method, c.log_path, status, 0);
  }
  ApiError e{status, code, message, "", ""};
  // The body may be unread or half read: the connection cannot carry
  // another request, so it closes after the answer.
  Answer(c, ErrorBytes(e, false, c.head.method == "HEAD"), true);
}

void HttpServer::Impl::Answer(Conn& c, std::string bytes, bool close) {
  if (c.out_done == c.out.size()) {
    c.out.clear();
    c.out_done = 0;
  }
  c.out += bytes;
  c.close_after_write = close;
  c.state = State::kWriting;
  c.deadline = Clock::now() + options.write_timeout;
  OnWritable(c);
}

void HttpServer::Impl::OnWritable(Conn& c) {
  while (c.out_done < c.out.size()) {
    ssize_t w = Write(c, c.out.data() + c.out_done, c.out.size() - c.out_done);
    if (w == -1) return;
    if (w == -2) {
      Close(c);
      return;
    }
    c.out_done += size_t(w);
  }
  c.out.clear();
  c.out_done = 0;
  if (c.state == State::kWriting) Finish(c);
}

// The answer is out: wait for the next request, or close.
void HttpServer::Impl::Finish(Conn& c) {
  if (c.close_after_write) {
    // A lingering close: shut our side, then read and drop what the client
    // still sends, so that closing with unread bytes does not reset the
    // connection before it has read the answer.
    if (c.ssl) SSL_shutdown(c.ssl);
    ::shutdown(c.fd, SHUT_WR);
    c.state = State::kClosing;
    c.deadline = Clock::now() + std::chrono::seconds(2);
    c.in.clear();
    return;
  }
  c.state = State::kHead;
  c.head = {};
  c.head_started = false;
  c.deadline = Clock::now() + options.idle_timeout;
  const uint64_t id = c.id;
  Process(c);  // a request already read behind this one
  if (conns.contains(id) && c.state == State::kHead) OnReadable(c);  // or buffered by TLS
}

void HttpServer::Impl::Sweep(Clock::time_point now) {
  std::vector<Conn*> late;
  for (auto& [id, c] : conns) {
    if (c->state != State::kHandling && now >= c->deadline) late.push_back(c.get());
  }
  for (Conn* c : late) {
    if (c->state == State::kHead && !c->in.empty()) {
      std::tie(c->log_method, c->log_path) = wire::RequestLineForLog(c->in);
      Reject(*c, 408, "invalid-argument",
             "the request head did not arrive within " +
                 std::to_string(options.header_timeout.count()) + " ms");
    } else if (c->state == State::kBody) {
      Reject(*c, 408, "invalid-argument",
             "the body did not arrive within " + std::to_string(options.body_timeout.count()) +
                 " ms (" + std::to_string(c->body.size()) + " bytes came)");
    } else {
      Close(*c);  // idle, a stalled handshake, a reader that does not read
    }
  }
  if (accept_paused_until != Clock::time_point{} && now >= accept_paused_until) {
    accept_paused_until = {};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenId;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
  }
}

void HttpServer::Impl::CollectDone() {
  std::vector<Done> ready;
  {
    std::lock_guard lock(mu);
    ready.swap(done);
  }
  for (Done& d : ready) {
    auto it = conns.find(d.conn);
    if (it == conns.end()) continue;
    Conn& c = *it->second;
    const uint64_t id = c.id;
    Answer(c, std::move(d.bytes), d.close);
    if (conns.contains(id)) Watch(c);
  }
}

Status HttpServer::Impl::Loop() {
  std::vector<std::thread> workers;
  for (int i = 0; i < options.workers; ++i) workers.emplace_back([this] { Work(); });
  epoll_event evs[64];
  Clock::time_point last_sweep = Clock::now();
  while (!stopping.load()) {
    int n = epoll_wait(epoll_fd, evs, 64, 100);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const uint64_t id = evs[i].data.u64;
      if (id == kListenId) {
        Accept();
      } else if (id == kWakeId) {
        uint64_t count;
        ssize_t r = ::read(wake_fd, &count, sizeof count);
        (void)r;
        CollectDone();
      } else if (auto it = conns.find(id); it != conns.end()) {
        OnEvent(*it->second, evs[i].events);
      }
    }
    const auto now = Clock::now();
    if (now - last_sweep >= std::chrono::milliseconds(100)) {
      Sweep(now);
      last_sweep = now;
    }
  }
  {
    std::lock_guard lock(mu);
    workers_stop = true;
  }
  work_ready.notify_all();
  for (auto& w : workers) w.join();
  CloseAll();
  ::close(listen_fd);
  listen_fd = -1;
  return {};
}

void HttpServer::Impl::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu);
      work_ready.wait(lock, [this] { return workers_stop || !jobs.empty(); });
      if (workers_stop) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    Done d = Handle(job);
    {
      std::lock_guard lock(mu);
      done.push_back(std::move(d));
    }
    Wake();
  }
}

HttpServer::Impl::Done HttpServer::Impl::Handle(Job& job) {
  wire::RequestHead& h = job.head;
  const bool head_only = h.method == "HEAD";
  const std::string method = head_only ? "GET" : h.method;
  Request req;
  req.method = h.method;
  req.path = h.path;
  req.query = std::move(h.query);
  for (auto& [k, v] : h.headers) req.headers.emplace(k, v);
  req.body = std::move(job.body);  // wiped below: it may hold secrets
  Response res;
  const Route* route = nullptr;
  std::smatch m;
  std::string allowed;
  for (const Route& r : routes) {
    if (!std::regex_match(req.path, m, r.pattern)) continue;
    if (r.method == method) {
      route = &r;
      for (size_t i = 1; i < m.size(); ++i) req.params.push_back(m[i].str());
      break;
    }
    if (allowed.find(r.method) == std::string::npos) {
      allowed += (allowed.empty() ? "" : ", ") + r.method;
    }
  }
  if (!route && !allowed.empty()) {
    res.SetHeader("Allow", allowed);
    SendError(res, ApiError{405, "invalid-argument",
                            h.method + " is not allowed on this path (allowed: " + allowed + ")",
                            "", ""});
  } else if (!route) {
    SendError(res, ApiError{404, "not-found", "no such endpoint", "", ""});
  } else {
    try {
      route->handler(req, res);
    } catch (const std::exception& e) {
      res = Response();
      SendError(res, ApiError{500, "internal", std::string("internal error: ") + e.what(), "", ""});
    } catch (...) {
      res = Response();
      SendError(res, ApiError{500, "internal", "internal error: unknown", "", ""});
    }
  }
  WipeString(req.body);
  // Answers may hold secrets and are never meant to be sniffed as another
  // type; a handler that serves cacheable files says so itself.
  res.SetHeader("X-Content-Type-Options", "nosniff");
  bool cache_set = false;
  for (const auto& [k, v] : res.headers) cache_set |= SameHeaderName(k, "Cache-Control");
  if (!cache_set) res.SetHeader("Cache-Control", "no-store");
  const double seconds = std::chrono::duration<double>(Clock::now() - job.start).count();
  Logged(h.method, LoggedPath(h), res.status, seconds);
  Done d{job.conn, {}, !h.keep_alive};
  d.bytes = wire::FormatResponse(res.status, res.content_type, res.body, res.headers, h.keep_alive,
                                 head_only);
  WipeString(res.body);
  return d;
}

HttpServer::HttpServer(ServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {
  if (options_.tls_cert.empty()) return;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, options_.tls_cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, options_.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    impl_->tls_error = "cannot use TLS certificate " + options_.tls_cert + " with key " +
                       options_.tls_key + ": " + OpenSslError();
    SSL_CTX_free(ctx);
    return;
  }
  impl_->tls = ctx;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& pattern, Handler h) {
  impl_->routes.push_back({"GET", std::regex(pattern), std::move(h)});
}
void HttpServer::Post(const std::string& pattern, Handler h) {
  impl_->routes.push_back({"POST", std::regex(pattern), std::move(h)});
}
void HttpServer::Patch(const std::string& pattern, Handler h) {
  impl_->routes.push_back({"PATCH", std::regex(pattern), std::move(h)});
}
void HttpServer::Put(const std::string& pattern, Handler h) {
  impl_->routes.push_back({"PUT", std::regex(pattern), std::move(h)});
}
void HttpServer::Delete(const std::string& pattern, Handler h) {
  impl_->routes.push_back({"DELETE", std::regex(pattern), std::move(h)});
}

Status HttpServer::Bind() {
  if (!impl_->tls_error.empty()) return InvalidArgument(impl_->tls_error);
  const ListenAddress& l = options_.listen;
  const std::string where = l.host + ":" + std::to_string(l.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(l.port);
  if (int rc = getaddrinfo(l.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Unavailable("cannot listen on " + where + ": " + gai_strerror(rc));
  }
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return Unavailable("cannot listen on " + where + ": " + why);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
  impl_->listen_fd = fd;
  return {};
}

Status HttpServer::Serve() {
  Impl& s = *impl_;
  if (s.listen_fd < 0) return Internal("Serve before a successful Bind");
  s.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  s.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s.epoll_fd < 0 || s.wake_fd < 0) {
    return std::unexpected(ErrnoError(errno, "the HTTP server's event loop"));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenId;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.listen_fd, &ev);
  ev.data.u64 = kWakeId;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.wake_fd, &ev);
  auto st = s.Loop();
  ::close(s.epoll_fd);
  s.epoll_fd = -1;
  return st;
}

void HttpServer::Stop() {
  if (!impl_) return;
  impl_->stopping = true;
  impl_->Wake();
}

namespace {

sigset_t StopSignals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t stop_signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Status ServeUntilSignal(std::string_view name, const std::function<Status()>& serve,
                        const std::function<void()>& stop) {
  BlockStopSignals();
  const sigset_t stop_signals = StopSignals();
  const std::string who(name);
  std::thread waiter([&stop, stop_signals, who] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "coffer %s: stopping (signal %d)\n", who.c_str(), sig);
    stop();
  });
  auto served = serve();
  // Serve also returns if the listener fails; wake the waiter either way.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return served;
}

}  // namespace coffer::service
