// coffer unlock --target T [--all]: remove stale locks (or all of them).
#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/lock.h"

namespace coffer::cli {

VerbRun AddUnlock(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    bool all = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "unlock", "remove stale locks left by processes that died (--all: every lock)");
  AddTargetFlags(cmd, &f->target);
  cmd->add_flag("--all", f->all, "remove every lock, also those of running processes");
  return [f]() -> int {
    const bool json = f->target.json;
    auto store = OpenTargetStore(f->target, false);
    if (!store) return Report(FromError(store.error()), json);
    if (auto probe = Repository::Probe(**store); !probe) {
      return Report(FromError(probe.error()), json);
    }
    auto removed = RemoveLocks(**store, f->all);
    if (!removed) return Report(FromError(removed.error()), json);
    if (json) {
      PrintJson({{"removed", *removed}});
    } else {
      std::printf("removed %d lock%s\n", *removed, *removed == 1 ? "" : "s");
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
