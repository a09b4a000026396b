// coffer unlock --target T [--all | --list]: remove stale locks (or all of
// them), or list every lock with who holds it and whether it is stale.
#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "engine/lock.h"

namespace coffer::cli {

VerbRun AddUnlock(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    bool all = false;
    bool list = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("unlock",
                         "remove the locks of processes that are provably gone (--all: every lock; "
                         "--list: show them)");
  AddTargetFlags(cmd, &f->target);
  auto* all = cmd->add_flag("--all", f->all,
                            "remove every lock, also those whose holder may still run: only "
                            "when you know it is gone");
  cmd->add_flag("--list", f->list,
                "list every lock (who holds it, since when, last refreshed, stale or live "
                "and why) and remove nothing")
      ->excludes(all);
  return [f]() -> int {
    const bool json = f->target.json;
    auto store = OpenTargetStore(f->target, false);
    if (!store) return Report(FromError(store.error()), json);
    if (auto probe = Repository::Probe(**store); !probe) {
      return Report(FromError(probe.error()), json);
    }
    if (f->list) {
      auto locks = ListLocks(**store);
      if (!locks) return Report(FromError(locks.error()), json);
      if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const LockInfo& l : *locks) {
          out.push_back({{"key", l.key},
                         {"exclusive", l.exclusive},
                         {"purpose", l.purpose},
                         {"job", l.job},
                         {"host", l.host},
                         {"host_id", l.host_id},
                         {"pid", l.pid},
                         {"created_at", l.created_at},
                         {"refreshed_at", l.refreshed_at},
                         {"stale_after", l.stale_after},
                         {"stale", l.stale},
                         {"stale_reason", l.stale_reason}});
        }
        PrintJson(out);
      } else {
        for (const LockInfo& l : *locks) {
          std::printf("%s: %s; %s\n", l.key.c_str(), DescribeLock(l).c_str(),
                      l.stale ? ("stale: " + l.stale_reason).c_str() : "live");
        }
        if (locks->empty()) std::printf("no locks\n");
      }
      return kExitOk;
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
