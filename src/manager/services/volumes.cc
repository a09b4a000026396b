#include "manager/services/volumes.h"

#include "manager/common/cron.h"

namespace coffer::manager {

Status VolumeService::CheckAgent(const std::string& agent_id, const char* field) {
  auto agent = meta_.GetAgent(agent_id);
  if (agent) return {};
  if (agent.error().code() == ErrorCode::kNotFound) {
    return FieldInvalid(field, "no agent " + agent_id);
  }
  return std::unexpected(agent.error());
}

Result<meta::Volume> VolumeService::Create(const meta::Volume& v) {
  COFFER_RETURN_IF_ERROR(CheckAgent(v.agent_id));
  return meta_.CreateVolume(v);
}

Result<meta::Volume> VolumeService::SetSchedule(const std::string& id,
                                                const meta::VolumeSchedule& s) {
  if (auto st = ValidateCron(s.backup_cron); !st) {
    std::string m = st.error().message();
    if (m.starts_with("cron: ")) m.erase(0, 6);
    return FieldInvalid("backup_cron", m);
  }
  if (s.backup_target_id) {
    auto t = meta_.GetBackupTarget(*s.backup_target_id);
    if (!t && t.error().code() == ErrorCode::kNotFound) {
      return FieldInvalid("backup_target_id", "no backup target " + *s.backup_target_id);
    }
    if (!t) return std::unexpected(t.error());
  }
  return meta_.SetVolumeSchedule(id, s);
}

}  // namespace coffer::manager
