// VolumeService: the volumes the manager backs up (DESIGN §4) and their
// schedules. It owns the rules a route would otherwise repeat: a volume
// names an agent that exists and a locator of its backend's form (the
// agent checks what needs its host: volume roots, links); a schedule's cron expression parses and
// its target exists (each a kInvalidArgument naming the field).
//
// Thread safety: thread safe (the store is).
#pragma once

#include <string>
#include <vector>

#include "meta/meta_store.h"

namespace coffer::manager {

class VolumeService {
 public:
  explicit VolumeService(meta::MetaStore& meta) : meta_(meta) {}

  Result<meta::Volume> Create(const meta::Volume& v);
  Result<meta::Volume> Get(const std::string& id) { return meta_.GetVolume(id); }
  Result<std::vector<meta::Volume>> List() { return meta_.ListVolumes(); }
  Result<meta::Volume> Update(const std::string& id, const meta::VolumePatch& p);
  Result<meta::Volume> SetSchedule(const std::string& id, const meta::VolumeSchedule& s);
  // kConflict while backups or a running restore refer to it.
  Status Delete(const std::string& id) { return meta_.DeleteVolume(id); }

  // kInvalidArgument naming `field` when there is no such agent.
  Status CheckAgent(const std::string& agent_id, const char* field = "agent_id");

 private:
  meta::MetaStore& meta_;
};

}  // namespace coffer::manager
