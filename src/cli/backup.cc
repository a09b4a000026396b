// coffer backup --target T [--name N] SOURCE: back up an image file or block
// device; prints the backup id.
#include <unistd.h>

#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/backup.h"
#include "engine/lock.h"
#include "volume/file_volume.h"

namespace coffer::cli {

VerbRun AddBackup(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    std::string name, source;
    int zstd_level = kDefaultZstdLevel;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("backup", "back up an image file or block device");
  AddTargetFlags(cmd, &f->target);
  cmd->add_option("--name", f->name,
                  "the volume's name (default: SOURCE's path); the newest backup with the "
                  "same name is the parent");
  cmd->add_option("--zstd-level", f->zstd_level, "zstd level for chunks (default 1)")
      ->check(CLI::Range(-7, 19));
  cmd->add_option("SOURCE", f->source, "image file or block device")->required();
  return [f]() -> int {
    const bool json = f->target.json;
    // The source first: a typo there should not cost a passphrase prompt.
    auto source = OpenFileVolume(f->source);
    if (!source) return Report(FromError(source.error()), json);
    auto opened = OpenRepository(f->target);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    auto lock = TargetLock::Acquire(repo->store(), false, "backup");
    if (!lock) return Report(FromError(lock.error()), json);

    Progress progress;
    BackupOptions opts;
    opts.volume_name = f->name.empty() ? f->source : f->name;
    opts.zstd_level = f->zstd_level;
    opts.progress = &progress;
    Result<BackupResult> r;
    {
      ProgressLine line(progress, "backup");
      r = RunBackup(*repo, **source, opts);
    }
    if (!r) return Report(FromError(r.error()), json);
    const ManifestSummary& s = r->summary;
    uint64_t stored = s.stored_bytes + r->manifest_bytes;
    if (json) {
      PrintJson({{"backup_id", s.backup_id.ToString()},
                 {"name", s.volume_name},
                 {"parent_id", s.parent_id.IsNil() ? nlohmann::json() : nlohmann::json(s.parent_id.ToString())},
                 {"logical_bytes", s.source_size},
                 {"zero_bytes", s.zero_bytes},
                 {"new_bytes", s.new_bytes},
                 {"stored_bytes", stored},
                 {"chunks", s.chunk_count},
                 {"zero_chunks", r->zero_chunks},
                 {"new_chunks", s.new_chunks},
                 {"seconds", r->seconds}});
    } else {
      std::printf("%s\n", s.backup_id.ToString().c_str());
      std::fprintf(stderr,
                   "backed up %s (%s): %s, %s new, %s stored, %s zeros; %llu chunks (%llu new) "
                   "in %.2f s, %s\n",
                   s.volume_name.c_str(), s.parent_id.IsNil() ? "full" : "incremental",
                   FormatBytes(s.source_size).c_str(), FormatBytes(s.new_bytes).c_str(),
                   FormatBytes(stored).c_str(), FormatBytes(s.zero_bytes).c_str(),
                   (unsigned long long)s.chunk_count, (unsigned long long)s.new_chunks,
                   r->seconds, FormatRate(s.source_size, r->seconds).c_str());
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
