#include "manager/api/records.h"

#include "manager/api/http_util.h"

namespace coffer::manager::api {

json TargetJson(const meta::BackupTarget& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"address", t.address},
          {"s3_endpoint", t.s3_endpoint},
          {"s3_region", t.s3_region},
          {"s3_access_key_id", t.s3_access_key_id},
          {"s3_secret_access_key_set", t.has_s3_secret_access_key},
          {"gc_hour", t.gc_hour},
          {"gc_grace_seconds", t.gc_grace_seconds},
          {"created_at", Time(t.created_at_us)},
          {"updated_at", Time(t.updated_at_us)}};
}

json AgentJson(const meta::Agent& a) {
  return {{"id", a.id},
          {"name", a.name},
          {"url", a.url},
          {"token_set", true},
          {"created_at", Time(a.created_at_us)}};
}

json VolumeJson(const meta::Volume& v) {
  return {{"id", v.id},
          {"name", v.name},
          {"agent_id", v.agent_id},
          {"backend", meta::ToString(v.backend)},
          {"locator", v.locator},
          {"size_bytes", v.size_bytes},
          {"backup_target_id", v.backup_target_id ? json(*v.backup_target_id) : json()},
          {"backup_cron", v.backup_cron},
          {"backup_retain_count", v.backup_retain_count},
          {"hooks",
           {{"pre_backup_command", v.hooks.pre_backup_command},
            {"post_backup_command", v.hooks.post_backup_command},
            {"timeout_seconds", v.hooks.timeout_seconds}}},
          {"created_at", Time(v.created_at_us)}};
}

json BackupJson(const meta::Backup& b) {
  return {{"id", b.id},
          {"volume_id", b.volume_id},
          {"target_id", b.target_id},
          {"status", meta::ToString(b.status)},
          {"attempt", b.attempt},
          {"agent_job_id", b.agent_job_id.empty() ? json() : json(b.agent_job_id)},
          {"logical_bytes", b.stats.logical_bytes},
          {"zero_bytes", b.stats.zero_bytes},
          {"new_bytes", b.stats.new_bytes},
          {"stored_bytes", b.stats.stored_bytes},
          {"chunks", b.stats.chunks},
          {"new_chunks", b.stats.new_chunks},
          {"started_at", Time(b.started_at_us)},
          {"heartbeat_at", Time(b.heartbeat_at_us)},
          {"finished_at", b.finished_at_us ? Time(*b.finished_at_us) : json()},
          {"duration_ms", b.duration_ms},
          {"error", b.error.empty() ? json() : json(b.error)}};
}

json GcRunJson(const meta::GcRun& r) {
  return {{"id", r.id},
          {"target_id", r.target_id},
          {"status", meta::ToString(r.status)},
          {"started_at", Time(r.started_at_us)},
          {"finished_at", r.finished_at_us ? Time(*r.finished_at_us) : json()},
          {"chunks_deleted", r.chunks_deleted},
          {"bytes_deleted", r.bytes_deleted},
          {"error", r.error.empty() ? json() : json(r.error)}};
}

json RestoreJson(const Restore& r) {
  return {{"id", r.id},
          {"backup_id", r.backup_id},
          {"volume_id", r.volume_id},
          {"agent_id", r.agent_id},
          {"agent_job_id", r.agent_job_id},
          {"state", meta::ToString(r.state)},
          {"started_at", Time(r.started_at_us)},
          {"finished_at", r.finished_at_us ? Time(*r.finished_at_us) : json()},
          {"progress", {{"total_bytes", r.total_bytes}, {"done_bytes", r.done_bytes}}},
          {"result", r.result.empty() ? json() : json::parse(r.result, nullptr, false)},
          {"error", r.error.empty() ? json() : json(r.error)}};
}

json ProgressJson(const AgentJob& job) {
  const agent_api::JobProgress& p = job.progress;
  return {{"state", agent_api::JobStateName(job.state)},
          {"total_bytes", p.total_bytes},
          {"done_bytes", p.done_bytes},
          {"new_bytes", p.new_bytes},
          {"bytes_per_second", p.bytes_per_second},
          {"elapsed_seconds", p.elapsed_seconds}};
}

}  // namespace coffer::manager::api
