#include "manager/config.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <charconv>
#include <filesystem>
#include <functional>
#include <map>

namespace coffer::manager {
namespace {

using Setter = std::function<Status(const toml::node&)>;

Status Bad(const std::string& path, const std::string& key, const char* want) {
  return InvalidArgument("config " + path + ": '" + key + "' must be " + want);
}

// The TOML keys and how each one sets the config.
std::map<std::string, Setter> Setters(const std::string& path, ManagerConfig* c) {
  auto str = [&path](const char* key, std::string* out) -> Setter {
    return [&path, key, out](const toml::node& v) -> Status {
      if (!v.is_string()) return Bad(path, key, "a string");
      *out = **v.as_string();
      return {};
    };
  };
  auto positive = [&path](const char* key, std::function<void(int64_t)> set) -> Setter {
    return [&path, key, set](const toml::node& v) -> Status {
      if (!v.is_integer() || **v.as_integer() <= 0) return Bad(path, key, "a positive integer");
      set(**v.as_integer());
      return {};
    };
  };
  using std::chrono::milliseconds, std::chrono::seconds;
  return {
      {"data_dir", str("data_dir", &c->data_dir)},
      {"database_url", str("database_url", &c->database_url)},
      {"master_key_file", str("master_key_file", &c->master_key_file)},
      {"listen",
       [&path, c](const toml::node& v) -> Status {
         if (!v.is_string()) return Bad(path, "listen", "a string HOST:PORT");
         return ParseListen(**v.as_string(), c);
       }},
      {"max_body_bytes", positive("max_body_bytes", [c](int64_t v) { c->max_body_bytes = v; })},
      {"job_poll_interval_ms",
       positive("job_poll_interval_ms",
                [c](int64_t v) { c->job_poll_interval = milliseconds(v); })},
      {"agent_timeout_ms",
       positive("agent_timeout_ms", [c](int64_t v) { c->agent_timeout = milliseconds(v); })},
      {"backup_silence_timeout_seconds",
       positive("backup_silence_timeout_seconds",
                [c](int64_t v) { c->backup_silence_timeout = seconds(v); })},
      {"reconcile_interval_seconds",
       positive("reconcile_interval_seconds",
                [c](int64_t v) { c->reconcile_interval = seconds(v); })},
      {"scheduler_interval_seconds",
       positive("scheduler_interval_seconds",
                [c](int64_t v) { c->scheduler_interval = seconds(v); })},
      {"gc_check_interval_seconds",
       positive("gc_check_interval_seconds",
                [c](int64_t v) { c->gc_check_interval = seconds(v); })},
      {"gc_lock_wait_seconds",
       positive("gc_lock_wait_seconds", [c](int64_t v) { c->gc_lock_wait = seconds(v); })},
      {"log_requests",
       [&path, c](const toml::node& v) -> Status {
         if (!v.is_boolean()) return Bad(path, "log_requests", "true or false");
         c->log_requests = **v.as_boolean();
         return {};
       }},
  };
}

}  // namespace

Status ParseListen(const std::string& text, ManagerConfig* config) {
  std::string host, port;
  if (text.starts_with("[")) {
    size_t close = text.find("]:");
    if (close == std::string::npos) {
      return InvalidArgument("listen '" + text + "': want [HOST]:PORT");
    }
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

Status LoadConfigFile(const std::string& path, ManagerConfig* config) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("config " + path + " line " + std::to_string(e.source().begin.line) +
                           ": " + std::string(e.description()));
  }
  auto setters = Setters(path, config);
  for (auto&& [key, value] : t) {
    auto it = setters.find(std::string(key.str()));
    if (it == setters.end()) {
      return InvalidArgument("config " + path + ": unknown key '" + std::string(key.str()) + "'");
    }
    COFFER_RETURN_IF_ERROR(it->second(value));
  }
  return {};
}

Status FinishConfig(ManagerConfig* config) {
  namespace fs = std::filesystem;
  if (config->data_dir.empty()) return InvalidArgument("--data-dir is required");
  std::error_code ec;
  fs::path dir = fs::absolute(config->data_dir, ec);
  if (ec) return InvalidArgument("data directory " + config->data_dir + ": " + ec.message());
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      return InvalidArgument("cannot create data directory " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);  // it holds the master key
  } else if (!fs::is_directory(dir, ec)) {
    return InvalidArgument("data directory " + dir.string() + " is not a directory");
  }
  config->data_dir = dir.string();
  if (config->database_url.empty()) {
    config->database_url = "sqlite://" + (dir / "coffer.db").string();
  }
  if (config->master_key_file.empty()) config->master_key_file = (dir / "master.key").string();
  return {};
}

}  // namespace coffer::manager
