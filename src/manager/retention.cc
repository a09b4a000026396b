#include "manager/retention.h"

namespace coffer::manager {

Result<RetentionResult> Retention::Apply(std::string_view volume_id) {
  COFFER_ASSIGN_OR_RETURN(meta::Volume volume, meta_.GetVolume(volume_id));
  RetentionResult result;
  if (volume.backup_retain_count <= 0) return result;
  COFFER_ASSIGN_OR_RETURN(
      std::vector<meta::Backup> beyond,
      AddContext(meta_.BackupsBeyondRetention(volume.id, volume.backup_retain_count),
                 "retention of volume " + volume.name));
  for (const meta::Backup& b : beyond) {
    Status st = targets_.DeleteBackup(b.id);
    if (st) {
      result.deleted.push_back(b.id);
    } else if (st.error().code() != ErrorCode::kNotFound) {
      // kNotFound: a concurrent Apply (or the API) deleted it first.
      result.errors.push_back(b.id + ": " + st.error().message());
    }
  }
  return result;
}

}  // namespace coffer::manager
