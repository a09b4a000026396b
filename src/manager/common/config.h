// The manager's settings (DESIGN §10): from flags and, with --config, a TOML
// file with the same keys; a flag given on the command line wins.
//
//   data_dir = "/var/lib/coffer"            # master key, SQLite file
//   listen = "127.0.0.1:8080"
//   database_url = "postgresql://…"         # empty: SQLite at <data_dir>/coffer.db
//   master_key_file = "/etc/coffer/master.key"   # empty: <data_dir>/master.key
//   max_body_bytes = 1048576                # larger request bodies: 413
//   job_poll_interval_ms = 1000             # how often running agent jobs are asked
//   agent_timeout_ms = 10000                # one HTTP call to an agent
//   backup_silence_timeout_seconds = 300    # a running backup not heard of this long fails
//   reconcile_interval_seconds = 10
//   scheduler_interval_seconds = 30         # how often cron schedules are looked at
//   gc_check_interval_seconds = 300         # how often the daily GC hours are looked at
//   gc_lock_wait_seconds = 600              # a GC waits this long for others' locks in the target
//   log_requests = true                     # "METHOD PATH STATUS ms" on stderr
//   target_roots = ["/srv/backup"]          # directory targets only in these (default: anywhere
//                                           # but the system's directories and data_dir)
//   allow_link_local_peers = false          # agents and S3 endpoints at 169.254/16, fe80::/10
//
// Thread safety: a value, read-only once the manager runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "service/http.h"

namespace coffer::manager {

struct ManagerConfig {
  std::string data_dir;
  service::ListenAddress listen{"127.0.0.1", 8080};
  std::string database_url;
  std::string master_key_file;
  uint64_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds job_poll_interval{1000};
  std::chrono::milliseconds agent_timeout{10000};
  std::chrono::seconds backup_silence_timeout{300};
  std::chrono::seconds reconcile_interval{10};
  std::chrono::seconds scheduler_interval{30};
  std::chrono::seconds gc_check_interval{300};
  std::chrono::seconds gc_lock_wait{600};
  bool log_requests = true;
  std::vector<std::string> target_roots;
  bool allow_link_local_peers = false;
};

// Reads a TOML file into `config`; only keys present change it.
// kInvalidArgument naming the key (or the parse error's line) on a bad file.
Status LoadConfigFile(const std::string& path, ManagerConfig* config);

// Checks the merged settings and fills the defaults that depend on the data
// directory: requires data_dir (created 0700 if missing), makes it absolute,
// and sets database_url and master_key_file when empty.
Status FinishConfig(ManagerConfig* config);

}  // namespace coffer::manager
