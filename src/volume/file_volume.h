// The `file` backend: image files and block devices, read with pread and
// SEEK_DATA/SEEK_HOLE (holes are never read), written with pwrite. Reads of
// 64 KiB and more take what the page cache holds from it and the rest with
// O_DIRECT, so a backup of a cold volume does not fill the cache.
//
// A restore into a regular file writes a temporary file beside DEST
// ("DEST.coffer-partial-…"), sized with ftruncate so zero ranges stay holes,
// and renames it over DEST only after every byte was written and synced: a
// failed restore never leaves a half-written DEST, and without `force` a
// DEST that appeared meanwhile is left as it is (the rename refuses to
// replace it). A block device is written in place, zero ranges included.
//
// `no_symlinks` is for paths resolved and checked earlier (the agent's
// locators): a symbolic link anywhere in the path is then refused (ELOOP)
// rather than followed, and the temporary file, the rename and the sync all
// go through the one directory opened that way.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>

#include "volume/volume.h"

namespace coffer {

// OK for a regular file or a block device; otherwise kInvalidArgument
// naming what `path` is (a FIFO, a socket, a character device, a directory).
// A FIFO or a character device would block a reader or never end.
Status CheckVolumeFileType(const struct stat& st, const std::string& path);

struct FileOpenOptions {
  bool no_symlinks = false;  // refuse a symbolic link anywhere in the path
};

Result<std::unique_ptr<VolumeReader>> OpenFileVolume(const std::string& path,
                                                     const FileOpenOptions& options = {});

struct FileWriteOptions {
  bool force = false;        // replace an existing file / write to a device
  bool no_symlinks = false;  // refuse a symbolic link anywhere in the path
};

Result<std::unique_ptr<VolumeWriter>> CreateFileVolume(const std::string& path, uint64_t size,
                                                       const FileWriteOptions& options);

}  // namespace coffer
