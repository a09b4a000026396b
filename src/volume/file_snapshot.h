// The `file` backend's snapshot (DESIGN §6): before the agent reads an image
// file it takes a point-in-time copy, so a VM that keeps writing does not
// leave a torn backup.
//
//   reflink  an FICLONE clone beside the file: instant, shares the blocks
//            (XFS, Btrfs, bcachefs, ...); atomic with respect to writers
//   copy     where reflink is refused (ext4, tmpfs, ...): a sparse copy of
//            the data extents beside the file. Only as consistent as the
//            writer is quiet during the copy; that is what the caller is
//            told in the method name
//   none     the caller says the volume is quiescent: read it in place
//
// A block device cannot be cloned here: it needs a snapshot hook (LVM, ZFS
// ...) or must be declared quiescent.
//
// The snapshot file is removed when the FileSnapshot is destroyed, from the
// directory it was made in (held open), whatever its path names by then.
//
// Thread safety: a FileSnapshot is owned by one job; no shared state.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace coffer {

class FileSnapshot {
 public:
  ~FileSnapshot();
  FileSnapshot(const FileSnapshot&) = delete;
  FileSnapshot& operator=(const FileSnapshot&) = delete;

  const std::string& path() const { return path_; }      // what to read
  const std::string& method() const { return method_; }  // "reflink", "copy" or "none"

 private:
  friend Result<std::unique_ptr<FileSnapshot>> SnapshotFile(const std::string&, bool, bool);
  // The source itself ("none"), or a copy named `name` in `dir`, owned:
  // removed when this is destroyed.
  FileSnapshot(std::string path, std::string method, UniqueFd dir = UniqueFd(),
               std::string name = "")
      : path_(std::move(path)),
        method_(std::move(method)),
        dir_(std::move(dir)),
        name_(std::move(name)) {}

  std::string path_, method_;
  UniqueFd dir_;      // where an owned copy was made; none for "none"
  std::string name_;  // its name there
};

// Snapshots `path` (an image file or block device): "none" when `quiescent`,
// else a reflink clone, else a sparse copy, beside the file (same file
// system, so a clone is possible). kInvalidArgument for a block device that
// is not quiescent; the errno's error (e.g. kResourceExhausted) when the
// copy does not fit.
// `no_symlinks`: refuse a symbolic link anywhere in the path, for opening the
// source and creating the copy (see OpenWithoutSymlinks in base/fd.h).
Result<std::unique_ptr<FileSnapshot>> SnapshotFile(const std::string& path, bool quiescent,
                                                   bool no_symlinks = false);

// Removes the snapshot copies under `root` (recursively) that a process
// which no longer runs left behind (an agent killed mid-backup): files named
// ".<source>.coffer-snapshot-<pid>-<12 hex>" whose pid is gone, and those
// named before names carried a pid. Returns their paths.
Result<std::vector<std::string>> RemoveLeftoverSnapshots(const std::string& root);

}  // namespace coffer
