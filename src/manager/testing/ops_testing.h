// Test support for the manager's target operations and loops: a temporary
// directory, a SQLite metadata store in it, random volume images, and real
// backups made with the engine and recorded in the store the way the
// manager's orchestration does (row first, manifest with the row's id,
// then completion).
//
// Thread safety: for one test thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "engine/backup.h"
#include "manager/services/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager::testing_support {

// A fresh directory under the system's temporary directory, removed with
// everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A SQLite metadata store in `dir`/meta.db with a random master key, on the
// system clock unless `clock_us` is given.
std::unique_ptr<meta::MetaStore> OpenTestMeta(const TempDir& dir,
                                              std::function<int64_t()> clock_us = {});

// Writes `size` pseudo-random bytes (from `seed`) to `path`.
void WriteImage(const std::string& path, size_t size, uint64_t seed);

// Creates a local target "target-<n>" in dir/<name> through the service.
meta::BackupTarget CreateLocalTarget(TargetService& targets, const TempDir& dir,
                                     const std::string& name,
                                     const std::string& passphrase = "correct horse");

// An agent (once) and a volume on it named `name`, scheduled to `target_id`
// with `cron` and `retain`.
meta::Volume CreateVolume(meta::MetaStore& meta, const std::string& name,
                          const std::string& target_id, const std::string& cron = "",
                          int retain = 0);

// Backs up the image at `image` as `volume` into its target for real: the
// row (running), RunBackup with the row's id, CompleteBackup with its
// stats. Returns the completed row.
meta::Backup RecordBackup(meta::MetaStore& meta, TargetService& targets, const meta::Volume& volume,
                          const std::string& image);

}  // namespace coffer::manager::testing_support
