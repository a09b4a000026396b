// coffer check --target T [--read-data]: is the target whole?
#include "engine/check.h"

#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/lock.h"

namespace coffer::cli {

VerbRun AddCheck(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    bool read_data = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("check", "verify the target's structure (and data)");
  AddTargetFlags(cmd, &f->target);
  AddLockWaitFlag(cmd, &f->target.lock_wait);
  cmd->add_flag("--read-data", f->read_data, "also fetch and verify every chunk");
  return [f]() -> int {
    const bool json = f->target.json;
    auto opened = OpenRepository(f->target);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    auto lock = LockTarget(*repo, false, "check", f->target.lock_wait);
    if (!lock) return Report(FromError(lock.error()), json);
    Progress progress;
    Result<CheckReport> r;
    {
      ProgressLine line(progress, "check");
      CheckOptions opts{.read_data = f->read_data, .progress = &progress};
      r = RunCheck(*repo, opts);
    }
    if (!r) return Report(FromError(r.error()), json);
    lock->reset();  // released now, so that its DELETE is in the request counts
    int code = r->errors.empty() ? kExitOk : (r->integrity_error ? kExitIntegrity : kExitFailure);
    if (json) {
      nlohmann::json j = {{"ok", r->errors.empty()},
                          {"read_data", f->read_data},
                          {"backups", r->backups},
                          {"damaged_backups", r->damaged_backups},
                          {"chunks_stored", r->chunks_stored},
                          {"bytes_stored", r->bytes_stored},
                          {"chunks_referenced", r->chunks_referenced},
                          {"chunks_unreferenced", r->chunks_unreferenced},
                          {"chunks_read", r->chunks_read},
                          {"temporaries", r->temporaries},
                          {"temporaries_bytes", r->temporaries_bytes},
                          {"temporaries_of_dead_writers", r->temporaries_of_dead_writers},
                          {"errors", r->errors}};
      j.update(RequestStats(f->target));
      PrintJson(j);
      return code;
    }
    for (const std::string& e : r->errors) std::printf("error: %s\n", e.c_str());
    std::printf("%llu backups, %llu chunks stored (%s), %llu referenced, %llu unreferenced%s\n",
                (unsigned long long)r->backups, (unsigned long long)r->chunks_stored,
                FormatBytes(r->bytes_stored).c_str(), (unsigned long long)r->chunks_referenced,
                (unsigned long long)r->chunks_unreferenced,
                r->chunks_unreferenced ? " (gc frees them)" : "");
    if (f->read_data)
      std::printf("%llu chunks read and verified\n", (unsigned long long)r->chunks_read);
    if (r->temporaries > 0) {
      std::printf(
          "%llu temporary objects (%s) not yet published, %llu of them left by processes "
          "that are gone (the next backup or gc removes those)\n",
          (unsigned long long)r->temporaries, FormatBytes(r->temporaries_bytes).c_str(),
          (unsigned long long)r->temporaries_of_dead_writers);
    }
    std::printf(r->errors.empty() ? "no errors found\n" : "%zu errors found\n", r->errors.size());
    return code;
  };
}

}  // namespace coffer::cli
