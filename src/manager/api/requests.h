// The JSON bodies of the manager's write routes (docs/API.md, "Manager
// API"), read into the services' request types: strict (a field the route
// does not know is refused), each field checked for type, length and range,
// the first problem returned as kInvalidArgument naming the field. Secrets
// (an S3 secret key, a passphrase, an agent token) are wiped in `body` once
// read, whatever the outcome. Kept apart from the routes so that they can
// be fuzzed without a metadata store (fuzz/manager_requests_fuzz.cc).
//
// Thread safety: pure functions.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"
#include "manager/services/restores.h"
#include "manager/services/targets.h"
#include "meta/types.h"

namespace coffer::manager::api {

// POST /v1/backup_targets and PATCH /v1/backup_targets/{id}.
Result<CreateTargetRequest> ReadCreateTarget(nlohmann::json& body);
Result<UpdateTargetRequest> ReadUpdateTarget(nlohmann::json& body);

// The manager's rules for an agent URL (AgentService::CheckUrl), asked once
// the fields read well: kInvalidArgument whose message may start "url: ".
using UrlCheck = std::function<Status(const std::string& url)>;

// POST /v1/agents and PATCH /v1/agents/{id}: the URL must pass `check_url`
// (a trailing slash is dropped), the token be at least 16 printable ASCII
// characters (it travels as a header line).
Result<meta::NewAgent> ReadNewAgent(nlohmann::json& body, const UrlCheck& check_url);
Result<meta::AgentPatch> ReadAgentPatch(nlohmann::json& body, const UrlCheck& check_url);

// POST /v1/volumes, and PATCH /v1/volumes/{id} over the volume's current
// `hooks` (the hook fields the body does not give stay as they are).
Result<meta::Volume> ReadNewVolume(const nlohmann::json& body);
Result<meta::VolumePatch> ReadVolumePatch(const nlohmann::json& body,
                                          const meta::VolumeHooks& hooks);

// PATCH /v1/volumes/{id}/backup_schedule over the volume's `current`
// schedule (fields not given stay; a null or empty target clears it). The
// cron expression is the volume service's to validate.
Result<meta::VolumeSchedule> ReadVolumeSchedule(const nlohmann::json& body,
                                                meta::VolumeSchedule current);

// POST /v1/backups/{id}/restore, for the backup `backup_id`.
Result<RestoreRequest> ReadRestoreRequest(const nlohmann::json& body, std::string backup_id);

}  // namespace coffer::manager::api
