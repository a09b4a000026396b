#include "agent/requests.h"

#include "base/bytes.h"

namespace coffer::agent {
namespace {

using nlohmann::json;

// Reads fields of one JSON object, recording the first error with its path.
class Fields {
 public:
  Fields(json& obj, std::string path, FieldError* error)
      : obj_(obj), path_(std::move(path)), error_(error) {}

  bool ok() const { return ok_; }
  std::string Path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  bool Fail(const char* key, std::string message) {
    if (ok_) *error_ = FieldError{Path(key), Error(ErrorCode::kInvalidArgument, message)};
    ok_ = false;
    return false;
  }

  // A required or optional string; empty strings count as missing when required.
  bool String(const char* key, std::string* out, bool required) {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) {
      return required ? Fail(key, Path(key) + " is required") : true;
    }
    if (!it->is_string()) return Fail(key, Path(key) + " must be a string");
    *out = it->get<std::string>();
    if (required && out->empty()) return Fail(key, Path(key) + " must not be empty");
    return true;
  }
  bool Uint(const char* key, uint64_t* out, bool required) {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) {
      return required ? Fail(key, Path(key) + " is required") : true;
    }
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      return Fail(key, Path(key) + " must be a non-negative integer");
    }
    *out = it->get<uint64_t>();
    return true;
  }
  bool Bool(const char* key, bool* out) {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return true;
    if (!it->is_boolean()) return Fail(key, Path(key) + " must be true or false");
    *out = it->get<bool>();
    return true;
  }
  // A nested object; nullptr (and an error when required) if absent.
  json* Object(const char* key, bool required) {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) {
      if (required) Fail(key, Path(key) + " is required");
      return nullptr;
    }
    if (!it->is_object()) {
      Fail(key, Path(key) + " must be an object");
      return nullptr;
    }
    return &*it;
  }
  // The string's storage, for wiping a secret in the parsed document.
  void Wipe(const char* key) {
    auto it = obj_.find(key);
    if (it != obj_.end() && it->is_string()) WipeString(it->get_ref<std::string&>());
  }

 private:
  json& obj_;
  std::string path_;
  FieldError* error_;
  bool ok_ = true;
};

bool ParseTarget(json& body, TargetSpec* t, FieldError* error) {
  Fields top(body, "", error);
  json* obj = top.Object("target", true);
  if (obj == nullptr) return false;
  Fields f(*obj, "target", error);
  std::string key_hex, access, secret, session;
  f.String("address", &t->address, true) && f.String("s3_endpoint", &t->s3_endpoint, false) &&
      f.String("s3_region", &t->s3_region, false) && f.String("s3_access_key_id", &access, false) &&
      f.String("s3_secret_access_key", &secret, false) &&
      f.String("s3_session_token", &session, false) && f.String("key", &key_hex, true);
  f.Wipe("key");
  f.Wipe("s3_secret_access_key");
  f.Wipe("s3_session_token");
  if (f.ok()) {
    auto raw = HexDecode(key_hex);
    if (!raw || raw->size() != kKeyLen) {
      f.Fail("key", "target.key must be the target key as 64 hex digits");
    } else {
      t->key = SecretKey(raw->data());
      Wipe(raw->data(), raw->size());
    }
  }
  if (f.ok() && access.empty() != secret.empty()) {
    f.Fail(access.empty() ? "s3_access_key_id" : "s3_secret_access_key",
           "S3 credentials need both target.s3_access_key_id and target.s3_secret_access_key");
  }
  if (f.ok() && !access.empty()) t->s3_credentials = AwsCredentials{access, secret, session};
  WipeString(key_hex);
  WipeString(secret);
  WipeString(session);
  return f.ok();
}

bool ParseVolume(json& parent, const char* key, bool backup, VolumeSpec* v, FieldError* error) {
  Fields top(parent, "", error);
  json* obj = top.Object(key, true);
  if (obj == nullptr) return false;
  Fields f(*obj, key, error);
  std::string backend;
  if (!(f.String("backend", &backend, true) && f.String("locator", &v->locator, true) &&
        f.String("name", &v->name, backup) && f.String("id", &v->id, false) &&
        f.Bool("quiescent", &v->quiescent))) {
    return false;
  }
  auto b = ParseBackend(backend);
  if (!b) return f.Fail("backend", b.error().message());
  v->backend = *b;
  if (v->id.empty()) v->id = v->name;
  json* hooks = f.Object("hooks", false);
  if (!f.ok()) return false;
  if (hooks != nullptr) {
    if (!backup) return f.Fail("hooks", std::string(key) + ".hooks apply to backups only");
    Fields h(*hooks, std::string(key) + ".hooks", error);
    uint64_t timeout = 0;
    if (!(h.String("pre_backup", &v->hooks.pre_backup, false) &&
          h.String("post_backup", &v->hooks.post_backup, false) &&
          h.Uint("timeout_seconds", &timeout, false))) {
      return false;
    }
    if (timeout > 86400) return h.Fail("timeout_seconds", "hooks.timeout_seconds is at most 86400");
    v->hooks.timeout = std::chrono::seconds(timeout);
  }
  return true;
}

bool CheckObject(json& body, FieldError* error) {
  if (!body.is_object()) {
    *error = FieldError{"", Error(ErrorCode::kInvalidArgument, "the body must be a JSON object")};
    return false;
  }
  return true;
}

}  // namespace

TargetSpec::~TargetSpec() {
  if (s3_credentials) {
    WipeString(s3_credentials->secret_access_key);
    WipeString(s3_credentials->session_token);
  }
}

void WipeString(std::string& s) {
  if (!s.empty()) Wipe(s.data(), s.size());
}

Result<BackupRequest> ParseBackupRequest(json& body, FieldError* error) {
  BackupRequest r;
  auto fail = [&] { return std::unexpected(error->error); };
  if (!CheckObject(body, error) || !ParseTarget(body, &r.target, error)) return fail();
  Fields top(body, "", error);
  if (!top.Uint("attempt", &r.attempt, true) || !top.Bool("await_commit", &r.await_commit)) {
    return fail();
  }
  std::string backup_id;
  if (!top.String("backup_id", &backup_id, false)) return fail();
  if (!backup_id.empty()) {
    auto id = Uuid::Parse(backup_id);
    if (!id) {
      top.Fail("backup_id", "backup_id must be a full backup uuid");
      return fail();
    }
    r.backup_id = *id;
  }
  if (!ParseVolume(body, "volume", true, &r.volume, error)) return fail();
  if (json* opts = top.Object("options", false)) {
    Fields o(*opts, "options", error);
    uint64_t level = 1;
    if (!o.Uint("zstd_level", &level, false)) return fail();
    if (level < 1 || level > 19) {
      o.Fail("zstd_level", "options.zstd_level must be 1-19");
      return fail();
    }
    r.zstd_level = int(level);
  }
  if (!top.ok()) return fail();
  return r;
}

Result<RestoreRequest> ParseRestoreRequest(json& body, FieldError* error) {
  RestoreRequest r;
  auto fail = [&] { return std::unexpected(error->error); };
  if (!CheckObject(body, error) || !ParseTarget(body, &r.target, error)) return fail();
  Fields top(body, "", error);
  if (!top.Uint("attempt", &r.attempt, false) || !top.String("backup_id", &r.backup_id, true)) {
    return fail();
  }
  if (!ParseVolume(body, "destination", false, &r.destination, error)) return fail();
  if (r.destination.quiescent) {
    top.Fail("destination", "destination.quiescent applies to backups only");
    return fail();
  }
  return r;
}

}  // namespace coffer::agent
