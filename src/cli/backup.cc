// coffer backup --target T [--name N] SOURCE: back up an image file or block
// device; prints the backup id.
#include "engine/backup.h"

#include <unistd.h>

#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
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
    // prepared under the lock so that no sweep runs before our manifest
    // names what we skip.
    std::optional<KnownChunkCache> cache;
    std::optional<CacheState> cache_state;
    std::optional<SummaryCache> summaries;
    if (!f->no_cache) {
      std::string root = f->cache_dir.empty() ? KnownChunkCache::DefaultRoot() : f->cache_dir;
      if (root.empty()) {
        std::fprintf(stderr,
                     "coffer: no known-chunks cache (neither XDG_CACHE_HOME nor HOME is set; "
                     "use --cache-dir)\n");
      } else {
        cache.emplace(
            KnownChunkCache::PathFor(root, repo->config().target_id, TargetLocation(f->target)));
        auto state = cache->Prepare(*repo);
        if (!state) return Report(FromError(state.error()), json);
        cache_state = *state;
        // The backups' summaries, so that finding the parent does not read
        // every manifest in the target again.
        summaries.emplace(SummaryCache::PathFor(root, repo->config().target_id));
        summaries->Load(repo->config().target_id);
      }
    }

    Progress progress;
    BackupOptions opts;
    opts.volume_name = f->name.empty() ? f->source : f->name;
    opts.zstd_level = f->zstd_level;
    opts.progress = &progress;
    opts.known_chunks = cache ? &*cache : nullptr;
    opts.summary_cache = summaries ? &*summaries : nullptr;
    opts.lock = lock->get();
    // Unset, the store decides: a stat on a directory, no HEAD on S3 (where
    // an unknown chunk is simply uploaded) unless --head-unknown says so.
    if (f->head_unknown) opts.head_unknown_chunks = true;
    Result<BackupResult> r;
    {
      ProgressLine line(progress, "backup");
      r = RunBackup(*repo, **source, opts);
    }
    if (!r) return Report(FromError(r.error()), json);
    if (cache) {
      // The backup is done; a cache that cannot be written costs requests
      // next time, nothing more.
      if (auto st = cache->Save(); !st) {
        std::fprintf(stderr, "coffer: warning: the known-chunks cache was not saved: %s\n",
                     st.error().message().c_str());
      }
    }
    if (summaries) {
      // The new backup's summary joins the others for the next run.
      summaries->Put(r->summary.backup_id, r->manifest_head);
      if (auto st = summaries->Save(); !st) {
        std::fprintf(stderr, "coffer: warning: the summary cache was not saved: %s\n",
                     st.error().message().c_str());
      }
    }
    lock->reset();  // released now, so that its DELETE is in the request counts
    const ManifestSummary& s = r->summary;
    uint64_t stored = s.stored_bytes + r->manifest_bytes;
    if (json) {
      nlohmann::json j = {
          {"backup_id", s.backup_id.ToString()},
          {"name", s.volume_name},
          {"parent_id",
           s.parent_id.IsNil() ? nlohmann::json() : nlohmann::json(s.parent_id.ToString())},
          {"logical_bytes", s.source_size},
          {"zero_bytes", s.zero_bytes},
          {"new_bytes", s.new_bytes},
          {"stored_bytes", stored},
          {"chunks", s.chunk_count},
          {"zero_chunks", r->zero_chunks},
          {"new_chunks", s.new_chunks},
          {"seconds", r->seconds},
          {"commit",
           {{"generation_at_start", r->commit.generation_at_start},
            {"generation_at_commit", r->commit.generation_at_commit},
            {"chunks_confirmed", r->commit.chunks_confirmed},
            {"chunks_restored", r->commit.chunks_restored}}}};
      j.update(RequestStats(f->target));
      j["cache"] = cache ? nlohmann::json{{"file", CacheStateName(*cache_state)},
                                          {"chunks_known", cache->size()},
                                          {"path", cache->path()}}
                         : nlohmann::json();
      PrintJson(j);
    } else {
      std::printf("%s\n", s.backup_id.ToString().c_str());
      std::fprintf(stderr,
                   "backed up %s (%s): %s, %s new, %s stored, %s zeros; %llu chunks (%llu new) "
                   "in %.2f s, %s\n",
                   s.volume_name.c_str(), s.parent_id.IsNil() ? "full" : "incremental",
                   FormatBytes(s.source_size).c_str(), FormatBytes(s.new_bytes).c_str(),
                   FormatBytes(stored).c_str(), FormatBytes(s.zero_bytes).c_str(),
                   (unsigned long long)s.chunk_count, (unsigned long long)s.new_chunks, r->seconds,
                   FormatRate(s.source_size, r->seconds).c_str());
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
