// The `iscsi` backend (DESIGN §6): a LUN of an iSCSI target read and written
// in user space through libiscsi, so the agent needs no kernel initiator and
// no root-only login. The locator is libiscsi's URL:
//
//   iscsi://[USER[%PASSWORD]@]HOST[:PORT]/TARGET-IQN/LUN
//
// e.g. iscsi://127.0.0.1:3260/iqn.2026-11.dev.coffer:vol/1 (port 3260 when
// omitted; CHAP when a user is given). name() never shows the password.
//
// Reads and writes use READ(16)/WRITE(16) in requests of up to 4 MiB; any
// byte range is accepted (the pipeline cuts chunks at byte granularity):
// partial blocks at the edges of a write are read, patched and written back
// under one lock, so two writes that share a block never lose each other's
// bytes. Holes are skipped with GET LBA STATUS when the LUN is thin
// provisioned and unmapped blocks read as zeros (LBPME and LBPRZ set);
// otherwise the whole LUN is read. Restore zeroes ranges with WRITE SAME(16)
// (or plain writes when the target refuses it) and ends with SYNCHRONIZE
// CACHE(16).
//
// Thread safety: ReadAt/WriteAt/NextData may be called from several threads;
// each call leases a session of its own (ConnectionPool).
#pragma once

#include <memory>
#include <string>

#include "volume/volume.h"

namespace coffer {

struct IscsiOptions {
  std::string initiator_name = "iqn.2026-11.dev.coffer:agent";
  size_t max_connections = 4;
};

// Logs in and reads the LUN's capacity. kInvalidArgument for a malformed
// URL, kUnavailable when the portal cannot be reached.
Result<std::unique_ptr<VolumeReader>> OpenIscsiVolume(const std::string& url,
                                                      const IscsiOptions& options = {});

// Logs in to a LUN to restore `size` bytes into it: kInvalidArgument when
// the LUN is smaller.
Result<std::unique_ptr<VolumeWriter>> OpenIscsiVolumeForRestore(const std::string& url,
                                                                uint64_t size,
                                                                const IscsiOptions& options = {});

// The URL with any password replaced by "***", for messages and logs.
std::string RedactIscsiUrl(const std::string& url);

}  // namespace coffer
