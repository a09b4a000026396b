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
// Exit codes (DESIGN §9): 0 when every manifest has a row now, 1 when some
// could not be matched or on failure, 2 usage (an unreadable passphrase
// file), 3 a wrong passphrase or an unwrappable secret, 4 a corrupt target.
#pragma once

#include <string>

namespace coffer::cli {

struct IndexRebuildArgs {
  std::string data_dir;         // --data-dir, for messages
  std::string database_url;     // resolved by the manager verb
  std::string master_key_path;  // resolved by the manager verb; must exist
  std::string target_id;        // --target
  std::string passphrase_file;  // --passphrase-file; empty: the stored TK
  bool dry_run = false;         // --dry-run
  bool json = false;            // --json
};

int RunIndexRebuildCommand(const IndexRebuildArgs& args);

}  // namespace coffer::cli
