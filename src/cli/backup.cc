// coffer backup --target T [--name N] SOURCE: back up an image file or block
// device; prints the backup id.
#include <unistd.h>

#include "agent_api/protocol.h"
#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/backup_session.h"
#include "engine/known_chunks.h"
#include "engine/lock.h"
#include "volume/file_volume.h"

namespace coffer::cli {

VerbRun AddBackup(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    std::string name, source;
    int zstd_level = kDefaultZstdLevel;
    std::string cache_dir;
    bool no_cache = false;
    bool head_unknown = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("backup", "back up an image file or block device");
  AddTargetFlags(cmd, &f->target);
  AddLockWaitFlag(cmd, &f->target.lock_wait);
  cmd->add_option("--name", f->name,
                  "the volume's name (default: SOURCE's path); the newest backup with the "
                  "same name is the parent");
  cmd->add_option("--zstd-level", f->zstd_level, "zstd level for chunks (default 1)")
      ->check(CLI::Range(-7, 19));
  cmd->add_option("--cache-dir", f->cache_dir,
                  "where the local caches of the target live: the chunk ids known to be in "
                  "it and its backups' sealed summaries (default: $XDG_CACHE_HOME/coffer, "
                  "else ~/.cache/coffer)");
  cmd->add_flag("--no-cache", f->no_cache,
                "neither read nor write the local caches: only the parent backup's chunks "
                "are known, others are uploaded (S3) or looked up (directory), and every "
                "backup's summary is read from the target to find the parent");
  cmd->add_flag("--head-unknown", f->head_unknown,
                "on S3, ask (HEAD) about each chunk the parent and the cache do not know "
                "before uploading it (a directory target always asks; it is a stat)");
  cmd->add_option("SOURCE", f->source, "image file or block device")->required();
  return [f]() -> int {
    const bool json = f->target.json;
    // The source first: a typo there should not cost a passphrase prompt.
    auto source = OpenFileVolume(f->source);
    if (!source) return Report(FromError(source.error()), json);
    auto opened = OpenRepository(f->target);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    auto lock = LockTarget(*repo, false, "backup", f->target.lock_wait);
    if (!lock) return Report(FromError(lock.error()), json);

    // Known chunks (DESIGN §1, §5): the parent's, and the cache's, which is
    // checked out under the lock so that no sweep runs before our manifest
    // names what we skip.
    std::optional<FileBackupMemory> memory;
    if (!f->no_cache) {
      std::string root = f->cache_dir.empty() ? KnownChunkCache::DefaultRoot() : f->cache_dir;
      if (root.empty()) {
        std::fprintf(stderr,
                     "coffer: no known-chunks cache (neither XDG_CACHE_HOME nor HOME is set; "
                     "use --cache-dir)\n");
      } else {
        memory.emplace(root, TargetLocation(f->target));
      }
    }

    Progress progress;
    BackupSession session;
    BackupOptions& opts = session.options;
    opts.volume_name = f->name.empty() ? f->source : f->name;
    opts.zstd_level = f->zstd_level;
    opts.progress = &progress;
    opts.lock = lock->get();
    // Unset, the store decides: a stat on a directory, no HEAD on S3 (where
    // an unknown chunk is simply uploaded) unless --head-unknown says so.
    if (f->head_unknown) opts.head_unknown_chunks = true;
    session.memory = memory ? &*memory : nullptr;
    // A cache that cannot be written costs requests next time, nothing more.
    session.warn = [](const std::string& line) {
      std::fprintf(stderr, "coffer: warning: %s\n", line.c_str());
    };
    Result<BackupResult> r;
    {
      ProgressLine line(progress, "backup");
      r = RunBackupSession(*repo, **source, session);
    }
    if (!r) return Report(FromError(r.error()), json);
    lock->reset();  // released now, so that its DELETE is in the request counts
    const BackupFigures b = FiguresOf(*r);
    if (r->temporaries.removed > 0) {
      std::fprintf(stderr, "coffer: %s\n", DescribeReclaimed(r->temporaries).c_str());
    }
    if (json) {
      nlohmann::json j = {
          {"backup_id", b.backup_id},
          {"name", b.volume_name},
          {"parent_id", b.parent_id.empty() ? nlohmann::json() : nlohmann::json(b.parent_id)},
          {"logical_bytes", b.logical_bytes},
          {"zero_bytes", b.zero_bytes},
          {"new_bytes", b.new_bytes},
          {"stored_bytes", b.stored_bytes},
          {"chunks", b.chunks},
          {"zero_chunks", b.zero_chunks},
          {"new_chunks", b.new_chunks},
          {"seconds", b.seconds},
          {"commit", agent_api::ToJson(b.commit)},
          {"temporaries_removed", r->temporaries.removed},
          {"temporaries_removed_bytes", r->temporaries.removed_bytes}};
      j.update(RequestStats(f->target));
      j["cache"] = memory ? nlohmann::json{{"file", CacheStateName(memory->state())},
                                           {"chunks_known", b.known_chunks},
                                           {"path", memory->path()}}
                          : nlohmann::json();
      PrintJson(j);
    } else {
      std::printf("%s\n", b.backup_id.c_str());
      std::fprintf(stderr,
                   "backed up %s (%s): %s, %s new, %s stored, %s zeros; %llu chunks (%llu new) "
                   "in %.2f s, %s\n",
                   b.volume_name.c_str(), b.parent_id.empty() ? "full" : "incremental",
                   FormatBytes(b.logical_bytes).c_str(), FormatBytes(b.new_bytes).c_str(),
                   FormatBytes(b.stored_bytes).c_str(), FormatBytes(b.zero_bytes).c_str(),
                   (unsigned long long)b.chunks, (unsigned long long)b.new_chunks, b.seconds,
                   FormatRate(b.logical_bytes, b.seconds).c_str());
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
