#include "manager/services/retention.h"

#include <algorithm>

namespace coffer::manager {

RetentionDecision KeepLast(std::span<const meta::Backup> backups, int64_t keep_last) {
  std::vector<const meta::Backup*> completed;
  for (const meta::Backup& b : backups) {
    if (b.status == meta::BackupStatus::kCompleted) completed.push_back(&b);
  }
  std::sort(completed.begin(), completed.end(), [](const meta::Backup* a, const meta::Backup* b) {
    if (a->started_at_us != b->started_at_us) return a->started_at_us > b->started_at_us;
    return a->id > b->id;
  });
  RetentionDecision d;
  for (size_t i = 0; i < completed.size(); ++i) {
    const bool kept = keep_last <= 0 || int64_t(i) < keep_last;
    (kept ? d.keep : d.forget).push_back(completed[i]->id);
  }
  return d;
}

Result<RetentionResult> Retention::Apply(std::string_view volume_id) {
  COFFER_ASSIGN_OR_RETURN(meta::Volume volume, meta_.GetVolume(volume_id));
  RetentionResult result;
  if (volume.backup_retain_count <= 0) return result;
  meta::BackupFilter filter;
  filter.volume_id = volume.id;
  filter.status = meta::BackupStatus::kCompleted;
  COFFER_ASSIGN_OR_RETURN(
      std::vector<meta::Backup> completed,
      AddContext(meta_.ListBackups(filter), "retention of volume " + volume.name));
  for (const std::string& id : KeepLast(completed, volume.backup_retain_count).forget) {
    Status st = targets_.DeleteBackup(id);
    if (st) {
      result.deleted.push_back(id);
    } else if (st.error().code() != ErrorCode::kNotFound) {
      // kNotFound: a concurrent Apply (or the API) deleted it first.
      result.errors.push_back(id + ": " + st.error().message());
    }
  }
  return result;
}

}  // namespace coffer::manager
