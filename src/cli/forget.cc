// coffer forget --target T BACKUP...: delete backups (their manifests).
// Their chunks stay until gc sweeps what no backup references any more.
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/lock.h"

namespace coffer::cli {

VerbRun AddForget(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    std::vector<std::string> backups;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("forget", "delete backups (run gc to free their data)");
  AddTargetFlags(cmd, &f->target);
  AddLockWaitFlag(cmd, &f->target.lock_wait);
  cmd->add_option("BACKUP", f->backups, "backup ids (or unique prefixes)")->required();
  return [f]() -> int {
    const bool json = f->target.json;
    auto opened = OpenRepository(f->target);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    auto lock = LockTarget(*repo, false, "forget", f->target.lock_wait);
    if (!lock) return Report(FromError(lock.error()), json);
    // Resolve every id before deleting any, so a typo deletes nothing.
    std::vector<Uuid> ids;
    for (const std::string& text : f->backups) {
      auto id = repo->ResolveBackupId(text);
      if (!id) return Report(FromError(id.error()), json);
      ids.push_back(*id);
    }
    nlohmann::json done = nlohmann::json::array();
    for (const Uuid& id : ids) {
      if (auto st = repo->DeleteManifest(id); !st) return Report(FromError(st.error()), json);
      done.push_back(id.ToString());
      if (!json) std::printf("forgot %s\n", id.ToString().c_str());
    }
    lock->reset();  // released now, so that its DELETE is in the request counts
    if (json) {
      nlohmann::json j = {{"forgotten", done}};
      j.update(RequestStats(f->target));
      PrintJson(j);
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
