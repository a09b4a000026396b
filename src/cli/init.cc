// coffer init --target T: create the layout and the first key slot.
#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "core/crypto/secret.h"

namespace coffer::cli {

VerbRun AddInit(CLI::App& app) {
  struct Flags {
    TargetFlags target;
    std::string min = "256K", avg = "1M", max = "4M", segment = "64M";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("init", "create a new target and its first key slot");
  AddTargetFlags(cmd, &f->target);
  cmd->add_option("--chunk-min", f->min, "smallest chunk (default 256K)");
  cmd->add_option("--chunk-avg", f->avg, "average chunk, a power of two (default 1M)");
  cmd->add_option("--chunk-max", f->max, "largest chunk (default 4M)");
  cmd->add_option("--segment", f->segment,
                  "chunking restarts every this many bytes so cores chunk in parallel; "
                  "0 for never (default 64M)");
  return [f]() -> int {
    const bool json = f->target.json;
    InitOptions opts;
    for (auto [text, field, name] : {std::tuple{&f->min, &opts.chunker.min_size, "--chunk-min"},
                                     std::tuple{&f->avg, &opts.chunker.avg_size, "--chunk-avg"},
                                     std::tuple{&f->max, &opts.chunker.max_size, "--chunk-max"}}) {
      auto v = ParseSize(*text);
      if (!v || *v > UINT32_MAX) {
        return Report(
            UsageFailure(std::string(name) + ": " + (v ? "too large" : v.error().message())), json);
      }
      *field = uint32_t(*v);
    }
    auto seg = ParseSize(f->segment);
    if (!seg) return Report(UsageFailure("--segment: " + seg.error().message()), json);
    opts.segment_size = *seg;
    if (auto st = ValidateChunkerParams(opts.chunker); !st) {
      return Report(UsageFailure(st.error().message()), json);
    }
    if (opts.segment_size != 0 && opts.segment_size < opts.chunker.max_size) {
      return Report(UsageFailure("--segment must be 0 or at least --chunk-max"), json);
    }

    auto store = OpenTargetStore(f->target, true);
    if (!store) return Report(FromError(store.error()), json);
    if (auto probe = Repository::Probe(**store); probe) {
      return Report({kExitFailure, f->target.target + " already holds a Coffer target"}, json);
    } else if (probe.error().code() != ErrorCode::kNotFound) {
      // Wrong S3 credentials, a missing bucket, an unreadable directory:
      // say so now rather than after asking for a passphrase twice.
      return Report(FromError(probe.error()), json);
    }
    Failure failure{kExitFailure, ""};
    auto pass = ReadPassphrase(f->target.passphrase_file, "COFFER_PASSPHRASE",
                               "New passphrase for " + f->target.target + ": ", true, &failure);
    if (!pass) return Report(failure, json);
    auto repo = Repository::Init(std::move(*store), *pass, opts);
    Wipe(pass->data(), pass->size());
    if (!repo) return Report(FromError(repo.error()), json);
    const TargetConfig& c = (*repo)->config();
    if (json) {
      PrintJson({{"target", f->target.target},
                 {"target_id", c.target_id.ToString()},
                 {"key_slot", (*repo)->unlocked_slot().ToString()},
                 {"chunker",
                  {{"min", c.chunker.min_size},
                   {"avg", c.chunker.avg_size},
                   {"max", c.chunker.max_size},
                   {"segment", c.segment_size}}}});
    } else {
      std::printf("created target %s at %s\n", c.target_id.ToString().c_str(),
                  f->target.target.c_str());
      std::fflush(stdout);
      std::fprintf(stderr,
                   "Keep the passphrase safe: without it (or another key slot's) the backups "
                   "cannot be restored.\n");
    }
    return kExitOk;
  };
}

}  // namespace coffer::cli
