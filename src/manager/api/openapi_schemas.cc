// The schemas of the OpenAPI document (openapi.cc has the paths).
#include <nlohmann/json.hpp>
#include <string>

#include "volume/backends.h"

namespace coffer::manager::api {

using nlohmann::json;

namespace {

json Str(const char* d) { return {{"type", "string"}, {"description", d}}; }
json Int(const char* d) { return {{"type", "integer"}, {"format", "int64"}, {"description", d}}; }
json Bool(const char* d) { return {{"type", "boolean"}, {"description", d}}; }
json Time(const char* d) {
  return {{"type", "string"}, {"format", "date-time"}, {"nullable", true}, {"description", d}};
}
json Nullable(json j) {
  j["nullable"] = true;
  return j;
}
json Enum(std::initializer_list<const char*> values, const char* d) {
  json e = json::array();
  for (auto v : values) e.push_back(v);
  return {{"type", "string"}, {"enum", e}, {"description", d}};
}
// The registered volume backends (volume/backends.h), each with its locator.
json BackendEnum() {
  json e = json::array();
  std::string d = "the volume's backend; its locator is";
  for (const BackendInfo& b : Backends()) {
    e.push_back(b.name);
    d += std::string(e.size() > 1 ? ";" : "") + " " + std::string(b.name) + ": " +
         std::string(b.locator);
  }
  return {{"type", "string"}, {"enum", e}, {"description", d}};
}
json Ref(const char* name) { return {{"$ref", std::string("#/components/schemas/") + name}}; }
json Obj(json props, std::initializer_list<const char*> required = {}) {
  json j = {{"type", "object"}, {"properties", std::move(props)}, {"additionalProperties", false}};
  if (required.size() > 0) {
    j["required"] = json::array();
    for (auto r : required) j["required"].push_back(r);
  }
  return j;
}

json Hooks() {
  return Obj({{"pre_backup_command", Str("run by the agent before reading; prints the "
                                         "locator of a fresh snapshot")},
              {"post_backup_command", Str("run by the agent afterwards; releases the snapshot")},
              {"timeout_seconds", Int("time limit of each hook, 1-86400 (default 300)")}});
}

json Progress() {
  return Obj({{"state", Str("the agent job's state")},
              {"total_bytes", Int("bytes to read or write")},
              {"done_bytes", Int("bytes done")},
              {"new_bytes", Int("backup: bytes of chunks new to the target so far")},
              {"bytes_per_second", Int("average rate")},
              {"elapsed_seconds", {{"type", "number"}}}});
}

void TargetAndAgentSchemas(json& s) {
  s["Error"] =
      Obj({{"error", Obj({{"code", Str("invalid-argument, not-found, conflict, already-exists, "
                                       "unauthenticated, too-large, unavailable, …")},
                          {"message", Str("what went wrong, naming the thing")},
                          {"field", Str("the request field at fault (400)")},
                          {"s3_error_code", Str("the S3 service's error code (422)")}},
                         {"code", "message"})}},
          {"error"});
  s["BackupTarget"] = Obj({{"id", Str("the target's own uuid")},
                           {"name", Str("unique")},
                           {"address", Str("s3://BUCKET/PREFIX, file:///PATH or /PATH")},
                           {"s3_endpoint", Str("")},
                           {"s3_region", Str("")},
                           {"s3_access_key_id", Str("")},
                           {"s3_secret_access_key_set", Bool("a secret key is stored (never "
                                                             "returned)")},
                           {"gc_hour", Int("UTC hour of the daily GC")},
                           {"gc_grace_seconds", Int("GC grace period")},
                           {"created_at", Time("")},
                           {"updated_at", Time("")}});
  s["BackupTargetCreate"] =
      Obj({{"name", Str("1-128 characters, unique")},
           {"address", Str("s3://BUCKET/PREFIX, file:///PATH or /PATH")},
           {"s3_endpoint", Str("http(s)://host[:port]; empty: AWS")},
           {"s3_region", Str("empty: us-east-1")},
           {"s3_access_key_id", Str("required for s3")},
           {"s3_secret_access_key", Str("required for s3; stored wrapped, never returned")},
           {"passphrase", Str("at least 8 characters: the target's first key slot (not stored)")},
           {"gc_hour", Int("0-23, default 3")},
           {"gc_grace_seconds", Int("0-31536000, default 86400")},
           {"adopt", Bool("register an existing Coffer target at the address (opened with the "
                          "passphrase) instead of refusing")}},
          {"name", "address", "passphrase"});
  s["BackupTargetPatch"] = Obj({{"name", Str("")},
                                {"s3_endpoint", Str("")},
                                {"s3_region", Str("")},
                                {"s3_access_key_id", Str("")},
                                {"s3_secret_access_key", Str("")},
                                {"gc_hour", Int("")},
                                {"gc_grace_seconds", Int("")}});
  s["GcRun"] = Obj({{"id", Str("")},
                    {"target_id", Str("")},
                    {"status", Enum({"running", "completed", "failed"}, "")},
                    {"started_at", Time("")},
                    {"finished_at", Time("")},
                    {"chunks_deleted", Int("")},
                    {"bytes_deleted", Int("")},
                    {"error", Nullable(Str(""))}});
  s["Agent"] =
      Obj({{"id", Str("")},
           {"name", Str("unique")},
           {"url", Str("http(s)://host:port")},
           {"token_set", Bool("always true: the token is stored wrapped, never "
                              "returned")},
           {"created_at", Time("")},
           {"protocol_version", Int("the agent protocol it speaks (in the answer to POST only)")},
           {"agent_version", Str("its build (in the answer to POST only)")}});
  s["AgentCreate"] = Obj({{"name", Str("1-128 characters, unique")},
                          {"url", Str("http(s)://host[:port]")},
                          {"token", Str("the agent's bearer token, at least 16 characters")}},
                         {"name", "url", "token"});
  s["AgentPatch"] = Obj({{"name", Str("")}, {"url", Str("")}, {"token", Str("")}});
}

void VolumeSchemas(json& s) {
  s["Hooks"] = Hooks();
  s["Volume"] = Obj({{"id", Str("")},
                     {"name", Str("unique")},
                     {"agent_id", Str("")},
                     {"backend", BackendEnum()},
                     {"locator", Str("file: a path inside the agent's volume roots; iscsi: "
                                     "iscsi://portal/iqn/lun; nbd: an NBD URI")},
                     {"size_bytes", Int("")},
                     {"backup_target_id", Nullable(Str(""))},
                     {"backup_cron", Str("5-field cron in UTC; empty: not scheduled")},
                     {"backup_retain_count", Int("keep the newest N completed; 0: all")},
                     {"hooks", Ref("Hooks")},
                     {"created_at", Time("")},
                     {"next_backup_runs", {{"type", "array"}, {"items", Time("")}}},
                     {"restore", Nullable(Ref("Restore"))}});
  s["VolumeCreate"] = Obj({{"name", Str("1-128 characters, unique")},
                           {"agent_id", Str("")},
                           {"backend", BackendEnum()},
                           {"locator", Str("")},
                           {"size_bytes", Int("optional")},
                           {"hooks", Ref("Hooks")}},
                          {"name", "agent_id", "backend", "locator"});
  s["VolumePatch"] = Obj(
      {{"name", Str("")}, {"locator", Str("")}, {"size_bytes", Int("")}, {"hooks", Ref("Hooks")}});
  s["BackupSchedule"] = Obj({{"backup_target_id", Nullable(Str("null or \"\": none"))},
                             {"backup_cron", Str("5-field cron (UTC); \"\": none")},
                             {"backup_retain_count", Int("0-100000; 0 keeps all")}});
}

void BackupSchemas(json& s) {
  s["Progress"] = Progress();
  s["Backup"] = Obj({{"id", Str("also the manifest's uuid in the target")},
                     {"volume_id", Str("")},
                     {"target_id", Str("")},
                     {"status", Enum({"running", "completed", "failed"}, "")},
                     {"attempt", Int("the fencing token of its agent job")},
                     {"agent_job_id", Nullable(Str(""))},
                     {"logical_bytes", Int("volume size")},
                     {"zero_bytes", Int("")},
                     {"new_bytes", Int("plaintext of chunks this backup added")},
                     {"stored_bytes", Int("bytes written to the target")},
                     {"chunks", Int("")},
                     {"new_chunks", Int("")},
                     {"started_at", Time("")},
                     {"heartbeat_at", Time("")},
                     {"finished_at", Time("")},
                     {"duration_ms", Int("")},
                     {"error", Nullable(Str("why it failed"))},
                     {"progress", Nullable(Ref("Progress"))},
                     {"progress_error", Str("why live progress is missing")}});
  s["RestoreCreate"] = Obj({{"name", Str("the new volume's name")},
                            {"agent_id", Str("the agent that writes it")},
                            {"backend", BackendEnum()},
                            {"locator", Str("where the agent writes it; a file must not exist")}},
                           {"name", "agent_id", "backend", "locator"});
  s["Restore"] = Obj({{"id", Str("")},
                      {"backup_id", Str("")},
                      {"volume_id", Str("the new volume")},
                      {"agent_id", Str("")},
                      {"agent_job_id", Str("")},
                      {"state", Enum({"running", "completed", "failed"}, "")},
                      {"started_at", Time("")},
                      {"finished_at", Time("")},
                      {"progress", Ref("Progress")},
                      {"result", {{"type", "object"}, {"nullable", true}}},
                      {"error", Nullable(Str(""))}});
}

}  // namespace

json OpenApiSchemas() {
  json s;
  TargetAndAgentSchemas(s);
  VolumeSchemas(s);
  BackupSchemas(s);
  return s;
}

}  // namespace coffer::manager::api
