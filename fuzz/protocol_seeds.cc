#include "fuzz/protocol_seeds.h"

#include "agent_api/protocol.h"
#include "service/http.h"

namespace coffer::fuzz {

std::vector<std::pair<std::string, std::string>> ProtocolSeeds() {
  using namespace agent_api;
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](std::string name, const json& j) { out.emplace_back(std::move(name), j.dump()); };

  BackupRequest backup;
  backup.attempt = 3;
  backup.await_commit = true;
  backup.backup_id = *Uuid::Parse("5f0c6f0e-8a7c-4d2b-9a51-0d6d3c1f2e4a");
  backup.target.address = "s3://bucket/prefix";
  backup.target.s3_endpoint = "http://127.0.0.1:9000";
  backup.target.s3_region = "us-east-1";
  backup.target.s3_credentials = AwsCredentials{"AKIAFUZZ", "secret", ""};
  backup.volume = {"vol-1",        "db",
                   Backend::kFile, "/var/lib/images/db.img",
                   false,          HookSpec{"snap create", "snap rm", std::chrono::seconds(60)}};
  add("backup-request", ToJson(backup));
  backup.target = TargetSpec();
  backup.target.address = "/srv/backups";
  backup.volume.backend = Backend::kNbd;
  backup.volume.locator = "nbd://127.0.0.1:10809/export";
  add("backup-request-local", ToJson(backup));

  RestoreRequest restore;
  restore.target.address = "/srv/backups";
  restore.backup_id = "5f0c6f0e";
  restore.destination = {"vol-2",         "db-restored",
                         Backend::kIscsi, "iscsi://127.0.0.1:3260/iqn.2026-11.dev.coffer:t/1",
                         false,           {}};
  add("restore-request", ToJson(restore));
  add("commit-request", ToJson(CommitRequest{7}));
  add("abandon-request", ToJson(AbandonRequest{"fenced"}));
  add("health", ToJson(Health{"ok", kProtocolVersion, "0.1.0"}));

  JobReport job;
  job.id = "job-1";
  job.attempt = 3;
  job.volume = backup.volume;
  job.created_at = "2026-12-07T00:00:00Z";
  job.progress = {1 << 20, 1 << 19, 1 << 18, 1 << 17, 1.5};
  add("job-running", ToJson(job));
  job.state = JobState::kCompleted;
  job.finished_at = "2026-12-07T00:01:00Z";
  BackupReport report;
  report.backup_id = "5f0c6f0e-8a7c-4d2b-9a51-0d6d3c1f2e4a";
  report.target_id = "0b7e4c1a-2f3d-4e5f-8a9b-1c2d3e4f5a6b";
  report.volume_id = "vol-1";
  report.volume_name = "db";
  report.logical_bytes = 1 << 20;
  report.chunks = 16;
  report.snapshot = "reflink";
  report.requests = {{"put", 12}, {"get", 3}};
  job.backup = report;
  job.log = std::vector<std::string>{"reading", "done"};
  add("job-backup-completed", ToJson(job));
  JobReport restored = job;
  restored.kind = JobKind::kRestore;
  restored.backup.reset();
  restored.restore =
      RestoreReport{report.backup_id, "db", Backend::kFile, "/srv/r.img", 1 << 20, 0, 16, 0.5};
  add("job-restore-completed", ToJson(restored));
  JobReport failed = job;
  failed.state = JobState::kFailed;
  failed.backup.reset();
  failed.error =
      Error(ErrorCode::kUnavailable, "SlowDown").WithS3Code("SlowDown").WithField("target");
  add("job-failed", ToJson(failed));
  add("job-list", ToJson(JobList{{job, failed}}));
  add("error-body",
      service::ErrorJson(Error(ErrorCode::kInvalidArgument, "volume.locator: required")
                             .WithField("volume.locator")));
  return out;
}

}  // namespace coffer::fuzz
