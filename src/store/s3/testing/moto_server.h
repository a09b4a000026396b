// MotoServer: starts `moto_server` (an independent S3 implementation, on the
// machine image) on a free loopback port for a test, and stops it again.
//
//   auto moto = MotoServer::Start();          // fails clearly if not installed
//   ASSERT_TRUE(moto) << moto.error().message();
//   (*moto)->CreateBucket("b");
//   ... S3 endpoint (*moto)->endpoint(), any access key ...
//
// Reusable by end-to-end tests that drive the coffer binary: endpoint() is
// what --s3-endpoint takes.
//
// Thread safety: CreateBucket and EnableAuthentication may be called from
// any thread; Start and destruction from one.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/error.h"

namespace coffer::testing_tools {

class MotoServer {
 public:
  // Starts moto_server (found on PATH or in ~/.pyenv/shims) on 127.0.0.1 on
  // a free port and waits until it answers (at most 60 s). With `tls`, it
  // serves https with a fresh self-signed certificate for 127.0.0.1 (made
  // with the openssl command), which ca_file() names.
  static Result<std::unique_ptr<MotoServer>> Start(bool tls = false);
  ~MotoServer();  // stops the server (SIGTERM, then SIGKILL)
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  std::string endpoint() const {
    return (ca_file_.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") + std::to_string(port_);
  }
  const std::string& ca_file() const { return ca_file_; }  // "" without TLS
  int port() const { return port_; }
  const std::string& log_path() const { return log_; }

  // Creates a bucket (in us-east-1) through Coffer's own S3 client.
  Status CreateBucket(const std::string& bucket);

  // From now on moto authenticates every request against its IAM: only keys
  // created there (CreateAccessKey) sign acceptably. Returns such a key pair
  // that is allowed everything.
  struct Keys {
    std::string access_key_id, secret_access_key;
  };
  Result<Keys> EnableAuthentication();

 private:
  MotoServer(pid_t pid, int port, std::string log, std::string ca_file)
      : pid_(pid), port_(port), log_(std::move(log)), ca_file_(std::move(ca_file)) {}
  void RemoveFiles();
  pid_t pid_;
  int port_;
  std::string log_;
  std::string ca_file_, key_file_;
};

// A free TCP port on 127.0.0.1, found by binding port 0.
Result<int> FreeLoopbackPort();

}  // namespace coffer::testing_tools
