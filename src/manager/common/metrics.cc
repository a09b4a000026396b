#include "manager/common/metrics.h"

#include <cstdio>
#include <sstream>
#include <vector>

#include "base/text.h"

namespace coffer::manager {
namespace {

// Literal path words of the API; any other segment is an id.
bool IsLiteral(std::string_view seg) {
  static constexpr std::string_view kWords[] = {
      "v1",      "backup_targets",  "gc",      "gc_runs", "agents",   "volumes",
      "backup",  "backup_schedule", "backups", "restore", "restores", "healthz",
      "metrics", "openapi.json"};
  for (auto w : kWords) {
    if (seg == w) return true;
  }
  return false;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string RoutePattern(std::string_view path) {
  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] != '/') {  // not from a request router; keep it recognisable
      return "other";
    }
    size_t end = path.find('/', i + 1);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(i + 1, end - i - 1);
    out += '/';
    out += seg.empty() || IsLiteral(seg) ? std::string(seg) : std::string("{id}");
    i = end;
  }
  return out.empty() ? "/" : out;
}

void ManagerMetrics::CountRequest(std::string_view method, std::string_view path, int status,
                                  double seconds) {
  std::string route = RoutePattern(path);
  std::lock_guard lock(mu_);
  ++requests_[{std::string(method), route, status}];
  Timing& t = request_seconds_[{std::string(method), route}];
  t.sum += seconds;
  ++t.count;
}

void ManagerMetrics::BackupFinished(meta::BackupStatus status, double seconds) {
  std::lock_guard lock(mu_);
  ++backups_finished_[std::string(meta::ToString(status))];
  if (status != meta::BackupStatus::kCompleted) return;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++duration_buckets_[i];
  }
  backup_seconds_.sum += seconds;
  ++backup_seconds_.count;
  last_completed_unix_ = UnixNow();
}

void ManagerMetrics::RestoreFinished(std::string_view state) {
  std::lock_guard lock(mu_);
  ++restores_finished_[std::string(state)];
}

Result<std::string> ManagerMetrics::Render(bool leader) {
  meta::MetaStore& meta = meta_;
  COFFER_ASSIGN_OR_RETURN(auto backups, meta.ListBackups({}));
  COFFER_ASSIGN_OR_RETURN(auto agents, meta.ListAgents());
  COFFER_ASSIGN_OR_RETURN(auto volumes, meta.ListVolumes());
  COFFER_ASSIGN_OR_RETURN(auto targets, meta.ListBackupTargets());
  std::map<std::string, int64_t> by_status = {{"running", 0}, {"completed", 0}, {"failed", 0}};
  int64_t logical = 0, fresh = 0, stored = 0;
  for (const auto& b : backups) {
    ++by_status[std::string(meta::ToString(b.status))];
    if (b.status != meta::BackupStatus::kCompleted) continue;
    logical += b.stats.logical_bytes;
    fresh += b.stats.new_bytes;
    stored += b.stats.stored_bytes;
  }
  std::ostringstream o;
  auto head = [&o](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  head("coffer_backups", "gauge", "Backup rows in the metadata database by status.");
  for (const auto& [s, n] : by_status) o << "coffer_backups{status=\"" << s << "\"} " << n << '\n';
  head("coffer_backup_bytes", "gauge",
       "Bytes of the completed backups: logical (volume size), new (added to targets), "
       "stored (written to targets).");
  o << "coffer_backup_bytes{kind=\"logical\"} " << logical << '\n'
    << "coffer_backup_bytes{kind=\"new\"} " << fresh << '\n'
    << "coffer_backup_bytes{kind=\"stored\"} " << stored << '\n';
  head("coffer_agents", "gauge", "Registered agents.");
  o << "coffer_agents " << agents.size() << '\n';
  head("coffer_volumes", "gauge", "Registered volumes.");
  o << "coffer_volumes " << volumes.size() << '\n';
  head("coffer_backup_targets", "gauge", "Registered backup targets.");
  o << "coffer_backup_targets " << targets.size() << '\n';
  head("coffer_leader", "gauge", "1 when this replica runs the background loops.");
  o << "coffer_leader " << (leader ? 1 : 0) << '\n';

  std::lock_guard lock(mu_);
  head("coffer_backups_finished_total", "counter", "Backups this process saw finish, by status.");
  for (const char* s : {"completed", "failed"}) {
    auto it = backups_finished_.find(s);
    o << "coffer_backups_finished_total{status=\"" << s << "\"} "
      << (it == backups_finished_.end() ? 0 : it->second) << '\n';
  }
  head("coffer_backup_duration_seconds", "histogram",
       "Wall time of the completed backups this process saw.");
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    o << "coffer_backup_duration_seconds_bucket{le=\"" << Num(kBuckets[i]) << "\"} "
      << duration_buckets_[i] << '\n';
  }
  o << "coffer_backup_duration_seconds_bucket{le=\"+Inf\"} " << backup_seconds_.count << '\n'
    << "coffer_backup_duration_seconds_sum " << Num(backup_seconds_.sum) << '\n'
    << "coffer_backup_duration_seconds_count " << backup_seconds_.count << '\n';
  head("coffer_backup_last_completed_timestamp_seconds", "gauge",
       "Unix time of the last backup this process saw complete (0: none).");
  o << "coffer_backup_last_completed_timestamp_seconds " << last_completed_unix_ << '\n';
  head("coffer_restores_finished_total", "counter", "Restores this process saw finish, by state.");
  for (const auto& [s, n] : restores_finished_) {
    o << "coffer_restores_finished_total{state=\"" << s << "\"} " << n << '\n';
  }
  head("coffer_http_requests_total", "counter", "API requests by method, route and status.");
  for (const auto& [k, n] : requests_) {
    const auto& [method, route, code] = k;
    o << "coffer_http_requests_total{method=\"" << method << "\",route=\"" << route << "\",code=\""
      << code << "\"} " << n << '\n';
  }
  head("coffer_http_request_duration_seconds", "summary", "API request handling time.");
  for (const auto& [k, t] : request_seconds_) {
    const std::string labels = "{method=\"" + k.first + "\",route=\"" + k.second + "\"}";
    o << "coffer_http_request_duration_seconds_sum" << labels << ' ' << Num(t.sum) << '\n'
      << "coffer_http_request_duration_seconds_count" << labels << ' ' << t.count << '\n';
  }
  return o.str();
}

}  // namespace coffer::manager
