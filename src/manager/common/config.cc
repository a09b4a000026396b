#include "manager/common/config.h"

#include <sys/stat.h>

#include <filesystem>

#include "service/config_file.h"

namespace coffer::manager {

Status LoadConfigFile(const std::string& path, ManagerConfig* config) {
  ManagerConfig& c = *config;
  service::ConfigKeys keys;
  keys.String("data_dir", &c.data_dir);
  keys.String("database_url", &c.database_url);
  keys.String("master_key_file", &c.master_key_file);
  keys.Listen("listen", &c.listen);
  keys.Bool("log_requests", &c.log_requests);
  keys.Strings("target_roots", &c.target_roots);
  keys.Bool("allow_link_local_peers", &c.allow_link_local_peers);
  using std::chrono::milliseconds, std::chrono::seconds;
  constexpr int64_t kMax = int64_t(1) << 40;
  keys.Int("max_body_bytes", 1, kMax, [&c](int64_t v) { c.max_body_bytes = uint64_t(v); });
  keys.Int("job_poll_interval_ms", 1, kMax,
           [&c](int64_t v) { c.job_poll_interval = milliseconds(v); });
  keys.Int("agent_timeout_ms", 1, kMax, [&c](int64_t v) { c.agent_timeout = milliseconds(v); });
  keys.Int("backup_silence_timeout_seconds", 1, kMax,
           [&c](int64_t v) { c.backup_silence_timeout = seconds(v); });
  keys.Int("reconcile_interval_seconds", 1, kMax,
           [&c](int64_t v) { c.reconcile_interval = seconds(v); });
  keys.Int("scheduler_interval_seconds", 1, kMax,
           [&c](int64_t v) { c.scheduler_interval = seconds(v); });
  keys.Int("gc_check_interval_seconds", 1, kMax,
           [&c](int64_t v) { c.gc_check_interval = seconds(v); });
  keys.Int("gc_lock_wait_seconds", 1, kMax, [&c](int64_t v) { c.gc_lock_wait = seconds(v); });
  return keys.Load(path);
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
  for (const std::string& root : config->target_roots) {
    if (!fs::path(root).is_absolute()) {
      return InvalidArgument("target_roots: '" + root + "' is not an absolute path");
    }
  }
  if (config->database_url.empty()) {
    config->database_url = "sqlite://" + (dir / "coffer.db").string();
  }
  if (config->master_key_file.empty()) config->master_key_file = (dir / "master.key").string();
  return {};
}

}  // namespace coffer::manager
