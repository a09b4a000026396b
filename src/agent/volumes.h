// The one place where the agent turns a (backend, locator) into a volume:
// file, iSCSI or NBD, for reading a snapshot or restoring into a new volume.
// Locators must have been validated (locator.h) first.
//
// Thread safety: reentrant.
#pragma once

#include <memory>
#include <string>

#include "agent/config.h"
#include "agent/locator.h"
#include "volume/volume.h"

namespace coffer::agent {

Result<std::unique_ptr<VolumeReader>> OpenSourceVolume(Backend backend, const std::string& locator,
                                                       const AgentConfig& config);

// A new file (published on Commit), or an existing LUN / writable export at
// least `size` bytes large.
Result<std::unique_ptr<VolumeWriter>> OpenDestinationVolume(Backend backend,
                                                            const std::string& locator,
                                                            uint64_t size,
                                                            const AgentConfig& config);

}  // namespace coffer::agent
