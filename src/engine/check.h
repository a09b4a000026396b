// check: is the target whole? Without --read-data it checks structure: every
// manifest opens and every chunk a manifest names is stored. With
// --read-data it also fetches every referenced chunk once and verifies it
// (AEAD tag and id). Problems are collected, not stopped at, and each names
// the object by full id and, for a chunk, a backup and volume offset that
// use it. Temporaries left by interrupted writers are counted, not removed.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "engine/progress.h"
#include "engine/repository.h"

namespace coffer {

struct CheckOptions {
  bool read_data = false;
  unsigned threads = 0;  // 0: the store's concurrency, else cores + 2
  Progress* progress = nullptr;
};

struct CheckReport {
  uint64_t backups = 0;  // whose manifests open: checked
  // Backups whose manifest does not open or is another target's, by id;
  // each also has its sentence in `errors`.
  std::vector<std::string> damaged_backups;
  uint64_t chunks_stored = 0;
  uint64_t bytes_stored = 0;
  uint64_t chunks_referenced = 0;    // distinct
  uint64_t chunks_unreferenced = 0;  // stored but named by no manifest (garbage for gc)
  uint64_t chunks_read = 0;          // with read_data
  // Temporaries that writers left (ObjectStore::CleanTemporaries): not
  // errors, nothing names them; the next backup removes those of provably
  // dead writers, the next gc those and any older than its grace and an hour.
  uint64_t temporaries = 0, temporaries_bytes = 0;
  uint64_t temporaries_of_dead_writers = 0;
  std::vector<std::string> errors;  // each a full sentence
  bool integrity_error = false;     // a corrupt or missing object (exit code 4)
};

// Returns an error only when the check itself could not run (store
// unreachable); what it finds wrong is in the report.
Result<CheckReport> RunCheck(Repository& repo, const CheckOptions& options);

}  // namespace coffer
