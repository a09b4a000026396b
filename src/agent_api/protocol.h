// The agent protocol (docs/API.md, "Agent API"): every message the manager
// and the agent exchange, as types both sides link, and their JSON in both
// directions. One definition: the manager builds requests from these types
// and reads reports into them; the agent reads requests into them and
// writes reports from them.
//
// Reading is strict: a missing required field, a field of the wrong type
// and a field this version does not know are each an error naming the
// field's path ("result.new_bytes: required"), never a silent 0. Errors
// travel as the service error body (service/http.h), field and S3 code
// included. kProtocolVersion changes with any change to these messages; the
// agent reports it on GET /healthz and the manager refuses to register an
// agent that speaks another.
//
// Secrets (the target key, the S3 secret) live in TargetSpec only while a
// request is built or a job runs; SecretKey wipes itself, the destructor
// wipes the S3 secret, and parsing wipes them in the parsed document.
//
// Thread safety: values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/uuid.h"
#include "core/crypto/secret.h"
#include "engine/backup_session.h"
#include "store/s3/sigv4.h"
#include "volume/backends.h"

namespace coffer::agent_api {

using nlohmann::json;

inline constexpr int kProtocolVersion = 1;

// GET /healthz.
struct Health {
  std::string status = "ok";
  int protocol_version = kProtocolVersion;
  std::string version;  // the agent's build, for people
};

// A target as a job reaches it.
struct TargetSpec {
  std::string address;  // a directory, file://PATH or s3://BUCKET/PREFIX
  std::string s3_endpoint, s3_region;
  std::optional<AwsCredentials> s3_credentials;  // absent: the agent's environment
  SecretKey key;                                 // the target key (TK)
  TargetSpec() = default;
  TargetSpec(const TargetSpec&) = default;
  TargetSpec& operator=(const TargetSpec&) = default;
  ~TargetSpec();
};

struct HookSpec {
  std::string pre_backup, post_backup;
  std::chrono::seconds timeout{0};  // 0: the agent's default
};

struct VolumeSpec {
  std::string id, name;
  Backend backend = Backend::kFile;
  std::string locator;
  bool quiescent = false;  // file: read in place, no snapshot
  HookSpec hooks;          // backups only
};

// POST /v1/storage/backup.
struct BackupRequest {
  uint64_t attempt = 0;  // the fencing token, echoed in the job
  // When set, the job stops before its manifest until the manager approves
  // this attempt (POST /v1/storage/jobs/{id}/commit) or abandons it (DESIGN
  // §5, fencing); the manager sets it on every backup it sends.
  bool await_commit = false;
  Uuid backup_id;  // the id the manager gave the backup; nil: a new one
  TargetSpec target;
  VolumeSpec volume;
  int zstd_level = 1;
};

// POST /v1/storage/restore.
struct RestoreRequest {
  uint64_t attempt = 1;
  TargetSpec target;
  std::string backup_id;  // a full id or a unique prefix
  VolumeSpec destination;
};

// POST /v1/storage/jobs/{id}/commit and /abandon.
struct CommitRequest {
  uint64_t attempt = 0;
};
struct AbandonRequest {
  std::string reason;
};

// What a completed backup job reports: the figures the CLI reports too
// (engine/backup_session.h), and what the agent adds.
using CommitReport = CommitChecks;
struct BackupReport : BackupFigures {
  std::string snapshot;                      // "reflink", "copy", "hook", "none"
  std::map<std::string, uint64_t> requests;  // the target's requests by kind
  uint64_t retries = 0;
};

// What a completed restore job reports.
struct RestoreReport {
  std::string backup_id, volume_name;
  Backend backend = Backend::kFile;
  std::string locator;  // redacted
  uint64_t bytes = 0, zero_bytes = 0, chunks_fetched = 0;
  double seconds = 0;
};

struct JobProgress {
  uint64_t total_bytes = 0, done_bytes = 0, new_bytes = 0, bytes_per_second = 0;
  double elapsed_seconds = 0;
};

enum class JobKind { kBackup, kRestore };
enum class JobState { kRunning, kCompleted, kFailed, kCancelled };
std::string_view JobKindName(JobKind k);
std::string_view JobStateName(JobState s);

// A job as the agent reports it (GET /v1/storage/jobs/{id}).
struct JobReport {
  std::string id;
  JobKind kind = JobKind::kBackup;
  JobState state = JobState::kRunning;
  uint64_t attempt = 0;
  VolumeSpec volume;                    // id, name, backend, locator (redacted)
  std::string created_at, finished_at;  // RFC 3339; finished_at "" while running
  bool cancel_requested = false;
  bool awaiting_commit = false;  // a backup whose chunks are stored, at the commit gate
  JobProgress progress;
  std::optional<BackupReport> backup;           // a completed backup
  std::optional<RestoreReport> restore;         // a completed restore
  std::optional<Error> error;                   // failed or cancelled
  std::optional<std::vector<std::string>> log;  // when asked for

  bool running() const { return state == JobState::kRunning; }
};

struct JobList {
  std::vector<JobReport> jobs;
};

// To JSON. Requests carry the secrets in clear: callers send the text and
// wipe it (WipeRequestJson), and never log it.
json ToJson(const Health& m);
json ToJson(const BackupRequest& m);
json ToJson(const RestoreRequest& m);
json ToJson(const CommitRequest& m);
json ToJson(const AbandonRequest& m);
json ToJson(const BackupReport& m);
// What a backup's commit checks found (engine/backup.h), as the agent's
// report and the CLI's --json both give it.
json ToJson(const CommitChecks& m);
json ToJson(const RestoreReport& m);
json ToJson(const JobReport& m);
json ToJson(const JobList& m);
// Overwrites the secrets left in a request document after it was sent.
void WipeRequestJson(json& request);

// From JSON: kInvalidArgument naming the field at fault. Request parsers
// wipe the secrets in `j` whatever the outcome.
Result<Health> ParseHealth(const json& j);
Result<BackupRequest> ParseBackupRequest(json& j);
Result<RestoreRequest> ParseRestoreRequest(json& j);
Result<CommitRequest> ParseCommitRequest(const json& j);
Result<AbandonRequest> ParseAbandonRequest(const json& j);
Result<BackupReport> ParseBackupReport(const json& j);
Result<RestoreReport> ParseRestoreReport(const json& j);
Result<JobReport> ParseJobReport(const json& j);
Result<JobList> ParseJobList(const json& j);

}  // namespace coffer::agent_api
