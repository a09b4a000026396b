#include "manager/services/index_rebuild.h"

#include <map>

namespace coffer::manager {
namespace {

// The row a completed backup would have had, from its manifest's summary.
meta::Backup RowFor(const ManifestSummary& s, const std::string& volume_id,
                    const std::string& target_id) {
  meta::Backup b;
  b.id = s.backup_id.ToString();
  b.volume_id = volume_id;
  b.target_id = target_id;
  b.status = meta::BackupStatus::kCompleted;
  b.attempt = 1;
  b.stats.logical_bytes = int64_t(s.source_size);
  b.stats.zero_bytes = int64_t(s.zero_bytes);
  b.stats.new_bytes = int64_t(s.new_bytes);
  b.stats.stored_bytes = int64_t(s.stored_bytes);
  b.stats.chunks = int64_t(s.chunk_count);
  b.stats.new_chunks = int64_t(s.new_chunks);
  b.started_at_us = s.created_at;
  b.heartbeat_at_us = s.created_at;
  b.duration_ms = int64_t(s.duration_ms);
  b.finished_at_us = s.created_at + b.duration_ms * 1000;
  return b;
}

}  // namespace

Result<IndexRebuildReport> RebuildIndex(meta::MetaStore& meta, TargetService& targets,
                                        const IndexRebuildOptions& options) {
  COFFER_ASSIGN_OR_RETURN(meta::BackupTarget target, meta.GetBackupTarget(options.target_id));
  std::unique_ptr<Repository> repo;
  if (options.passphrase) {
    COFFER_ASSIGN_OR_RETURN(
        repo, targets.OpenRepositoryWithPassphrase(target.id, options.passphrase->Reveal()));
  } else {
    COFFER_ASSIGN_OR_RETURN(repo, targets.OpenRepository(target.id));
  }
  const Uuid target_uuid = repo->config().target_id;
  if (target_uuid.ToString() != target.id) {
    return InvalidArgument("target " + target.name + ": " + target.address + " holds target " +
                           target_uuid.ToString() + ", not " + target.id);
  }

  COFFER_ASSIGN_OR_RETURN(auto volumes, meta.ListVolumes());
  std::map<std::string, std::string> by_id, by_name;  // → volume id
  for (const auto& v : volumes) {
    by_id[v.id] = v.id;
    by_name[v.name] = v.id;
  }

  COFFER_ASSIGN_OR_RETURN(std::vector<Uuid> ids,
                          AddContext(repo->ListBackupIds(), "target " + target.name));
  IndexRebuildReport report;
  report.manifests = int(ids.size());
  for (const Uuid& id : ids) {
    const std::string backup_id = id.ToString();
    auto existing = meta.GetBackup(backup_id);
    if (existing) {
      ++report.already_present;
      continue;
    }
    if (existing.error().code() != ErrorCode::kNotFound) return std::unexpected(existing.error());
    auto summary = repo->LoadSummary(id);
    if (!summary) {
      report.unmatched.push_back(
          {backup_id, "", "", "the manifest does not open: " + summary.error().message()});
      continue;
    }
    if (summary->target_id != target_uuid) {
      report.unmatched.push_back(
          {backup_id, summary->volume_id, summary->volume_name,
           "the manifest belongs to target " + summary->target_id.ToString()});
      continue;
    }
    std::string volume_id;
    if (auto it = by_id.find(summary->volume_id); it != by_id.end()) {
      volume_id = it->second;
    } else if (auto it = by_name.find(summary->volume_name); it != by_name.end()) {
      volume_id = it->second;
    } else {
      report.unmatched.push_back(
          {backup_id, summary->volume_id, summary->volume_name, "no volume with this id or name"});
      continue;
    }
    if (!options.dry_run) {
      Status imported = meta.ImportBackup(RowFor(*summary, volume_id, target.id));
      if (!imported) {
        if (imported.error().code() == ErrorCode::kAlreadyExists) {
          ++report.already_present;  // the manager inserted it meanwhile
        } else {
          report.unmatched.push_back({backup_id, summary->volume_id, summary->volume_name,
                                      "inserting the row failed: " + imported.error().message()});
        }
        continue;
      }
    }
    report.inserted.push_back(backup_id);
  }
  return report;
}

}  // namespace coffer::manager
