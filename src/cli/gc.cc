// coffer gc --target T [--grace D] [--dry-run]: sweep unreferenced chunks and
// the temporaries of writers that are gone (engine/gc.h).
#include "engine/gc.h"

#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/lock.h"

namespace coffer::cli {

VerbRun AddGc(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    std::string grace = "24h";
    bool dry_run = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "gc", "delete chunks no backup references, and the temporaries of killed writers");
  AddTargetFlags(cmd, &f->target);
  AddLockWaitFlag(cmd, &f->target.lock_wait);
  cmd->add_option("--grace", f->grace,
                  "keep unreferenced chunks younger than this: 0, 90s, 30m, 24h, 7d (default 24h)");
  cmd->add_flag("--dry-run", f->dry_run, "report what would be deleted, delete nothing");
  return [f]() -> int {
    const bool json = f->target.json;
    auto grace = ParseDuration(f->grace);
    if (!grace) return Report(UsageFailure("--grace: " + grace.error().message()), json);
    auto opened = OpenRepository(f->target);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    auto lock = LockTarget(*repo, true, "gc", f->target.lock_wait);
    if (!lock) return Report(FromError(lock.error()), json);
    auto r = RunGc(*repo, {.grace = *grace, .dry_run = f->dry_run, .lock = lock->get()});
    if (!r) return Report(FromError(r.error()), json);
    lock->reset();  // released now, so that its DELETE is in the request counts
    if (json) {
      nlohmann::json j = {{"dry_run", f->dry_run},
                          {"backups", r->backups},
                          {"chunks_total", r->chunks_total},
                          {"chunks_live", r->chunks_live},
                          {"chunks_deleted", r->chunks_deleted},
                          {"bytes_deleted", r->bytes_deleted},
                          {"chunks_in_grace", r->chunks_young},
                          {"bytes_in_grace", r->bytes_young},
                          {"generation", r->generation},
                          {"temporaries_deleted", r->temporaries_deleted},
                          {"temporaries_bytes_deleted", r->temporaries_bytes_deleted},
                          {"temporaries_kept", r->temporaries_kept},
                          {"temporaries_bytes_kept", r->temporaries_bytes_kept}};
      j.update(RequestStats(f->target));
      PrintJson(j);
      return kExitOk;
    }
    std::printf(
        "%s %llu unreferenced chunks (%s); kept %llu younger than %s (%s); "
        "%llu chunks live in %llu backups\n",
        f->dry_run ? "would delete" : "deleted", (unsigned long long)r->chunks_deleted,
        FormatBytes(r->bytes_deleted).c_str(), (unsigned long long)r->chunks_young,
        f->grace.c_str(), FormatBytes(r->bytes_young).c_str(), (unsigned long long)r->chunks_live,
        (unsigned long long)r->backups);
    if (r->temporaries_deleted > 0) {
      std::printf("%s %llu temporary objects (%s) left by interrupted writers\n",
                  f->dry_run ? "would remove" : "removed",
                  (unsigned long long)r->temporaries_deleted,
                  FormatBytes(r->temporaries_bytes_deleted).c_str());
    }
    if (r->temporaries_kept > 0) {
      std::printf(
          "kept %llu temporary objects (%s): of writers that run or cannot be proven "
          "gone, younger than the grace and an hour\n",
          (unsigned long long)r->temporaries_kept, FormatBytes(r->temporaries_bytes_kept).c_str());
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
