// IndexRebuild (DESIGN §4, §10): puts back the backup rows of a target from
// the manifests in the target, for a database that lost them (restored from
// an old dump, rows deleted by hand, a target adopted after losing the
// manager). Every manifest is opened (which authenticates it) and each one
// without a row is inserted as a completed backup: sizes and counts from the
// manifest's summary, started at its creation time, finished after its
// recorded duration, attempt 1.
//
// The volume is matched by the manifest's volume id first, then by its
// volume name; a manifest whose volume is in neither way known is not
// inserted but reported (create or rename the volume and run it again).
// A manifest of another target (a copied directory) or one that does not
// open is reported too, never inserted. Running it twice inserts nothing
// the second time.
//
// The key: the target's TK from the database, or, with a passphrase, a key
// slot of the target (TargetService::OpenRepositoryWithPassphrase), for a
// manager that lost its master key.
//
// The command line `coffer manager index-rebuild --data-dir DIR --target ID
// [--passphrase-file F]` is src/cli/manager_index_rebuild.{h,cc}:
//   int cli::RunIndexRebuildCommand(const cli::IndexRebuildArgs& args);
// The manager verb (src/cli/manager.cc) parses its config file and flags
// and calls it for the `index-rebuild` subcommand with the database URL and
// master key path it resolved for DIR.
//
// Thread safety: RebuildIndex may run while the manager serves (the inserts
// are single-row transactions; a row inserted meanwhile by the manager
// itself is kAlreadyExists and counted as present).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "manager/services/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager {

struct IndexRebuildOptions {
  std::string target_id;
  // Set: open the target through a key slot with it. Unset: the stored TK.
  std::optional<meta::SecretString> passphrase;
  bool dry_run = false;  // report what would be inserted, insert nothing
};

struct UnmatchedBackup {
  std::string backup_id;
  std::string volume_id;    // as the manifest names it
  std::string volume_name;  // as the manifest names it
  std::string reason;       // "no volume with this id or name", "...: corrupt manifest"
};

struct IndexRebuildReport {
  int manifests = 0;                  // manifests listed in the target
  std::vector<std::string> inserted;  // backup ids (would be, with dry_run)
  int already_present = 0;            // had a row already
  std::vector<UnmatchedBackup> unmatched;
};

// Errors: kNotFound for an unknown target; the errors of opening the target
// (kAuthFailed for a wrong passphrase, kCorruption for a TK that does not
// fit the target, kUnavailable / kPermissionDenied for S3 trouble) and of
// listing its manifests. Problems with single manifests are in the report.
Result<IndexRebuildReport> RebuildIndex(meta::MetaStore& meta, TargetService& targets,
                                        const IndexRebuildOptions& options);

}  // namespace coffer::manager
