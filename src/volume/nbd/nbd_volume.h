// The `nbd` backend (DESIGN §6): an export of an NBD server (qemu-nbd,
// nbdkit, a storage system) read and written through libnbd. The locator is
// an NBD URI: nbd://HOST[:PORT]/EXPORT, nbds://… (TLS), or
// nbd+unix:///EXPORT?socket=PATH. libnbd's own rules apply, except that the
// URI may not name local files (libnbd's default, kept).
//
// Holes: the reader asks for the "base:allocation" meta context and skips
// every extent the server reports as reading zeros, so they are never read.
// A server without it is read whole (and zero chunks are still recognised).
//
// Restore writes into an existing writable export at least as large as the
// backup; zero ranges are written explicitly (NBD_CMD_WRITE_ZEROES when the
// server has it, else zero buffers) because the export may hold old data.
//
// Thread safety: ReadAt/WriteAt/NextData may be called from several threads;
// each call leases a connection of its own (ConnectionPool).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "volume/volume.h"

namespace coffer {

struct NbdOptions {
  size_t max_connections = 4;  // per volume; one per concurrent caller
  // A call (the handshake included) that waits on the server longer than
  // `timeout` fails kUnavailable; once `*cancel` is set, every call fails
  // kCancelled within about 0.1 s. The server's socket is shut down to
  // end a call blocked on it, and that connection is not used again.
  const std::atomic<bool>* cancel = nullptr;
  std::chrono::seconds timeout{300};
};

// Connects and reads the export's size. kUnavailable when the server cannot
// be reached, kInvalidArgument for a malformed URI.
Result<std::unique_ptr<VolumeReader>> OpenNbdVolume(const std::string& uri,
                                                    const NbdOptions& options = {});

// Connects to a writable export for a restore of `size` bytes:
// kPermissionDenied for a read-only export, kInvalidArgument when it is
// smaller than `size`.
Result<std::unique_ptr<VolumeWriter>> OpenNbdVolumeForRestore(const std::string& uri, uint64_t size,
                                                              const NbdOptions& options = {});

}  // namespace coffer
