// The agent's job requests (docs/API.md, "Agent API"): parsed from JSON and
// checked field by field, so that a bad request is a 400 naming the field.
// Locators are only checked for syntax here; ValidateSource/Destination
// (locator.h) decide whether they are allowed.
//
// Secrets (the target key, the S3 secret) live in these structs only while
// the job runs; SecretKey wipes itself, and WipeString is used on the rest.
//
// Thread safety: values.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/locator.h"
#include "base/error.h"
#include "base/uuid.h"
#include "core/crypto/secret.h"
#include "store/s3/sigv4.h"

namespace coffer::agent {

// A request error: the message and the JSON path of the field at fault.
struct FieldError {
  std::string field;  // "volume.locator"; empty when it is the whole body
  Error error;
};

struct TargetSpec {
  std::string address;  // a directory, file://PATH or s3://BUCKET/PREFIX
  std::string s3_endpoint, s3_region;
  std::optional<AwsCredentials> s3_credentials;  // absent: the agent's environment
  SecretKey key;
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
  HookSpec hooks;
};

struct BackupRequest {
  uint64_t attempt = 0;  // the fencing token, echoed in the job
  // When set, the job stops before its manifest until the manager approves
  // this attempt (POST /v1/storage/jobs/{id}/commit) or abandons it; the
  // manager sets it on every backup it sends (DESIGN §5, fencing).
  bool await_commit = false;
  Uuid backup_id;  // the id the manager gave the backup; nil: a new one
  TargetSpec target;
  VolumeSpec volume;
  int zstd_level = 1;
};

struct RestoreRequest {
  uint64_t attempt = 0;
  TargetSpec target;
  std::string backup_id;  // a full id or a unique prefix
  VolumeSpec destination;
};

Result<BackupRequest> ParseBackupRequest(nlohmann::json& body, FieldError* error);
Result<RestoreRequest> ParseRestoreRequest(nlohmann::json& body, FieldError* error);

// Overwrites a string's bytes before it is freed (sodium_memzero).
void WipeString(std::string& s);

}  // namespace coffer::agent
