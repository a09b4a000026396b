// `coffer manager index-rebuild` (manager_index_rebuild.h).
#include "cli/manager_index_rebuild.h"

#include <cstdlib>
#include <iostream>

#include "cli/common.h"
#include "manager/services/index_rebuild.h"
#include "manager/services/targets.h"
#include "meta/master_key.h"
#include "meta/meta_store.h"

namespace coffer::cli {
namespace {

void PrintReport(const std::string& target_id, const manager::IndexRebuildReport& r, bool dry_run,
                 bool json) {
  if (json) {
    nlohmann::json unmatched = nlohmann::json::array();
    for (const auto& u : r.unmatched) {
      unmatched.push_back({{"backup_id", u.backup_id},
                           {"volume_id", u.volume_id},
                           {"volume_name", u.volume_name},
                           {"reason", u.reason}});
    }
    PrintJson({{"target_id", target_id},
               {"dry_run", dry_run},
               {"manifests", r.manifests},
               {"inserted", r.inserted},
               {"already_present", r.already_present},
               {"unmatched", unmatched}});
    return;
  }
  const char* verb = dry_run ? "would insert" : "inserted";
  for (const auto& id : r.inserted) std::cout << verb << " backup " << id << "\n";
  for (const auto& u : r.unmatched) {
    std::cout << "not inserted: backup " << u.backup_id;
    if (!u.volume_name.empty() || !u.volume_id.empty()) {
      std::cout << " of volume '" << u.volume_name << "' (" << u.volume_id << ")";
    }
    std::cout << ": " << u.reason << "\n";
  }
  std::cout << r.manifests << " manifests: " << r.inserted.size() << " " << verb << ", "
            << r.already_present << " already present, " << r.unmatched.size() << " not matched\n";
}

}  // namespace

int RunIndexRebuildCommand(const IndexRebuildArgs& args) {
  if (args.target_id.empty()) return Report(UsageFailure("--target is required"), args.json);
  if (args.database_url.empty()) {
    return Report(UsageFailure("no database: give --data-dir or --database-url"), args.json);
  }

  manager::IndexRebuildOptions options;
  options.target_id = args.target_id;
  options.dry_run = args.dry_run;
  const char* env = std::getenv("COFFER_PASSPHRASE");
  if (!args.passphrase_file.empty() || (env != nullptr && *env != '\0')) {
    Failure failure{kExitFailure, ""};
    auto passphrase =
        ReadPassphrase(args.passphrase_file, "COFFER_PASSPHRASE",
                       "Passphrase for target " + args.target_id + ": ", false, &failure);
    if (!passphrase) return Report(failure, args.json);
    options.passphrase = meta::SecretString(std::move(*passphrase));
  }

  meta::MetaStoreOptions meta_options;
  auto key = meta::LoadMasterKey(args.master_key_file);
  if (key) {
    meta_options.master_key = *key;
  } else if (key.error().code() == ErrorCode::kNotFound && options.passphrase) {
    // The manager lost its master key: the passphrase opens the target, and
    // no secret is read or written with this throwaway key.
    std::cerr << "coffer: no master key at " << args.master_key_file
              << "; S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY\n";
    meta_options.master_key = SecretKey::Random();
  } else {
    return Report(FromError(key.error().WithContext("master key " + args.master_key_file)),
                  args.json);
  }
  auto meta = meta::OpenMetaStore(args.database_url, std::move(meta_options));
  if (!meta) return Report(FromError(meta.error()), args.json);

  manager::TargetService targets(**meta);
  auto report = manager::RebuildIndex(**meta, targets, options);
  if (!report) return Report(FromError(report.error()), args.json);
  PrintReport(args.target_id, *report, args.dry_run, args.json);
  return report->unmatched.empty() ? kExitOk : kExitFailure;
}

}  // namespace coffer::cli
