// FaultProxy: an HTTP proxy for tests that sits between an S3 client and a
// server (moto) and makes some requests fail the ways real networks and S3
// do: 500 InternalError, 503 SlowDown, a reset connection, a stall, and a
// response cut short.
//
// Each client connection carries one request (the proxy answers with
// "Connection: close"), so a fault hits exactly one request.
//
// Thread safety: the decider is called from the proxy's threads, one per
// connection; counters are atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.h"

namespace coffer::testing_tools {

enum class Fault { kNone, kInternalError500, kSlowDown503, kReset, kStall, kTruncate };
inline constexpr int kFaultKinds = 6;

class FaultProxy {
 public:
  // Decides the fault for one request, given its head (request line and
  // headers).
  using Decider = std::function<Fault(const std::string& head)>;

  // Fails `fraction` of requests, cycling through every kind of fault, with
  // a seeded random choice of which requests.
  static Decider Random(double fraction, uint64_t seed);

  // Listens on a free loopback port and forwards to 127.0.0.1:upstream_port.
  // A stall holds the request for `stall` before dropping it.
  static Result<std::unique_ptr<FaultProxy>> Start(int upstream_port, Decider decide,
                                                   std::chrono::milliseconds stall);
  ~FaultProxy();

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint64_t requests() const { return requests_.load(); }
  uint64_t faults(Fault f) const { return faults_[int(f)].load(); }
  uint64_t total_faults() const;

 private:
  FaultProxy(int listen_fd, int port, int upstream_port, Decider decide,
             std::chrono::milliseconds stall);
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_;
  int port_;
  int upstream_port_;
  Decider decide_;
  std::chrono::milliseconds stall_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> faults_[kFaultKinds] = {};
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  std::thread acceptor_;
};

}  // namespace coffer::testing_tools
