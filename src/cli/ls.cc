// coffer ls --target T: the backups, oldest first. A backup whose manifest
// is damaged is named on stderr, the others listed all the same, and the
// exit code is then 4.
#include "base/text.h"
#include "cli/common.h"
#include "cli/verbs.h"

namespace coffer::cli {

VerbRun AddLs(CLI::App& app) {
  auto f = std::make_shared<TargetFlags>();
  CLI::App* cmd = app.add_subcommand("ls", "list the backups in a target");
  AddTargetFlags(cmd, f.get());
  return [f]() -> int {
    auto opened = OpenRepository(*f);
    if (auto* failure = std::get_if<Failure>(&opened)) return Report(*failure, f->json);
    auto& repo = std::get<std::unique_ptr<Repository>>(opened);
    std::vector<DamagedBackup> damaged;
    auto list = repo->ListSummaries(nullptr, &damaged);
    if (!list) return Report(FromError(list.error()), f->json);
    // After the listing, so that a script reading stdout gets every healthy
    // backup whatever the exit code says.
    auto finish = [&damaged]() -> int {
      for (const DamagedBackup& d : damaged) {
        std::fprintf(stderr, "coffer: backup %s is damaged: %s\n", d.backup_id.ToString().c_str(),
                     d.error.message().c_str());
      }
      return damaged.empty() ? kExitOk : kExitIntegrity;
    };
    if (f->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const ManifestSummary& s : *list) {
        out.push_back(
            {{"backup_id", s.backup_id.ToString()},
             {"name", s.volume_name},
             {"volume_id", s.volume_id},
             {"created_at", FormatRfc3339(s.created_at / 1000000)},
             {"logical_bytes", s.source_size},
             {"new_bytes", s.new_bytes},
             {"stored_bytes", s.stored_bytes},
             {"parent_id",
              s.parent_id.IsNil() ? nlohmann::json() : nlohmann::json(s.parent_id.ToString())}});
      }
      PrintJson(out);
      return finish();
    }
    std::printf("%-36s  %-20s  %10s  %s\n", "ID", "CREATED", "SIZE", "NAME");
    for (const ManifestSummary& s : *list) {
      std::printf("%-36s  %-20s  %10s  %s\n", s.backup_id.ToString().c_str(),
                  FormatRfc3339(s.created_at / 1000000).c_str(), FormatBytes(s.source_size).c_str(),
                  s.volume_name.c_str());
    }
    std::fflush(stdout);
    std::fprintf(stderr, "%zu backup%s", list->size(), list->size() == 1 ? "" : "s");
    if (!damaged.empty()) std::fprintf(stderr, ", and %zu damaged", damaged.size());
    std::fprintf(stderr, "\n");
    return finish();
  };
}

}  // namespace coffer::cli
