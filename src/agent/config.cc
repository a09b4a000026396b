#include "agent/config.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <charconv>
#include <fstream>

namespace coffer::agent {

Status ParseListen(const std::string& text, AgentConfig* config) {
  std::string host, port;
  if (text.starts_with("[")) {
    size_t close = text.find("]:");
    if (close == std::string::npos)
      return InvalidArgument("listen '" + text + "': want [HOST]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("listen '" + text + "': want HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (host.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535) {
    return InvalidArgument("listen '" + text + "': want HOST:PORT with a port 0-65535");
  }
  config->listen_host = host;
  config->listen_port = p;
  return {};
}

Status LoadConfigFile(const std::string& path, AgentConfig* config) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("config " + path + " line " + std::to_string(e.source().begin.line) +
                           ": " + std::string(e.description()));
  }
  auto bad = [&](const char* key, const char* want) {
    return InvalidArgument("config " + path + ": '" + key + "' must be " + want);
  };
  for (auto&& [key, value] : t) {
    std::string k(key.str());
    if (k == "listen") {
      if (!value.is_string()) return bad("listen", "a string HOST:PORT");
      COFFER_RETURN_IF_ERROR(ParseListen(**value.as_string(), config));
    } else if (k == "token_file" || k == "tls_cert" || k == "tls_key" || k == "iscsi_initiator") {
      if (!value.is_string()) return bad(k.c_str(), "a string");
      std::string v = **value.as_string();
      if (k == "token_file") config->token_file = v;
      if (k == "tls_cert") config->tls_cert = v;
      if (k == "tls_key") config->tls_key = v;
      if (k == "iscsi_initiator") config->iscsi_initiator = v;
    } else if (k == "volume_roots") {
      const toml::array* a = value.as_array();
      if (a == nullptr) return bad("volume_roots", "an array of directories");
      for (auto&& item : *a) {
        if (!item.is_string()) return bad("volume_roots", "an array of directories");
        config->volume_roots.push_back(**item.as_string());
      }
    } else if (k == "lock_wait_seconds" || k == "commit_wait_seconds") {
      if (!value.is_integer() || **value.as_integer() < 0)
        return bad(k.c_str(), "an integer of seconds, 0 or more");
      int v = int(std::min<int64_t>(**value.as_integer(), 7 * 86400));
      (k == "lock_wait_seconds" ? config->lock_wait_seconds : config->commit_wait_seconds) = v;
    } else if (k == "max_body_bytes" || k == "max_running_jobs" || k == "hook_timeout_seconds") {
      if (!value.is_integer() || **value.as_integer() <= 0)
        return bad(k.c_str(), "a positive integer");
      int64_t v = **value.as_integer();
      if (k == "max_body_bytes") config->max_body_bytes = uint64_t(v);
      if (k == "max_running_jobs") config->max_running_jobs = int(std::min<int64_t>(v, 1024));
      if (k == "hook_timeout_seconds")
        config->hook_timeout_seconds = int(std::min<int64_t>(v, 86400));
    } else {
      return InvalidArgument("config " + path + ": unknown key '" + k + "'");
    }
  }
  return {};
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
