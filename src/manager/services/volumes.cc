#include "manager/services/volumes.h"

#include "manager/common/cron.h"
#include "volume/backends.h"

namespace coffer::manager {

Status VolumeService::CheckAgent(const std::string& agent_id, const char* field) {
  auto agent = meta_.GetAgent(agent_id);
  if (agent) return {};
  if (agent.error().code() == ErrorCode::kNotFound) {
    return FieldInvalid(field, "no agent " + agent_id);
  }
  return std::unexpected(agent.error());
}

namespace {

// What can be told of a locator without its agent; the agent checks the
// rest (volume roots, links) when a job starts.
Status CheckLocatorForm(meta::VolumeBackend backend, const std::string& locator) {
  if (auto st = BackendOf(backend).check_form(locator); !st) {
    return FieldInvalid("locator", st.error().message());
  }
  return {};
}

}  // namespace

Result<meta::Volume> VolumeService::Update(const std::string& id, const meta::VolumePatch& p) {
  if (p.locator) {
    COFFER_ASSIGN_OR_RETURN(meta::Volume current, meta_.GetVolume(id));
    COFFER_RETURN_IF_ERROR(CheckLocatorForm(current.backend, *p.locator));
  }
  return meta_.UpdateVolume(id, p);
}

Result<meta::Volume> VolumeService::Create(const meta::Volume& v) {
  COFFER_RETURN_IF_ERROR(CheckLocatorForm(v.backend, v.locator));
  COFFER_RETURN_IF_ERROR(CheckAgent(v.agent_id));
  return meta_.CreateVolume(v);
}

Result<meta::Volume> VolumeService::SetSchedule(const std::string& id,
                                                const meta::VolumeSchedule& s) {
  auto cron = CanonicalCron(s.backup_cron);
  if (!cron) {
    std::string m = cron.error().message();
    if (m.starts_with("cron: ")) m.erase(0, 6);
    return FieldInvalid("backup_cron", m);
  }
  meta::VolumeSchedule schedule = s;
  schedule.backup_cron = *cron;  // as it will be shown: no stray spaces
  if (s.backup_target_id) {
    auto t = meta_.GetBackupTarget(*s.backup_target_id);
    if (!t && t.error().code() == ErrorCode::kNotFound) {
      return FieldInvalid("backup_target_id", "no backup target " + *s.backup_target_id);
    }
    if (!t) return std::unexpected(t.error());
  }
  return meta_.SetVolumeSchedule(id, schedule);
}

}  // namespace coffer::manager
