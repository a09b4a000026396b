#include "manager/api/requests.h"

#include "core/crypto/secret.h"
#include "service/json_fields.h"
#include "volume/backends.h"

namespace coffer::manager::api {
namespace {

using nlohmann::json;
using service::FieldReader;
using service::WipeFields;

// The fields' own checks, before the agent is asked.
void CheckAgentFields(FieldReader& f, const UrlCheck& check_url,
                      const std::optional<std::string>& url,
                      const std::optional<std::string>& token) {
  if (url) {
    if (auto st = check_url(*url); !st) {
      std::string m = st.error().message();
      if (m.starts_with("url: ")) m.erase(0, 5);
      f.Fail("url", m);
    }
  }
  if (!token) return;
  if (token->size() < 16) f.Fail("token", "must be at least 16 characters");
  // The token travels as a header line: a CR or LF in it would add lines
  // of the manager's choosing to every call (header injection).
  for (unsigned char c : *token) {
    if (c < 0x21 || c > 0x7e) {
      f.Fail("token", "must be printable ASCII without spaces or control characters");
      break;
    }
  }
}

std::string TrimSlash(std::string url) {
  if (url.ends_with('/')) url.pop_back();
  return url;
}

void ReadHooks(FieldReader& f, meta::VolumeHooks* hooks) {
  const json* h = f.Object("hooks", false);
  if (h == nullptr) return;
  FieldReader hf(*h, "hooks");
  hf.Only({"pre_backup_command", "post_backup_command", "timeout_seconds"});
  hf.String("pre_backup_command", &hooks->pre_backup_command, false, 4096);
  hf.String("post_backup_command", &hooks->post_backup_command, false, 4096);
  hf.Int("timeout_seconds", &hooks->timeout_seconds, false, 1, 86400);
  f.Take(hf);
}

void ReadBackend(FieldReader& f, const std::string& name, meta::VolumeBackend* out) {
  if (!f.ok()) return;
  auto b = meta::ParseVolumeBackend(name);
  if (!b) f.Fail("backend", "must be " + BackendList());
  if (b) *out = *b;
}

template <typename T>
Result<T> Checked(const FieldReader& f, T value) {
  if (!f.ok()) return std::unexpected(f.error());
  return value;
}

}  // namespace

Result<CreateTargetRequest> ReadCreateTarget(json& body) {
  FieldReader f(body);
  f.Only({"name", "address", "s3_endpoint", "s3_region", "s3_access_key_id", "s3_secret_access_key",
          "passphrase", "gc_hour", "gc_grace_seconds", "adopt"});
  CreateTargetRequest r;
  std::string secret, passphrase;
  int64_t gc_hour = r.gc_hour, grace = r.gc_grace_seconds;
  f.String("name", &r.name, true, 128);
  f.String("address", &r.address, true, 2048);
  f.String("s3_endpoint", &r.s3_endpoint, false);
  f.String("s3_region", &r.s3_region, false, 64);
  f.String("s3_access_key_id", &r.s3_access_key_id, false, 256);
  f.String("s3_secret_access_key", &secret, false, 256);
  f.String("passphrase", &passphrase, true, 1024);
  f.Int("gc_hour", &gc_hour, false, 0, 23);
  f.Int("gc_grace_seconds", &grace, false, 0, 365LL * 86400);
  f.Bool("adopt", &r.adopt);
  WipeFields(body, {"s3_secret_access_key", "passphrase"});
  r.s3_secret_access_key = meta::SecretString(std::move(secret));
  r.passphrase = meta::SecretString(std::move(passphrase));
  WipeString(secret);
  WipeString(passphrase);
  r.gc_hour = int(gc_hour);
  r.gc_grace_seconds = grace;
  return Checked(f, std::move(r));
}

Result<UpdateTargetRequest> ReadUpdateTarget(json& body) {
  FieldReader f(body);
  f.Only({"name", "s3_endpoint", "s3_region", "s3_access_key_id", "s3_secret_access_key", "gc_hour",
          "gc_grace_seconds"});
  UpdateTargetRequest p;
  std::string s;
  int64_t n = 0;
  if (f.Has("name") && f.String("name", &s, true, 128)) p.name = s;
  if (f.String("s3_endpoint", &s, false)) p.s3_endpoint = s;
  if (f.String("s3_region", &s, false, 64)) p.s3_region = s;
  if (f.String("s3_access_key_id", &s, false, 256)) p.s3_access_key_id = s;
  if (f.String("s3_secret_access_key", &s, false, 256)) {
    p.s3_secret_access_key = meta::SecretString(s);
  }
  WipeString(s);
  if (f.Int("gc_hour", &n, false, 0, 23)) p.gc_hour = int(n);
  if (f.Int("gc_grace_seconds", &n, false, 0, 365LL * 86400)) p.gc_grace_seconds = n;
  WipeFields(body, {"s3_secret_access_key", "passphrase"});
  return Checked(f, std::move(p));
}

Result<meta::NewAgent> ReadNewAgent(json& body, const UrlCheck& check_url) {
  FieldReader f(body);
  f.Only({"name", "url", "token"});
  meta::NewAgent a;
  std::string token;
  f.String("name", &a.name, true, 128);
  f.String("url", &a.url, true, 2048);
  f.String("token", &token, true, 4096);
  WipeFields(body, {"token"});
  if (f.ok()) CheckAgentFields(f, check_url, a.url, token);
  a.url = TrimSlash(a.url);
  a.token = meta::SecretString(std::move(token));
  WipeString(token);
  return Checked(f, std::move(a));
}

Result<meta::AgentPatch> ReadAgentPatch(json& body, const UrlCheck& check_url) {
  FieldReader f(body);
  f.Only({"name", "url", "token"});
  meta::AgentPatch p;
  std::string s;
  if (f.Has("name") && f.String("name", &s, true, 128)) p.name = s;
  if (f.Has("url") && f.String("url", &s, true, 2048)) p.url = TrimSlash(s);
  std::optional<std::string> token;
  if (f.Has("token") && f.String("token", &s, true, 4096)) token = s;
  WipeString(s);
  WipeFields(body, {"token"});
  if (f.ok()) {
    CheckAgentFields(f, check_url, p.url ? std::optional<std::string>(*p.url + "/") : std::nullopt,
                     token);
  }
  if (token) {
    p.token = meta::SecretString(std::move(*token));
    WipeString(*token);
  }
  return Checked(f, std::move(p));
}

Result<meta::Volume> ReadNewVolume(const json& body) {
  FieldReader f(body);
  f.Only({"name", "agent_id", "backend", "locator", "size_bytes", "hooks"});
  meta::Volume v;
  std::string backend;
  f.String("name", &v.name, true, 128);
  f.String("agent_id", &v.agent_id, true, 128);
  f.String("backend", &backend, true, 16);
  f.String("locator", &v.locator, true, 4096);
  f.Int("size_bytes", &v.size_bytes, false, 0, INT64_MAX);
  ReadHooks(f, &v.hooks);
  ReadBackend(f, backend, &v.backend);
  return Checked(f, std::move(v));
}

Result<meta::VolumePatch> ReadVolumePatch(const json& body, const meta::VolumeHooks& hooks) {
  FieldReader f(body);
  f.Only({"name", "locator", "size_bytes", "hooks"});
  meta::VolumePatch p;
  std::string s;
  int64_t n = 0;
  if (f.Has("name") && f.String("name", &s, true, 128)) p.name = s;
  if (f.Has("locator") && f.String("locator", &s, true, 4096)) p.locator = s;
  if (f.Int("size_bytes", &n, false, 0, INT64_MAX)) p.size_bytes = n;
  if (f.Has("hooks")) {
    meta::VolumeHooks merged = hooks;
    ReadHooks(f, &merged);
    p.hooks = merged;
  }
  return Checked(f, std::move(p));
}

Result<meta::VolumeSchedule> ReadVolumeSchedule(const json& body, meta::VolumeSchedule s) {
  FieldReader f(body);
  f.Only({"backup_target_id", "backup_cron", "backup_retain_count"});
  std::optional<std::string> target;
  bool clear_target = false;
  if (f.NullableString("backup_target_id", &target, &clear_target)) {
    s.backup_target_id = clear_target || (target && target->empty()) ? std::nullopt : target;
  }
  f.String("backup_cron", &s.backup_cron, false, 256);
  int64_t retain = s.backup_retain_count;
  if (f.Int("backup_retain_count", &retain, false, 0, 100000)) s.backup_retain_count = int(retain);
  return Checked(f, std::move(s));
}

Result<RestoreRequest> ReadRestoreRequest(const json& body, std::string backup_id) {
  FieldReader f(body);
  f.Only({"name", "agent_id", "backend", "locator"});
  RestoreRequest r;
  r.backup_id = std::move(backup_id);
  std::string backend;
  f.String("name", &r.name, true, 128);
  f.String("agent_id", &r.agent_id, true, 128);
  f.String("backend", &backend, true, 16);
  f.String("locator", &r.locator, true, 4096);
  ReadBackend(f, backend, &r.backend);
  return Checked(f, std::move(r));
}

}  // namespace coffer::manager::api
