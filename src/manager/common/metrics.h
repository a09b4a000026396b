// ManagerMetrics: what GET /metrics reports, in the Prometheus text format
// (version 0.0.4). Counters and the duration histogram count what this
// process saw since it started; the gauges are read from the metadata
// database at scrape time, so every replica reports the same totals.
//
//   coffer_http_requests_total{method,route,code}       counter
//   coffer_http_request_duration_seconds_{sum,count}{method,route}
//   coffer_backups{status}                               gauge (rows by status)
//   coffer_backup_bytes{kind="logical|new|stored"}       gauge (completed backups)
//   coffer_backups_finished_total{status}                counter
//   coffer_backup_duration_seconds_{bucket,sum,count}    histogram (completed)
//   coffer_backup_last_completed_timestamp_seconds       gauge
//   coffer_restores_finished_total{state}                counter
//   coffer_agents, coffer_volumes, coffer_backup_targets gauge
//   coffer_leader                                        gauge (1: runs the loops)
//
// Labels never carry names, ids, URLs or anything a request sent: routes
// are patterns ("/v1/backups/{id}").
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "base/error.h"
#include "meta/meta_store.h"

namespace coffer::manager {

// "/v1/backups/6f0c…" → "/v1/backups/{id}": path segments that are UUIDs
// (or otherwise not literal words of the API) become {id}.
std::string RoutePattern(std::string_view path);

class ManagerMetrics {
 public:
  // The gauges (backups, agents, volumes…) are read from `meta` when the
  // exposition is rendered.
  explicit ManagerMetrics(meta::MetaStore& meta) : meta_(meta) {}

  void CountRequest(std::string_view method, std::string_view path, int status, double seconds);
  void BackupFinished(meta::BackupStatus status, double seconds);
  void RestoreFinished(std::string_view state);

  // The whole exposition. kUnavailable etc. when the database cannot be read.
  Result<std::string> Render(bool leader);

 private:
  meta::MetaStore& meta_;
  static constexpr std::array<double, 9> kBuckets = {1, 5, 15, 60, 300, 900, 3600, 14400, 86400};
  struct Timing {
    double sum = 0;
    uint64_t count = 0;
  };
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Timing> request_seconds_;
  std::map<std::string, uint64_t> backups_finished_;
  std::array<uint64_t, kBuckets.size()> duration_buckets_{};
  Timing backup_seconds_;
  int64_t last_completed_unix_ = 0;
  std::map<std::string, uint64_t> restores_finished_;
};

}  // namespace coffer::manager
