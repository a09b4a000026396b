// Volumes as the data path sees them: something to read a snapshot from and
// something to restore into. The file backend (image files and block
// devices) lives in file_volume.h; iSCSI and NBD implement the same
// interfaces.
//
// Thread safety: ReadAt / WriteAt may be called concurrently for distinct
// ranges; the other methods are not concurrent with anything.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/error.h"

namespace coffer {

struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
};

class VolumeReader {
 public:
  virtual ~VolumeReader() = default;
  virtual const std::string& name() const = 0;  // for messages: path or URI
  virtual uint64_t size() const = 0;

  // Reads exactly `len` bytes at `offset` (within size()).
  virtual Status ReadAt(uint64_t offset, uint8_t* out, size_t len) = 0;

  // The first range at or after `offset` that may hold data; everything
  // between `offset` and its start reads as zeros (a hole). Returns an extent
  // of length 0 at size() when only holes remain. Backends that cannot tell
  // report [offset, size()).
  virtual Result<Extent> NextData(uint64_t offset) = 0;

  // False when reading [offset, offset+len) certainly will not wait for a
  // device or a network (a file range the page cache holds whole); true
  // when it may. A backup reads such ranges ahead of its work.
  virtual bool MayWait(uint64_t offset, uint64_t len) {
    (void)offset;
    (void)len;
    return true;
  }
};

class VolumeWriter {
 public:
  virtual ~VolumeWriter() = default;
  virtual const std::string& name() const = 0;

  virtual Status WriteAt(uint64_t offset, ByteView data) = 0;

  // Makes [offset, offset+len) read as zeros: nothing for a fresh sparse
  // file (it is a hole already), explicit zeroing for a device.
  virtual Status WriteZeros(uint64_t offset, uint64_t len) = 0;

  // Reserves room for data about to be written at [offset, offset+len),
  // where the destination can: a new file gets the blocks allocated now
  // (fallocate), so a disk too small fails before any chunk is fetched and
  // the writes land in blocks that exist. Nothing for a device, or on a
  // file system that cannot allocate ahead.
  virtual Status Allocate(uint64_t offset, uint64_t len) {
    (void)offset;
    (void)len;
    return {};
  }

  // Makes everything durable and, for a file, publishes it under its final
  // name. After an error or without Commit, a file destination is removed.
  virtual Status Commit() = 0;
};

}  // namespace coffer
