#include "manager/job_requests.h"

#include <nlohmann/json.hpp>

#include "core/crypto/secret.h"

namespace coffer::manager {
namespace {

using nlohmann::json;

json TargetJson(const JobTarget& t) {
  json j = {{"address", t.address}, {"key", t.TargetKeyHex().Reveal()}};
  if (!t.s3_endpoint.empty()) j["s3_endpoint"] = t.s3_endpoint;
  if (!t.s3_region.empty()) j["s3_region"] = t.s3_region;
  if (!t.s3_access_key_id.empty()) {
    j["s3_access_key_id"] = t.s3_access_key_id;
    j["s3_secret_access_key"] = t.s3_secret_access_key.Reveal();
  }
  return j;
}

// Serialises, then overwrites the secrets left in the document.
std::string DumpAndWipe(json& body) {
  std::string out = body.dump();
  json& t = body["target"];
  for (const char* key : {"key", "s3_secret_access_key"}) {
    auto it = t.find(key);
    if (it != t.end() && it->is_string()) {
      std::string& s = it->get_ref<std::string&>();
      if (!s.empty()) Wipe(s.data(), s.size());
    }
  }
  return out;
}

}  // namespace

std::string BackupJobBody(const meta::Volume& volume, const JobTarget& target,
                          const std::string& backup_id, int64_t attempt) {
  json v = {{"id", volume.id},
            {"name", volume.name},
            {"backend", meta::ToString(volume.backend)},
            {"locator", volume.locator}};
  const meta::VolumeHooks& h = volume.hooks;
  if (!h.pre_backup_command.empty() || !h.post_backup_command.empty()) {
    v["hooks"] = {{"pre_backup", h.pre_backup_command},
                  {"post_backup", h.post_backup_command},
                  {"timeout_seconds", h.timeout_seconds}};
  }
  json body = {{"attempt", attempt},
               {"await_commit", true},
               {"backup_id", backup_id},
               {"target", TargetJson(target)},
               {"volume", v}};
  return DumpAndWipe(body);
}

std::string RestoreJobBody(const meta::Volume& destination, const JobTarget& target,
                           const std::string& backup_id) {
  json body = {{"attempt", 1},
               {"backup_id", backup_id},
               {"target", TargetJson(target)},
               {"destination",
                {{"id", destination.id},
                 {"name", destination.name},
                 {"backend", meta::ToString(destination.backend)},
                 {"locator", destination.locator}}}};
  return DumpAndWipe(body);
}

}  // namespace coffer::manager
