// `coffer manager index-rebuild` (DESIGN §10): the command-line glue around
// manager::RebuildIndex (manager/index_rebuild.h). The `manager` verb
// (manager.cc) owns the parsing of --data-dir, --config and
// --database-url; it resolves them and calls RunIndexRebuildCommand for
// the `index-rebuild` subcommand.
//
// Output: one line per inserted backup and per unmatched manifest, and a
// summary, on stdout; with `json`, one JSON document instead:
//   {"target_id", "manifests", "inserted": [ids], "already_present",
//    "unmatched": [{"backup_id", "volume_id", "volume_name", "reason"}]}
// The key: a key slot opened with the passphrase when --passphrase-file is
// given or COFFER_PASSPHRASE is set (DESIGN §9's sources; the variable wins),
// else the TK stored in the database. With a passphrase a missing master key
// file is not fatal (the manager lost it): S3 credentials then come from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
//
// Exit codes (DESIGN §9): 0 when every manifest has a row now, 1 when some
// could not be matched or on failure, 2 usage (an empty passphrase file, no
// target id), 3 a wrong passphrase or an unwrappable secret, 4 a corrupt
// target.
#pragma once

#include <string>

namespace coffer::cli {

struct IndexRebuildArgs {
  std::string database_url;     // resolved by the manager verb
  std::string master_key_file;  // resolved by the manager verb
  std::string target_id;        // --target
  std::string passphrase_file;  // --passphrase-file
  bool dry_run = false;         // --dry-run
  bool json = false;            // --json
};

int RunIndexRebuildCommand(const IndexRebuildArgs& args);

}  // namespace coffer::cli
