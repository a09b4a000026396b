// The JSON form of the manager's records in API answers (docs/API.md,
// "Manager API"). Records carry no secrets (meta/types.h), so neither does
// this: a target says "s3_secret_access_key_set", an agent "token_set".
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "manager/jobs/agent_client.h"
#include "manager/services/restores.h"
#include "meta/types.h"

namespace coffer::manager::api {

nlohmann::json TargetJson(const meta::BackupTarget& t);
nlohmann::json AgentJson(const meta::Agent& a);
nlohmann::json VolumeJson(const meta::Volume& v);
nlohmann::json BackupJson(const meta::Backup& b);
nlohmann::json GcRunJson(const meta::GcRun& r);
nlohmann::json RestoreJson(const Restore& r);
// The live part of a running job: bytes done of total, rate, elapsed.
nlohmann::json ProgressJson(const AgentJob& job);

}  // namespace coffer::manager::api
