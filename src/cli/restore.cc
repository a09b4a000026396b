// coffer restore --target T BACKUP DEST [--force]: restore into a new file
// (sparse) or, with --force, over an existing file or a block device.
#include "engine/restore.h"

#include <sys/stat.h>

#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/lock.h"
#include "volume/file_volume.h"

namespace coffer::cli {

VerbRun AddRestore(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    std::string backup, dest;
    bool force = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("restore", "restore a backup into a file or block device");
  AddTargetFlags(cmd, &f->target);
  AddLockWaitFlag(cmd, &f->target.lock_wait);
  cmd->add_option("BACKUP", f->backup, "backup id (or a unique prefix of one)")->required();
  cmd->add_option("DEST", f->dest, "file to create, or block device (with --force)")->required();
  cmd->add_flag("--force", f->force, "overwrite DEST if it exists");
  return [f]() -> int {
    const bool json = f->target.json;
    struct stat st;
    if (!f->force && ::stat(f->dest.c_str(), &st) == 0) {
      return Report({kExitFailure, f->dest + " already exists (use --force to overwrite it)"},
                    json);
    }
    auto opened = OpenRepository(f->target);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    auto lock = LockTarget(*repo, false, "restore", f->target.lock_wait);
    if (!lock) return Report(FromError(lock.error()), json);
    auto id = repo->ResolveBackupId(f->backup);
    if (!id) return Report(FromError(id.error()), json);
    auto manifest = repo->LoadManifest(*id);
    if (!manifest) return Report(FromError(manifest.error()), json);
    auto dest = CreateFileVolume(f->dest, manifest->summary.source_size, {.force = f->force});
    if (!dest) return Report(FromError(dest.error()), json);

    Progress progress;
    Result<RestoreResult> r;
    {
      ProgressLine line(progress, "restore");
      RestoreOptions opts{.progress = &progress};
      // The store sets how many fetches go at once: S3 one per connection
      // (each fetcher holds up to three chunk-sized buffers).
      r = RunRestore(*repo, *manifest, **dest, opts);
    }
    dest->reset();  // removes the partial file if the restore failed
    if (!r) return Report(FromError(r.error()), json);
    lock->reset();  // released now, so that its DELETE is in the request counts
    if (json) {
      nlohmann::json j = {{"backup_id", id->ToString()},
                          {"dest", f->dest},
                          {"bytes", r->bytes},
                          {"zero_bytes", r->zero_bytes},
                          {"chunks_fetched", r->chunks_fetched},
                          {"seconds", r->seconds}};
      j.update(RequestStats(f->target));
      PrintJson(j);
    } else {
      std::fprintf(stderr, "restored %s to %s: %s (%s zeros left sparse) in %.2f s, %s\n",
                   id->ToString().c_str(), f->dest.c_str(), FormatBytes(r->bytes).c_str(),
                   FormatBytes(r->zero_bytes).c_str(), r->seconds,
                   FormatRate(r->bytes, r->seconds).c_str());
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
