// Helpers for the agent's end-to-end tests: start the real `coffer agent`
// on a free loopback port with a token file and volume roots, talk to it
// over real HTTP, and make targets whose key the test knows.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace coffer::testing {

using nlohmann::json;

struct HttpReply {
  int status = 0;  // 0: no answer
  json body;       // null when the body was not JSON
  std::string raw;
};

class AgentProcess {
 public:
  // Starts build/coffer agent; its stderr goes to `dir`/agent.log. Fails the
  // test (ADD_FAILURE) and returns a process with port 0 if it does not answer.
  // With "--tls-cert CERT" among the extra arguments it is called over HTTPS,
  // trusting CERT.
  AgentProcess(const std::string& dir, const std::vector<std::string>& roots,
               std::vector<std::string> extra_args = {});
  ~AgentProcess();  // SIGTERM, then waits

  int port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& log_path() const { return log_; }

  HttpReply Call(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string* token = nullptr) const;
  HttpReply Post(const std::string& path, const json& body) const {
    return Call("POST", path, body.dump());
  }
  // Polls the job until it leaves `running` (or `timeout_s` passes).
  json WaitJob(const std::string& id, double timeout_s = 60) const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string token_, log_;
  std::string tls_ca_;  // set: call over HTTPS trusting this certificate
};

// Creates a Coffer target in directory `path` with the engine library and
// returns its target key as 64 hex digits — what a manager would send.
std::string InitTargetForAgent(const std::string& path);

// The "target" object of a job request for a local target.
json LocalTarget(const std::string& path, const std::string& key_hex);

// The same for a target at `address` (s3://BUCKET/PREFIX) on the S3 server at
// `endpoint` (moto, which takes any credentials when not authenticating).
std::string InitS3TargetForAgent(const std::string& address, const std::string& endpoint);
json S3Target(const std::string& address, const std::string& endpoint, const std::string& key_hex);

// Number of manifests (backups) in a local target.
size_t ManifestCount(const std::string& target);

// Makes an image with coffer-mkimage (random-ish VM-like content).
void MakeImage(const std::string& path, const std::string& size, int seed, bool sparse = false);

}  // namespace coffer::testing
