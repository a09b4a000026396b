#include "agent/volumes.h"

#include "volume/file_volume.h"
#include "volume/iscsi/iscsi_volume.h"
#include "volume/nbd/nbd_volume.h"

namespace coffer::agent {

Result<std::unique_ptr<VolumeReader>> OpenSourceVolume(Backend backend, const std::string& locator,
                                                       const AgentConfig& config) {
  switch (backend) {
    case Backend::kFile:
      // Resolved and checked by ValidateSource: no link may lead elsewhere now.
      return OpenFileVolume(locator, {.no_symlinks = true});
    case Backend::kIscsi: {
      IscsiOptions o;
      o.initiator_name = config.iscsi_initiator;
      return OpenIscsiVolume(locator, o);
    }
    case Backend::kNbd:
      return OpenNbdVolume(locator);
  }
  return Internal("unknown backend");
}

Result<std::unique_ptr<VolumeWriter>> OpenDestinationVolume(Backend backend,
                                                            const std::string& locator,
                                                            uint64_t size,
                                                            const AgentConfig& config) {
  switch (backend) {
    case Backend::kFile:
      // Resolved and checked by ValidateDestination, as above.
      return CreateFileVolume(locator, size, {.no_symlinks = true});
    case Backend::kIscsi: {
      IscsiOptions o;
      o.initiator_name = config.iscsi_initiator;
      return OpenIscsiVolumeForRestore(locator, size, o);
    }
    case Backend::kNbd:
      return OpenNbdVolumeForRestore(locator, size);
  }
  return Internal("unknown backend");
}

}  // namespace coffer::agent
