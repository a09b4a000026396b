#include "manager/services/target_checks.h"

#include <algorithm>
#include <filesystem>

#include "base/uuid.h"
#include "service/peer_url.h"
#include "store/target_address.h"

namespace coffer::manager {
namespace {

constexpr int64_t kMaxGraceSeconds = 365LL * 86400;
constexpr size_t kMinPassphrase = 8;

}  // namespace

std::unexpected<Error> FieldError(std::string_view field, const std::string& why) {
  return FieldInvalid(std::string(field), why);
}

Status ValidateEndpoint(std::string_view endpoint) {
  if (endpoint.empty()) return {};
  std::string_view rest = endpoint;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    return FieldError("s3_endpoint",
                      "'" + std::string(endpoint) + "' must start with http:// or https://");
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return FieldError("s3_endpoint",
                      "'" + std::string(endpoint) + "' must be http(s)://host[:port]");
  }
  return {};
}

Status ValidateConnection(std::string_view address, std::string_view endpoint,
                          std::string_view region, std::string_view access_key_id,
                          bool has_secret) {
  if (TargetAddress::IsS3(address)) {
    COFFER_RETURN_IF_ERROR(ValidateEndpoint(endpoint));
    if (access_key_id.empty()) return FieldError("s3_access_key_id", "required for an s3 target");
    if (!has_secret) return FieldError("s3_secret_access_key", "required for an s3 target");
    return {};
  }
  if (!endpoint.empty()) return FieldError("s3_endpoint", "only for an s3:// address");
  if (!region.empty()) return FieldError("s3_region", "only for an s3:// address");
  if (!access_key_id.empty() || has_secret) {
    return FieldError("s3_access_key_id", "credentials are only for an s3:// address");
  }
  return {};
}

Status ValidateAddress(std::string_view address) {
  if (address.empty()) return FieldError("address", "required");
  auto where = TargetAddress::Parse(address);
  if (!where) {
    return FieldError("address", where.error().message() +
                                     "; it must be s3://BUCKET/PREFIX, file:///PATH or /PATH");
  }
  if (!where->is_s3() && !std::filesystem::path(where->path).is_absolute()) {
    return FieldError("address", "'" + std::string(address) + "' is not an absolute path");
  }
  return {};
}

std::vector<std::string> TargetPlaces::DefaultRefusedDirs() {
  return {"/bin",    "/boot", "/dev", "/etc",  "/lib", "/lib32", "/lib64",
          "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr",   "/var/run"};
}

namespace {

// Whether `path` is `dir` or inside it (both lexically normal, absolute).
bool AtOrUnder(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return d == dir.end() || (std::next(d) == dir.end() && d->empty());
}

}  // namespace

Status ValidatePlace(std::string_view address, std::string_view endpoint,
                     const TargetPlaces& places) {
  namespace fs = std::filesystem;
  auto where = TargetAddress::Parse(address);
  if (!where) return {};  // ValidateAddress names it
  if (where->is_s3()) {
    if (endpoint.empty()) return {};
    auto url = service::ParsePeerUrl(endpoint);
    if (!url) return FieldError("s3_endpoint", url.error().message());
    auto allowed = service::CheckPeerHost(url->host, places.allow_link_local);
    if (!allowed) return FieldError("s3_endpoint", allowed.error().message());
    return {};
  }
  // Both the path as written and where its existing part leads: a link
  // from /srv/backup to /etc must not get around the refusal.
  const fs::path lexical = fs::path(where->path).lexically_normal();
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(lexical, ec);
  if (ec) resolved = lexical;
  for (const fs::path& p : {lexical, resolved}) {
    if (p == p.root_path()) return FieldError("address", "a target cannot be the root directory");
    for (const std::string& refused : places.refused_dirs) {
      const fs::path dir = fs::path(refused).lexically_normal();
      if (AtOrUnder(p, dir)) {
        return FieldError("address", "'" + p.string() + "' is in " + dir.string() +
                                         ", where the manager does not put targets");
      }
    }
  }
  if (places.directory_roots.empty()) return {};
  for (const std::string& root : places.directory_roots) {
    const fs::path dir = fs::path(root).lexically_normal();
    if (AtOrUnder(lexical, dir) && AtOrUnder(resolved, dir)) return {};
  }
  std::string roots;
  for (const std::string& r : places.directory_roots) roots += (roots.empty() ? "" : ", ") + r;
  return FieldError("address", "'" + lexical.string() +
                                   "' is outside the directories the manager may put targets "
                                   "in (target_roots: " +
                                   roots + ")");
}

std::string Location(std::string_view address, std::string_view endpoint) {
  // The manager may not see the directory (it is the agents' path): no links
  // are resolved.
  auto where = TargetAddress::Parse(address);
  return where ? where->Location(endpoint, /*resolve_links=*/false) : std::string(address);
}

Error ProbeError(const Error& e, std::string_view address) {
  ErrorCode code = e.code();
  if (code != ErrorCode::kPermissionDenied && code != ErrorCode::kAlreadyExists &&
      code != ErrorCode::kAuthFailed) {
    code = ErrorCode::kUnavailable;
  }
  return e.Recoded(code, "target " + std::string(address) + ": " + e.message());
}

Status ProbeObjects(ObjectStore& store) {
  const std::string key = "probe-" + Uuid::Random().ToString();
  const std::string body = "coffer manager probe " + key;
  COFFER_RETURN_IF_ERROR(AddContext(store.Put(key, AsBytes(body)), "writing a probe object"));
  Buffer back;
  Status got = store.Get(key, &back);
  if (!got) {
    (void)store.Delete(key);
    return std::unexpected(got.error().WithContext("reading the probe object back"));
  }
  if (AsChars(back.view()) != body) {
    (void)store.Delete(key);
    return Unavailable("the probe object " + key + " read back different bytes");
  }
  return AddContext(store.Delete(key), "deleting the probe object");
}

StoreOptions ForProbe(StoreOptions o, std::chrono::milliseconds timeout) {
  o.create = true;
  o.s3_connect_timeout = std::max(std::chrono::milliseconds(500), timeout / 3);
  o.s3_stall_timeout = timeout;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff = std::chrono::milliseconds(100);
  o.retry.max_backoff = std::chrono::milliseconds(1000);
  o.retry.deadline = timeout / 2;
  return o;
}

Result<std::unique_ptr<ObjectStore>> OpenForProbe(std::string_view address,
                                                  const StoreOptions& options) {
  auto store = OpenStore(address, options);
  if (!store) {
    if (store.error().code() == ErrorCode::kInvalidArgument) {
      return FieldError("address", store.error().message());
    }
    return std::unexpected(ProbeError(store.error(), address));
  }
  return store;
}

Status ValidateTargetName(std::string_view name) {
  if (name.empty()) return FieldError("name", "required");
  if (name.size() > 128) return FieldError("name", "longer than 128 characters");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return FieldError("name", "contains a control character");
  }
  return {};
}

Status ValidateGcHour(int hour) {
  if (hour < 0 || hour > 23) return FieldError("gc_hour", std::to_string(hour) + " is not 0..23");
  return {};
}

Status ValidateGcGrace(int64_t seconds) {
  if (seconds < 0 || seconds > kMaxGraceSeconds) {
    return FieldError("gc_grace_seconds", std::to_string(seconds) + " is not 0..31536000");
  }
  return {};
}

Status ValidateCreateRequest(const CreateTargetRequest& r) {
  COFFER_RETURN_IF_ERROR(ValidateTargetName(r.name));
  COFFER_RETURN_IF_ERROR(ValidateAddress(r.address));
  COFFER_RETURN_IF_ERROR(ValidateConnection(r.address, r.s3_endpoint, r.s3_region,
                                            r.s3_access_key_id, !r.s3_secret_access_key.empty()));
  COFFER_RETURN_IF_ERROR(ValidateGcHour(r.gc_hour));
  COFFER_RETURN_IF_ERROR(ValidateGcGrace(r.gc_grace_seconds));
  if (r.passphrase.Reveal().size() < kMinPassphrase) {
    return FieldError("passphrase",
                      "required, at least 8 characters (it opens the target's "
                      "key slot when the manager is gone)");
  }
  return {};
}

}  // namespace coffer::manager
