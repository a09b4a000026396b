#include "manager/agent_client.h"

#include <httplib.h>

#include "core/crypto/secret.h"

namespace coffer::manager {
namespace {

using nlohmann::json;

void WipeString(std::string& s) {
  if (!s.empty()) Wipe(s.data(), s.size());
}

// The agent's error JSON: {"error": {"code", "message", "field"}}, as
// "field: agent URL: message" (the field first, where the REST layer looks
// for it) or "agent URL: message".
std::string ErrorText(const std::string& url, const std::string& body) {
  std::string field, message;
  try {
    json j = json::parse(body);
    const json& e = j.at("error");
    message = e.value("message", std::string("(no message)"));
    if (e.contains("field") && e["field"].is_string()) field = e["field"].get<std::string>();
  } catch (const std::exception&) {
    message = body.substr(0, 200);
  }
  std::string text = "agent " + url + ": " + message;
  return field.empty() ? text : field + ": " + text;
}

Error ReplyError(const std::string& url, int status, const std::string& body) {
  const std::string text = ErrorText(url, body);
  switch (status) {
    case 400:
    case 413:
      return Error(ErrorCode::kInvalidArgument, text);
    case 401:
    case 403:
      return Error(ErrorCode::kAuthFailed, "agent " + url + " refused the manager's token");
    case 404:
      return Error(ErrorCode::kNotFound, text);
    case 409:
      return Error(ErrorCode::kConflict, text);
    case 429:
      return Error(ErrorCode::kResourceExhausted, text);
    default:
      if (status >= 500) return Error(ErrorCode::kUnavailable, text);
      return Error(ErrorCode::kInternal, text + " (HTTP " + std::to_string(status) + ")");
  }
}

uint64_t U64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

}  // namespace

Result<AgentJob> ParseAgentJob(std::string_view body) {
  try {
    json j = json::parse(body);
    AgentJob job;
    job.id = j.at("id").get<std::string>();
    job.kind = j.value("kind", std::string());
    job.state = j.at("state").get<std::string>();
    if (j.contains("attempt") && j["attempt"].is_number_integer()) {
      job.attempt = j["attempt"].get<int64_t>();
    }
    if (auto a = j.find("awaiting_commit"); a != j.end() && a->is_boolean()) {
      job.awaiting_commit = a->get<bool>();
    }
    if (auto p = j.find("progress"); p != j.end() && p->is_object()) {
      job.total_bytes = U64(*p, "total_bytes");
      job.done_bytes = U64(*p, "done_bytes");
      job.new_bytes = U64(*p, "new_bytes");
      job.bytes_per_second = U64(*p, "bytes_per_second");
      if (p->contains("elapsed_seconds") && (*p)["elapsed_seconds"].is_number()) {
        job.elapsed_seconds = (*p)["elapsed_seconds"].get<double>();
      }
    }
    if (auto r = j.find("result"); r != j.end()) job.result = *r;
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      job.error_code = e->value("code", std::string());
      job.error_message = e->value("message", std::string());
    }
    if (auto l = j.find("log"); l != j.end()) job.log = *l;
    return job;
  } catch (const std::exception& e) {
    return Internal(std::string("the agent's answer is not a job: ") + e.what());
  }
}

Result<AgentClient::Reply> AgentClient::Call(const AgentEndpoint& agent, const char* method,
                                             const std::string& path, std::string* body) {
  httplib::Client cli(agent.url);
  if (!cli.is_valid()) return InvalidArgument("agent URL " + agent.url + " is not usable");
  const auto t = options_.timeout;
  const auto sec = std::chrono::duration_cast<std::chrono::seconds>(t);
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(t - sec);
  cli.set_connection_timeout(sec.count(), usec.count());
  cli.set_read_timeout(sec.count(), usec.count());
  cli.set_write_timeout(sec.count(), usec.count());
  if (!options_.ca_file.empty()) cli.set_ca_cert_path(options_.ca_file);
  httplib::Headers headers = {{"Authorization", "Bearer " + agent.token.Reveal()}};
  const std::string m = method;
  httplib::Result res =
      m == "GET" ? cli.Get(path, headers)
                 : cli.Post(path, headers, body ? *body : std::string(), "application/json");
  WipeString(headers.begin()->second);
  if (body) WipeString(*body);
  if (!res) {
    return Unavailable("agent " + agent.url + " did not answer " + m + " " + path + ": " +
                       httplib::to_string(res.error()));
  }
  return Reply{res->status, std::move(res->body)};
}

Result<AgentJob> AgentClient::StartBackup(const AgentEndpoint& agent, std::string body) {
  COFFER_ASSIGN_OR_RETURN(Reply r, Call(agent, "POST", "/v1/storage/backup", &body));
  if (r.status != 202 && r.status != 200)
    return std::unexpected(ReplyError(agent.url, r.status, r.body));
  return ParseAgentJob(r.body);
}

Result<AgentJob> AgentClient::StartRestore(const AgentEndpoint& agent, std::string body) {
  COFFER_ASSIGN_OR_RETURN(Reply r, Call(agent, "POST", "/v1/storage/restore", &body));
  if (r.status != 202 && r.status != 200)
    return std::unexpected(ReplyError(agent.url, r.status, r.body));
  return ParseAgentJob(r.body);
}

Result<AgentJob> AgentClient::GetJob(const AgentEndpoint& agent, std::string_view job_id) {
  COFFER_ASSIGN_OR_RETURN(Reply r,
                          Call(agent, "GET", "/v1/storage/jobs/" + std::string(job_id), nullptr));
  if (r.status != 200) return std::unexpected(ReplyError(agent.url, r.status, r.body));
  return ParseAgentJob(r.body);
}

Status AgentClient::CancelJob(const AgentEndpoint& agent, std::string_view job_id) {
  std::string empty;
  COFFER_ASSIGN_OR_RETURN(
      Reply r, Call(agent, "POST", "/v1/storage/jobs/" + std::string(job_id) + "/cancel", &empty));
  if (r.status == 202 || r.status == 200 || r.status == 409) return {};
  return std::unexpected(ReplyError(agent.url, r.status, r.body));
}

Status AgentClient::CommitJob(const AgentEndpoint& agent, std::string_view job_id,
                              int64_t attempt) {
  std::string body = json{{"attempt", attempt}}.dump();
  COFFER_ASSIGN_OR_RETURN(
      Reply r, Call(agent, "POST", "/v1/storage/jobs/" + std::string(job_id) + "/commit", &body));
  if (r.status == 200) return {};
  return std::unexpected(ReplyError(agent.url, r.status, r.body));
}

Status AgentClient::AbandonJob(const AgentEndpoint& agent, std::string_view job_id,
                               const std::string& reason) {
  std::string body = json{{"reason", reason}}.dump();
  COFFER_ASSIGN_OR_RETURN(
      Reply r, Call(agent, "POST", "/v1/storage/jobs/" + std::string(job_id) + "/abandon", &body));
  if (r.status == 200 || r.status == 409) return {};  // 409: it ended already
  return std::unexpected(ReplyError(agent.url, r.status, r.body));
}

Status AgentClient::Ping(const AgentEndpoint& agent) {
  COFFER_ASSIGN_OR_RETURN(Reply r, Call(agent, "GET", "/healthz", nullptr));
  if (r.status != 200) return std::unexpected(ReplyError(agent.url, r.status, r.body));
  return {};
}

}  // namespace coffer::manager
