#include "manager/services/backups.h"

namespace coffer::manager {

Result<meta::Backup> BackupService::Start(const std::string& volume_id, std::string_view reason) {
  COFFER_ASSIGN_OR_RETURN(std::string id, orchestrator_.StartBackup(volume_id, reason));
  return meta_.GetBackup(id);
}

}  // namespace coffer::manager
