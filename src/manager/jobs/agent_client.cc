#include "manager/jobs/agent_client.h"

#include "core/crypto/secret.h"
#include "service/http.h"

namespace coffer::manager {
namespace {

using nlohmann::json;

// The agent's answer with status `status`: its error body, with the code
// its status implies and the field and S3 code it named.
Error ReplyError(const std::string& url, int status, const std::string& body) {
  json parsed = json::parse(body, nullptr, false);
  std::optional<Error> sent = service::ErrorFromJson(parsed);
  const std::string text = "agent " + url + ": " + (sent ? sent->message() : body.substr(0, 200));
  ErrorCode code = ErrorCode::kInternal;
  switch (status) {
    case 400:
    case 413:
      code = ErrorCode::kInvalidArgument;
      break;
    case 401:
    case 403:
      return Error(ErrorCode::kAuthFailed, "agent " + url + " refused the manager's token");
    case 404:
      code = ErrorCode::kNotFound;
      break;
    case 409:
      code = ErrorCode::kConflict;
      break;
    case 429:
      code = ErrorCode::kResourceExhausted;
      break;
    default:
      if (status >= 500) code = ErrorCode::kUnavailable;
  }
  std::string message =
      code == ErrorCode::kInternal ? text + " (HTTP " + std::to_string(status) + ")" : text;
  return sent ? sent->Recoded(code, std::move(message)) : Error(code, std::move(message));
}

// An answer the protocol does not allow: kInternal naming the field.
template <typename T>
Result<T> Answer(const std::string& url, const std::string& what, Result<T> parsed) {
  if (parsed) return parsed;
  return std::unexpected(parsed.error().Recoded(
      ErrorCode::kInternal,
      "agent " + url + ": " + what + " breaks the agent protocol: " + parsed.error().message()));
}

}  // namespace

std::string JobFailure(const AgentJob& job) {
  std::string why = "no reason given";
  if (job.error) why = std::string(ErrorCodeName(job.error->code())) + ": " + job.error->message();
  return "agent job " + job.id + " " + std::string(agent_api::JobStateName(job.state)) + ": " + why;
}

Result<json> AgentClient::Call(const AgentEndpoint& agent, const char* method,
                               const std::string& path, std::string* body,
                               std::initializer_list<int> ok) {
  service::HttpClient http(agent.url, options_);
  std::string token = agent.token.Reveal();
  auto reply = http.Call(method, path, token, body);
  WipeString(token);
  if (body) WipeString(*body);
  if (!reply) {
    if (reply.error().code() == ErrorCode::kUnavailable) {
      return std::unexpected(reply.error().Reworded("agent " + reply.error().message()));
    }
    return std::unexpected(
        Error(ErrorCode::kInvalidArgument, "agent URL " + agent.url + " is not usable"));
  }
  for (int status : ok) {
    if (reply->status != status) continue;
    json j = json::parse(reply->body, nullptr, false);
    if (j.is_discarded()) {
      return Internal("agent " + agent.url + ": the answer to " + std::string(method) + " " + path +
                      " is not JSON");
    }
    return j;
  }
  return std::unexpected(ReplyError(agent.url, reply->status, reply->body));
}

Result<agent_api::Health> AgentClient::Health(const AgentEndpoint& agent) {
  COFFER_ASSIGN_OR_RETURN(json j, Call(agent, "GET", "/healthz", nullptr, {200}));
  COFFER_ASSIGN_OR_RETURN(agent_api::Health h,
                          Answer(agent.url, "its health", agent_api::ParseHealth(j)));
  if (h.protocol_version != agent_api::kProtocolVersion) {
    return InvalidArgument("agent " + agent.url + " speaks agent protocol " +
                           std::to_string(h.protocol_version) + " (coffer " + h.version +
                           "); this manager speaks " + std::to_string(agent_api::kProtocolVersion) +
                           " (coffer " + COFFER_VERSION + "): upgrade the one that is older");
  }
  return h;
}

Result<AgentJob> AgentClient::StartJob(const AgentEndpoint& agent, const std::string& path,
                                       json request) {
  std::string body = request.dump();
  agent_api::WipeRequestJson(request);
  COFFER_ASSIGN_OR_RETURN(json j, Call(agent, "POST", path, &body, {202, 200}));
  return Answer(agent.url, "the job it started", agent_api::ParseJobReport(j));
}

Result<AgentJob> AgentClient::StartBackup(const AgentEndpoint& agent,
                                          const agent_api::BackupRequest& r) {
  return StartJob(agent, "/v1/storage/backup", agent_api::ToJson(r));
}

Result<AgentJob> AgentClient::StartRestore(const AgentEndpoint& agent,
                                           const agent_api::RestoreRequest& r) {
  return StartJob(agent, "/v1/storage/restore", agent_api::ToJson(r));
}

Result<AgentJob> AgentClient::GetJob(const AgentEndpoint& agent, std::string_view job_id) {
  COFFER_ASSIGN_OR_RETURN(
      json j, Call(agent, "GET", "/v1/storage/jobs/" + std::string(job_id), nullptr, {200}));
  return Answer(agent.url, "its report of job " + std::string(job_id),
                agent_api::ParseJobReport(j));
}

Status AgentClient::CancelJob(const AgentEndpoint& agent, std::string_view job_id) {
  std::string empty;
  auto r = Call(agent, "POST", "/v1/storage/jobs/" + std::string(job_id) + "/cancel", &empty,
                {202, 200});
  // 409: it ended already, which is what a cancel wants.
  if (!r && r.error().code() != ErrorCode::kConflict) return std::unexpected(r.error());
  return {};
}

Status AgentClient::CommitJob(const AgentEndpoint& agent, std::string_view job_id,
                              int64_t attempt) {
  std::string body = agent_api::ToJson(agent_api::CommitRequest{uint64_t(attempt)}).dump();
  COFFER_RETURN_IF_ERROR(
      Call(agent, "POST", "/v1/storage/jobs/" + std::string(job_id) + "/commit", &body, {200}));
  return {};
}

Status AgentClient::AbandonJob(const AgentEndpoint& agent, std::string_view job_id,
                               const std::string& reason) {
  std::string body = agent_api::ToJson(agent_api::AbandonRequest{reason}).dump();
  auto r =
      Call(agent, "POST", "/v1/storage/jobs/" + std::string(job_id) + "/abandon", &body, {200});
  if (!r && r.error().code() != ErrorCode::kConflict) return std::unexpected(r.error());
  return {};  // 409: it ended already
}

}  // namespace coffer::manager
