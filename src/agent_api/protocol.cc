#include "agent_api/protocol.h"

#include "base/bytes.h"
#include "service/http.h"
#include "service/json_fields.h"

namespace coffer::agent_api {
namespace {

using service::FieldReader;

// The first problem of `f`, or the value.
template <typename T>
Result<T> Done(const FieldReader& f, T value) {
  if (!f.ok()) return std::unexpected(f.error());
  return value;
}

// ---- targets and volumes ----

json TargetJson(const TargetSpec& t) {
  json j = {{"address", t.address}, {"key", HexEncode(ByteView(t.key.data(), kKeyLen))}};
  if (!t.s3_endpoint.empty()) j["s3_endpoint"] = t.s3_endpoint;
  if (!t.s3_region.empty()) j["s3_region"] = t.s3_region;
  if (t.s3_credentials) {
    j["s3_access_key_id"] = t.s3_credentials->access_key_id;
    j["s3_secret_access_key"] = t.s3_credentials->secret_access_key;
    if (!t.s3_credentials->session_token.empty()) {
      j["s3_session_token"] = t.s3_credentials->session_token;
    }
  }
  return j;
}

void WipeTarget(json& parent) {
  if (!parent.is_object()) return;
  auto it = parent.find("target");
  if (it == parent.end()) return;
  service::WipeFields(*it, {"key", "s3_secret_access_key", "s3_session_token"});
}

void ReadTarget(FieldReader& top, TargetSpec* t) {
  const json* obj = top.Object("target", true);
  if (obj == nullptr) return;
  FieldReader f(*obj, top.Name("target"));
  f.Only({"address", "s3_endpoint", "s3_region", "s3_access_key_id", "s3_secret_access_key",
          "s3_session_token", "key"});
  std::string key_hex, access, secret, session;
  f.String("address", &t->address, true);
  f.String("s3_endpoint", &t->s3_endpoint, false);
  f.String("s3_region", &t->s3_region, false);
  f.String("s3_access_key_id", &access, false);
  f.String("s3_secret_access_key", &secret, false);
  f.String("s3_session_token", &session, false);
  f.String("key", &key_hex, true);
  if (f.ok()) {
    auto raw = HexDecode(key_hex);
    if (!raw || raw->size() != kKeyLen) {
      f.Fail("key", "must be the target key as 64 hex digits");
    } else {
      t->key = SecretKey(raw->data());
      Wipe(raw->data(), raw->size());
    }
  }
  if (f.ok() && access.empty() != secret.empty()) {
    f.Fail(access.empty() ? "s3_access_key_id" : "s3_secret_access_key",
           "S3 credentials need both s3_access_key_id and s3_secret_access_key");
  }
  if (f.ok() && !access.empty()) t->s3_credentials = AwsCredentials{access, secret, session};
  WipeString(key_hex);
  WipeString(secret);
  WipeString(session);
  top.Take(f);
}

// The "backend" field read as `name`, once the fields before it were read.
void SetBackend(FieldReader& f, const std::string& name, Backend* out) {
  if (!f.ok()) return;
  auto b = ParseBackend(name);
  if (!b) return f.Fail("backend", b.error().message());
  *out = *b;
}

// `source`: a backup's volume, with its quiescent flag and hooks.
json VolumeJson(const VolumeSpec& v, bool source) {
  json j = {
      {"id", v.id}, {"name", v.name}, {"backend", BackendName(v.backend)}, {"locator", v.locator}};
  if (source && v.quiescent) j["quiescent"] = true;
  const HookSpec& h = v.hooks;
  if (source && (!h.pre_backup.empty() || !h.post_backup.empty())) {
    j["hooks"] = {{"pre_backup", h.pre_backup},
                  {"post_backup", h.post_backup},
                  {"timeout_seconds", h.timeout.count()}};
  }
  return j;
}

// `backup`: a source (name required, hooks and quiescent allowed), else a
// restore destination or a job's volume.
void ReadVolume(FieldReader& top, const char* key, bool backup, VolumeSpec* v) {
  const json* obj = top.Object(key, true);
  if (obj == nullptr) return;
  FieldReader f(*obj, top.Name(key));
  if (backup) {
    f.Only({"id", "name", "backend", "locator", "quiescent", "hooks"});
  } else {
    f.Only({"id", "name", "backend", "locator"});
  }
  std::string backend;
  f.String("backend", &backend, true);
  f.String("locator", &v->locator, true);
  f.String("name", &v->name, backup);
  f.String("id", &v->id, false);
  f.Bool("quiescent", &v->quiescent);
  SetBackend(f, backend, &v->backend);
  if (v->id.empty()) v->id = v->name;
  if (const json* hooks = f.Object("hooks", false)) {
    FieldReader h(*hooks, f.Name("hooks"));
    h.Only({"pre_backup", "post_backup", "timeout_seconds"});
    uint64_t timeout = 0;
    h.String("pre_backup", &v->hooks.pre_backup, false);
    h.String("post_backup", &v->hooks.post_backup, false);
    h.Uint("timeout_seconds", &timeout, false, 86400);
    v->hooks.timeout = std::chrono::seconds(timeout);
    f.Take(h);
  }
  top.Take(f);
}

// ---- reports ----

json ErrorObject(const Error& e) { return service::ErrorJson(e)["error"]; }

}  // namespace

TargetSpec::~TargetSpec() {
  if (s3_credentials) {
    WipeString(s3_credentials->secret_access_key);
    WipeString(s3_credentials->session_token);
  }
}

std::string_view JobKindName(JobKind k) { return k == JobKind::kBackup ? "backup" : "restore"; }

std::string_view JobStateName(JobState s) {
  switch (s) {
    case JobState::kRunning:
      return "running";
    case JobState::kCompleted:
      return "completed";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "?";
}

json ToJson(const CommitChecks& c) {
  return {{"generation_at_start", c.generation_at_start},
          {"generation_at_commit", c.generation_at_commit},
          {"chunks_confirmed", c.chunks_confirmed},
          {"chunks_restored", c.chunks_restored}};
}

json ToJson(const Health& m) {
  return {{"status", m.status}, {"protocol_version", m.protocol_version}, {"version", m.version}};
}

json ToJson(const BackupRequest& m) {
  json j = {{"attempt", m.attempt},
            {"await_commit", m.await_commit},
            {"target", TargetJson(m.target)},
            {"volume", VolumeJson(m.volume, true)},
            {"options", {{"zstd_level", m.zstd_level}}}};
  if (!m.backup_id.IsNil()) j["backup_id"] = m.backup_id.ToString();
  return j;
}

json ToJson(const RestoreRequest& m) {
  return {{"attempt", m.attempt},
          {"backup_id", m.backup_id},
          {"target", TargetJson(m.target)},
          {"destination", VolumeJson(m.destination, false)}};
}

json ToJson(const CommitRequest& m) { return {{"attempt", m.attempt}}; }
json ToJson(const AbandonRequest& m) { return {{"reason", m.reason}}; }

json ToJson(const BackupReport& m) {
  json requests = json::object();
  for (const auto& [kind, n] : m.requests) requests[kind] = n;
  return {{"backup_id", m.backup_id},
          {"parent_id", m.parent_id.empty() ? json() : json(m.parent_id)},
          {"target_id", m.target_id},
          {"volume_id", m.volume_id},
          {"volume_name", m.volume_name},
          {"logical_bytes", m.logical_bytes},
          {"zero_bytes", m.zero_bytes},
          {"new_bytes", m.new_bytes},
          {"stored_bytes", m.stored_bytes},
          {"chunks", m.chunks},
          {"zero_chunks", m.zero_chunks},
          {"new_chunks", m.new_chunks},
          {"known_chunks", m.known_chunks},
          {"seconds", m.seconds},
          {"commit", ToJson(m.commit)},
          {"snapshot", m.snapshot},
          {"requests", requests},
          {"retries", m.retries}};
}

json ToJson(const RestoreReport& m) {
  return {{"backup_id", m.backup_id},
          {"volume_name", m.volume_name},
          {"backend", BackendName(m.backend)},
          {"locator", m.locator},
          {"bytes", m.bytes},
          {"zero_bytes", m.zero_bytes},
          {"chunks_fetched", m.chunks_fetched},
          {"seconds", m.seconds}};
}

json ToJson(const JobReport& m) {
  const JobProgress& p = m.progress;
  json result;
  if (m.backup) result = ToJson(*m.backup);
  if (m.restore) result = ToJson(*m.restore);
  json j = {{"id", m.id},
            {"kind", JobKindName(m.kind)},
            {"state", JobStateName(m.state)},
            {"attempt", m.attempt},
            {"volume", VolumeJson(m.volume, false)},
            {"created_at", m.created_at},
            {"finished_at", m.finished_at.empty() ? json() : json(m.finished_at)},
            {"cancel_requested", m.cancel_requested},
            {"awaiting_commit", m.awaiting_commit},
            {"progress",
             {{"total_bytes", p.total_bytes},
              {"done_bytes", p.done_bytes},
              {"new_bytes", p.new_bytes},
              {"elapsed_seconds", p.elapsed_seconds},
              {"bytes_per_second", p.bytes_per_second}}},
            {"result", result},
            {"error", m.error ? ErrorObject(*m.error) : json()}};
  if (m.log) j["log"] = *m.log;
  return j;
}

json ToJson(const JobList& m) {
  json jobs = json::array();
  for (const JobReport& r : m.jobs) jobs.push_back(ToJson(r));
  return {{"jobs", jobs}};
}

void WipeRequestJson(json& request) { WipeTarget(request); }

Result<Health> ParseHealth(const json& j) {
  FieldReader f(j);
  f.Only({"status", "protocol_version", "version"});
  Health h;
  int64_t version = 0;
  f.String("status", &h.status, true);
  f.Int("protocol_version", &version, true, 1, 1'000'000);
  f.String("version", &h.version, false);
  h.protocol_version = int(version);
  return Done(f, std::move(h));
}

Result<BackupRequest> ParseBackupRequest(json& j) {
  BackupRequest r;
  FieldReader f(j);
  f.Only({"attempt", "await_commit", "backup_id", "target", "volume", "options"});
  ReadTarget(f, &r.target);
  WipeTarget(j);
  f.Uint("attempt", &r.attempt, true);
  f.Bool("await_commit", &r.await_commit);
  std::string backup_id;
  if (f.String("backup_id", &backup_id, false) && !backup_id.empty()) {
    auto id = Uuid::Parse(backup_id);
    if (!id) {
      f.Fail("backup_id", "must be a full backup uuid");
    } else {
      r.backup_id = *id;
    }
  }
  ReadVolume(f, "volume", true, &r.volume);
  if (const json* opts = f.Object("options", false)) {
    FieldReader o(*opts, "options");
    o.Only({"zstd_level"});
    int64_t level = 1;
    o.Int("zstd_level", &level, false, 1, 19);
    r.zstd_level = int(level);
    f.Take(o);
  }
  return Done(f, std::move(r));
}

Result<RestoreRequest> ParseRestoreRequest(json& j) {
  RestoreRequest r;
  FieldReader f(j);
  f.Only({"attempt", "backup_id", "target", "destination"});
  ReadTarget(f, &r.target);
  WipeTarget(j);
  f.Uint("attempt", &r.attempt, false);
  f.String("backup_id", &r.backup_id, true);
  ReadVolume(f, "destination", false, &r.destination);
  return Done(f, std::move(r));
}

Result<CommitRequest> ParseCommitRequest(const json& j) {
  CommitRequest r;
  FieldReader f(j);
  f.Only({"attempt"});
  f.Uint("attempt", &r.attempt, true);
  if (f.ok() && r.attempt == 0) f.Fail("attempt", "must be a positive integer");
  return Done(f, r);
}

Result<AbandonRequest> ParseAbandonRequest(const json& j) {
  AbandonRequest r;
  FieldReader f(j);
  f.Only({"reason"});
  f.String("reason", &r.reason, false);
  return Done(f, std::move(r));
}

namespace {

void ReadBackupReport(FieldReader& f, BackupReport* r) {
  f.Only({"backup_id", "parent_id", "target_id", "volume_id", "volume_name", "logical_bytes",
          "zero_bytes", "new_bytes", "stored_bytes", "chunks", "zero_chunks", "new_chunks",
          "known_chunks", "seconds", "commit", "snapshot", "requests", "retries"});
  f.String("backup_id", &r->backup_id, true);
  f.String("parent_id", &r->parent_id, false);
  f.String("target_id", &r->target_id, true);
  f.String("volume_id", &r->volume_id, false);
  f.String("volume_name", &r->volume_name, true);
  const std::pair<const char*, uint64_t*> counts[] = {{"logical_bytes", &r->logical_bytes},
                                                      {"zero_bytes", &r->zero_bytes},
                                                      {"new_bytes", &r->new_bytes},
                                                      {"stored_bytes", &r->stored_bytes},
                                                      {"chunks", &r->chunks},
                                                      {"zero_chunks", &r->zero_chunks},
                                                      {"new_chunks", &r->new_chunks},
                                                      {"known_chunks", &r->known_chunks},
                                                      {"retries", &r->retries}};
  for (const auto& [key, out] : counts) f.Uint(key, out, true);
  f.Number("seconds", &r->seconds, true);
  f.String("snapshot", &r->snapshot, true);
  if (const json* c = f.Object("commit", true)) {
    FieldReader cf(*c, f.Name("commit"));
    cf.Only({"generation_at_start", "generation_at_commit", "chunks_confirmed", "chunks_restored"});
    cf.Uint("generation_at_start", &r->commit.generation_at_start, true);
    cf.Uint("generation_at_commit", &r->commit.generation_at_commit, true);
    cf.Uint("chunks_confirmed", &r->commit.chunks_confirmed, true);
    cf.Uint("chunks_restored", &r->commit.chunks_restored, true);
    f.Take(cf);
  }
  if (const json* q = f.Object("requests", true)) {
    FieldReader qf(*q, f.Name("requests"));
    for (auto it = q->begin(); it != q->end(); ++it) {
      uint64_t n = 0;
      if (qf.Uint(it.key().c_str(), &n, true)) r->requests[it.key()] = n;
    }
    f.Take(qf);
  }
}

void ReadRestoreReport(FieldReader& f, RestoreReport* r) {
  f.Only({"backup_id", "volume_name", "backend", "locator", "bytes", "zero_bytes", "chunks_fetched",
          "seconds"});
  std::string backend;
  f.String("backup_id", &r->backup_id, true);
  f.String("volume_name", &r->volume_name, true);
  f.String("backend", &backend, true);
  f.String("locator", &r->locator, true);
  f.Uint("bytes", &r->bytes, true);
  f.Uint("zero_bytes", &r->zero_bytes, true);
  f.Uint("chunks_fetched", &r->chunks_fetched, true);
  f.Number("seconds", &r->seconds, true);
  SetBackend(f, backend, &r->backend);
}

template <typename Name, typename Enum>
void ReadEnum(FieldReader& f, const char* key, Name name_of, std::initializer_list<Enum> all,
              Enum* out) {
  std::string s;
  if (!f.String(key, &s, true)) return;
  for (Enum e : all) {
    if (name_of(e) == s) {
      *out = e;
      return;
    }
  }
  f.Fail(key, "unknown value '" + s + "'");
}

}  // namespace

Result<BackupReport> ParseBackupReport(const json& j) {
  BackupReport r;
  FieldReader f(j);
  ReadBackupReport(f, &r);
  return Done(f, std::move(r));
}

Result<RestoreReport> ParseRestoreReport(const json& j) {
  RestoreReport r;
  FieldReader f(j);
  ReadRestoreReport(f, &r);
  return Done(f, std::move(r));
}

Result<JobReport> ParseJobReport(const json& j) {
  JobReport r;
  FieldReader f(j);
  f.Only({"id", "kind", "state", "attempt", "volume", "created_at", "finished_at",
          "cancel_requested", "awaiting_commit", "progress", "result", "error", "log"});
  f.String("id", &r.id, true);
  ReadEnum(f, "kind", JobKindName, {JobKind::kBackup, JobKind::kRestore}, &r.kind);
  ReadEnum(f, "state", JobStateName,
           {JobState::kRunning, JobState::kCompleted, JobState::kFailed, JobState::kCancelled},
           &r.state);
  f.Uint("attempt", &r.attempt, true);
  ReadVolume(f, "volume", false, &r.volume);
  f.String("created_at", &r.created_at, true);
  f.String("finished_at", &r.finished_at, false);
  f.Bool("cancel_requested", &r.cancel_requested, true);
  f.Bool("awaiting_commit", &r.awaiting_commit, true);
  if (const json* p = f.Object("progress", true)) {
    FieldReader pf(*p, "progress");
    pf.Only({"total_bytes", "done_bytes", "new_bytes", "elapsed_seconds", "bytes_per_second"});
    pf.Uint("total_bytes", &r.progress.total_bytes, true);
    pf.Uint("done_bytes", &r.progress.done_bytes, true);
    pf.Uint("new_bytes", &r.progress.new_bytes, true);
    pf.Uint("bytes_per_second", &r.progress.bytes_per_second, true);
    pf.Number("elapsed_seconds", &r.progress.elapsed_seconds, true);
    f.Take(pf);
  }
  // A completed job has its result; a failed or cancelled one its error.
  const bool completed = r.state == JobState::kCompleted;
  const bool ended_badly = r.state == JobState::kFailed || r.state == JobState::kCancelled;
  if (const json* res = f.Object("result", f.ok() && completed)) {
    FieldReader rf(*res, "result");
    if (r.kind == JobKind::kBackup) {
      ReadBackupReport(rf, &r.backup.emplace());
    } else {
      ReadRestoreReport(rf, &r.restore.emplace());
    }
    f.Take(rf);
  }
  if (const json* e = f.Object("error", f.ok() && ended_badly)) {
    FieldReader ef(*e, "error");
    ef.Only({"code", "message", "field", "s3_error_code"});
    f.Take(ef);
    auto error = service::ErrorFromJson(json{{"error", *e}});
    if (!error) {
      // Whether or not an earlier field already failed: there is no error
      // to keep.
      f.Fail("error", "must be an error object with a code and a message");
    } else {
      r.error = *error;
    }
  }
  if (f.Has("log") && f.ok()) {
    const json& log = j["log"];
    if (!log.is_array()) {
      f.Fail("log", "must be an array of lines");
    } else {
      r.log.emplace();
      for (const json& line : log) {
        if (!line.is_string()) {
          f.Fail("log", "must be an array of lines");
          break;
        }
        r.log->push_back(line.get<std::string>());
      }
    }
  }
  return Done(f, std::move(r));
}

Result<JobList> ParseJobList(const json& j) {
  FieldReader f(j);
  f.Only({"jobs"});
  JobList list;
  if (!f.Has("jobs") || !j["jobs"].is_array()) {
    f.Fail("jobs", "required: an array of jobs");
    return Done(f, std::move(list));
  }
  size_t i = 0;
  for (const json& job : j["jobs"]) {
    auto r = ParseJobReport(job);
    if (!r) {
      return std::unexpected(
          r.error().Reworded("jobs[" + std::to_string(i) + "]." + r.error().message()));
    }
    list.jobs.push_back(std::move(*r));
    ++i;
  }
  return list;
}

}  // namespace coffer::agent_api
