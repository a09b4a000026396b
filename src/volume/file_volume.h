// The `file` backend: image files and block devices, read with pread and
// SEEK_DATA/SEEK_HOLE (holes are never read), written with pwrite.
//
// A restore into a regular file writes a temporary file beside DEST
// ("DEST.coffer-partial-…"), sized with ftruncate so zero ranges stay holes,
// and renames it over DEST only after every byte was written and synced: a
// failed restore never leaves a half-written DEST. A block device is written
// in place, zero ranges included.
#pragma once

#include <memory>
#include <string>

#include "volume/volume.h"

namespace coffer {

Result<std::unique_ptr<VolumeReader>> OpenFileVolume(const std::string& path);

struct FileWriteOptions {
  bool force = false;  // replace an existing file / write to a device
};

Result<std::unique_ptr<VolumeWriter>> CreateFileVolume(const std::string& path, uint64_t size,
                                                       const FileWriteOptions& options);

}  // namespace coffer
