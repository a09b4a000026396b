#include "agent/config.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "service/config_file.h"

namespace coffer::agent {

Status LoadConfigFile(const std::string& path, AgentConfig* config) {
  AgentConfig& c = *config;
  service::ConfigKeys keys;
  keys.Listen("listen", &c.listen);
  keys.String("token_file", &c.token_file);
  keys.String("tls_cert", &c.tls_cert);
  keys.String("tls_key", &c.tls_key);
  keys.String("iscsi_initiator", &c.iscsi_initiator);
  keys.Strings("volume_roots", &c.volume_roots);
  constexpr int64_t kWeek = 7 * 86400;
  keys.Int("lock_wait_seconds", 0, kWeek, [&c](int64_t v) { c.lock_wait_seconds = int(v); });
  keys.Int("commit_wait_seconds", 0, kWeek, [&c](int64_t v) { c.commit_wait_seconds = int(v); });
  keys.Int("max_body_bytes", 1, int64_t(1) << 40,
           [&c](int64_t v) { c.max_body_bytes = uint64_t(v); });
  keys.Int("max_running_jobs", 1, 1024, [&c](int64_t v) { c.max_running_jobs = int(v); });
  keys.Int("hook_timeout_seconds", 1, 86400, [&c](int64_t v) { c.hook_timeout_seconds = int(v); });
  return keys.Load(path);
}

Status FinishConfig(AgentConfig* config) {
  if (config->token_file.empty()) return InvalidArgument("--token-file is required");
  std::ifstream in(config->token_file);
  if (!in) return InvalidArgument("cannot read the token file " + config->token_file);
  std::getline(in, config->token);
  while (!config->token.empty() && (config->token.back() == '\r' || config->token.back() == ' ')) {
    config->token.pop_back();
  }
  if (config->token.size() < 16) {
    return InvalidArgument("the token in " + config->token_file +
                           " is shorter than 16 characters; use a long random one");
  }
  if (config->volume_roots.empty()) {
    return InvalidArgument(
        "at least one --volume-root is required (file volumes must be inside one)");
  }
  for (std::string& root : config->volume_roots) {
    char resolved[PATH_MAX];
    struct stat st;
    if (::realpath(root.c_str(), resolved) == nullptr || ::stat(resolved, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
      return InvalidArgument("volume root " + root + " is not an existing directory");
    }
    root = resolved;
  }
  if (config->tls_cert.empty() != config->tls_key.empty()) {
    return InvalidArgument("TLS needs both --tls-cert and --tls-key");
  }
  return {};
}

}  // namespace coffer::agent
