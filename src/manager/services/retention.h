// Retention (DESIGN §4): after a backup of a volume completes, keep the
// newest `backup_retain_count` completed backups of that volume and delete
// the others (manifest object first, then row: TargetService::DeleteBackup).
// A retain count of 0 keeps everything. Running and failed backups are
// neither counted nor deleted (a failed row has no manifest to protect; it
// stays as history until deleted through the API).
//
// Thread safety: Apply may be called from many threads; two concurrent
// Applys on one volume may both try to delete a backup, which is harmless
// (the second finds it gone and skips it).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "manager/services/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager {

// The policy, a pure function: of a volume's backups, the completed ones
// beyond the newest `keep_last` (newest first, by start time, then id) are
// forgotten; running and failed ones are neither counted nor forgotten.
// keep_last <= 0 keeps everything.
struct RetentionDecision {
  std::vector<std::string> keep, forget;  // backup ids, newest first
};
RetentionDecision KeepLast(std::span<const meta::Backup> backups, int64_t keep_last);

struct RetentionResult {
  std::vector<std::string> deleted;  // backup ids, newest first
  // Backups that could not be deleted, each "id: reason"; Apply carries on
  // with the rest and the next Apply tries them again.
  std::vector<std::string> errors;
};

class Retention {
 public:
  Retention(meta::MetaStore& meta, TargetService& targets) : meta_(meta), targets_(targets) {}

  // Applies the volume's retain count. The core calls it after each
  // CompleteBackup of the volume. kNotFound for an unknown volume; an error
  // listing the backups is returned; failures to delete single backups are
  // in RetentionResult::errors.
  Result<RetentionResult> Apply(std::string_view volume_id);

 private:
  meta::MetaStore& meta_;
  TargetService& targets_;
};

}  // namespace coffer::manager
