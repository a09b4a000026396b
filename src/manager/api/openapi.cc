// GET /v1/openapi.json: the OpenAPI 3.0 document of the manager's API, built
// once. docs/API.md ("Manager API") says the same in prose.
#include <map>
#include <nlohmann/json.hpp>

#include "manager/api/server.h"

namespace coffer::manager::api {

nlohmann::json OpenApiSchemas();  // openapi_schemas.cc

namespace {

using nlohmann::json;

json Ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

json Content(const json& schema) { return {{"application/json", {{"schema", schema}}}}; }

json ListOf(const char* key, const char* item) {
  return {{"type", "object"}, {"properties", {{key, {{"type", "array"}, {"items", Ref(item)}}}}}};
}

json PathId(const char* what) {
  return {{"name", "id"},
          {"in", "path"},
          {"required", true},
          {"schema", {{"type", "string"}}},
          {"description", what}};
}

json Query(const char* name, const char* what, json schema = {{"type", "string"}}) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"schema", schema},
          {"description", what}};
}

// An operation: summary, tag, its success answer, and the errors it gives.
json Op(const char* summary, const char* tag, int ok, const json& ok_schema,
        std::initializer_list<int> errors, const json& body = nullptr,
        const json& params = json::array()) {
  json responses;
  const std::string ok_text = ok == 204 ? "done, no body" : ok == 202 ? "accepted" : "ok";
  responses[std::to_string(ok)] = {{"description", ok_text}};
  if (!ok_schema.is_null()) responses[std::to_string(ok)]["content"] = Content(ok_schema);
  for (int e : errors) {
    static const std::map<int, const char*> kText = {
        {400, "malformed JSON or an invalid field (named in error.field)"},
        {401, "missing or wrong bearer token"},
        {404, "no such resource"},
        {409, "conflicts with the current state (a name taken, still referenced, running)"},
        {413, "body larger than the manager accepts"},
        {422,
         "the target (or agent) cannot be reached, refuses the credentials "
         "(error.s3_error_code) or speaks another protocol (error.field names what to fix)"},
        {429, "the agent runs as many jobs as it may; retry later"},
        {502, "an agent refused the manager (its token)"},
        {503, "an agent or the database cannot be reached"}};
    responses[std::to_string(e)] = {{"description", kText.at(e)},
                                    {"content", Content(Ref("Error"))}};
  }
  json op = {{"summary", summary}, {"tags", {tag}}, {"responses", responses}};
  if (!body.is_null()) op["requestBody"] = {{"required", true}, {"content", Content(body)}};
  if (!params.empty()) op["parameters"] = params;
  return op;
}

void SystemPaths(json& p) {
  p["/healthz"]["get"] = Op("liveness (no token needed)", "system", 200, {{"type", "object"}}, {});
  p["/healthz"]["get"]["security"] = json::array();
  p["/readyz"]["get"] = Op("readiness: the metadata database answers (no token needed)", "system",
                           200, {{"type", "object"}}, {503});
  p["/readyz"]["get"]["security"] = json::array();
  p["/metrics"]["get"] =
      Op("Prometheus metrics (text format 0.0.4)", "system", 200, nullptr, {401});
  p["/v1/openapi.json"]["get"] = Op("this document", "system", 200, {{"type", "object"}}, {401});
}

void TargetPaths(json& p) {
  p["/v1/backup_targets"]["post"] =
      Op("create a target: probe it (write, read, delete an object), initialise its layout "
         "and first key slot",
         "targets", 201, Ref("BackupTarget"), {400, 401, 409, 413, 422}, Ref("BackupTargetCreate"));
  p["/v1/backup_targets"]["get"] =
      Op("list targets", "targets", 200, ListOf("backup_targets", "BackupTarget"), {401});
  json tid = json::array({PathId("target id")});
  p["/v1/backup_targets/{id}"]["get"] =
      Op("one target", "targets", 200, Ref("BackupTarget"), {401, 404}, nullptr, tid);
  p["/v1/backup_targets/{id}"]["patch"] =
      Op("change name, connection (re-probed), GC hour or grace", "targets", 200,
         Ref("BackupTarget"), {400, 401, 404, 409, 413, 422}, Ref("BackupTargetPatch"), tid);
  p["/v1/backup_targets/{id}"]["delete"] =
      Op("unregister a target (its objects stay); 409 while backups reference it unless "
         "force=true, which removes their rows",
         "targets", 204, nullptr, {400, 401, 404, 409}, nullptr,
         json::array({PathId("target id"),
                      Query("force", "true: also remove its backup rows", {{"type", "boolean"}})}));
  p["/v1/backup_targets/{id}/gc"]["post"] =
      Op("start a GC of the target now; 409 while a backup of it runs", "targets", 202,
         Ref("GcRun"), {401, 404, 409}, nullptr, tid);
  p["/v1/backup_targets/{id}/gc_runs"]["get"] =
      Op("GC history, newest first", "targets", 200, ListOf("gc_runs", "GcRun"), {400, 401, 404},
         nullptr,
         json::array(
             {PathId("target id"), Query("limit", "at most this many", {{"type", "integer"}})}));
}

void AgentAndVolumePaths(json& p) {
  p["/v1/agents"]["post"] = Op("register an agent", "agents", 201, Ref("Agent"),
                               {400, 401, 409, 413, 422}, Ref("AgentCreate"));
  p["/v1/agents"]["get"] = Op("list agents", "agents", 200, ListOf("agents", "Agent"), {401});
  json aid = json::array({PathId("agent id")});
  p["/v1/agents/{id}"]["get"] =
      Op("one agent", "agents", 200, Ref("Agent"), {401, 404}, nullptr, aid);
  p["/v1/agents/{id}"]["patch"] = Op("change name, URL or token", "agents", 200, Ref("Agent"),
                                     {400, 401, 404, 409, 413, 422}, Ref("AgentPatch"), aid);
  p["/v1/agents/{id}"]["delete"] = Op("unregister an agent; 409 while volumes use it", "agents",
                                      204, nullptr, {401, 404, 409}, nullptr, aid);

  p["/v1/volumes"]["post"] = Op("register a volume", "volumes", 201, Ref("Volume"),
                                {400, 401, 409, 413}, Ref("VolumeCreate"));
  p["/v1/volumes"]["get"] = Op("list volumes", "volumes", 200, ListOf("volumes", "Volume"), {401});
  json vid = json::array({PathId("volume id")});
  p["/v1/volumes/{id}"]["get"] =
      Op("one volume, with its next scheduled runs and the restore that made it", "volumes", 200,
         Ref("Volume"), {401, 404}, nullptr, vid);
  p["/v1/volumes/{id}"]["patch"] =
      Op("change name, locator, size or hooks", "volumes", 200, Ref("Volume"),
         {400, 401, 404, 409, 413}, Ref("VolumePatch"), vid);
  p["/v1/volumes/{id}"]["delete"] = Op("unregister a volume; 409 while it has backups", "volumes",
                                       204, nullptr, {401, 404, 409}, nullptr, vid);
  p["/v1/volumes/{id}/backup_schedule"]["patch"] =
      Op("set cron (validated), retain count and target; answers with the next run times",
         "volumes", 200, Ref("Volume"), {400, 401, 404, 413}, Ref("BackupSchedule"), vid);
  p["/v1/volumes/{id}/backup"]["post"] = Op("start a backup now", "volumes", 202, Ref("Backup"),
                                            {400, 401, 404, 409, 429, 502, 503}, nullptr, vid);
}

void BackupPaths(json& p) {
  p["/v1/backups"]["get"] =
      Op("list backups, newest first", "backups", 200, ListOf("backups", "Backup"), {400, 401},
         nullptr,
         json::array({Query("volume_id", "only this volume's"),
                      Query("target_id",
                            "only this "
                            "target's"),
                      Query("status", "running, completed or failed"),
                      Query("limit", "at most this many", {{"type", "integer"}})}));
  json bid = json::array({PathId("backup id")});
  p["/v1/backups/{id}"]["get"] = Op("one backup; live progress from the agent while running",
                                    "backups", 200, Ref("Backup"), {401, 404}, nullptr, bid);
  p["/v1/backups/{id}"]["delete"] =
      Op("delete a backup: its manifest object first, then its row; 409 while running", "backups",
         204, nullptr, {401, 404, 409, 422}, nullptr, bid);
  json restore_answer = Ref("Volume");
  p["/v1/backups/{id}/restore"]["post"] =
      Op("restore into a new volume; answers with the volume, whose restore field tracks the "
         "agent job",
         "backups", 202, restore_answer, {400, 401, 404, 409, 413, 429, 502, 503},
         Ref("RestoreCreate"), bid);
  p["/v1/restores"]["get"] =
      Op("list restores, newest first", "backups", 200, ListOf("restores", "Restore"), {400, 401},
         nullptr,
         json::array({Query("volume_id", "only those into this volume"),
                      Query("state", "running, completed or failed"),
                      Query("limit", "at most this many", {{"type", "integer"}})}));
  p["/v1/restores/{id}"]["get"] =
      Op("one restore, with live progress while running", "backups", 200, Ref("Restore"),
         {401, 404}, nullptr, json::array({PathId("restore id")}));
}

json Paths() {
  json p;
  SystemPaths(p);
  TargetPaths(p);
  AgentAndVolumePaths(p);
  BackupPaths(p);
  return p;
}

}  // namespace

const std::string& OpenApiDocument() {
  static const std::string doc = [] {
    json d = {
        {"openapi", "3.0.3"},
        {"info",
         {{"title", "Coffer manager API"},
          {"version", "1"},
          {"description", "Backups of block volumes, driven over REST. See docs/API.md."}}},
        {"servers", json::array({{{"url", "/"}}})},
        {"security", json::array({{{"bearer", json::array()}}})},
        {"paths", Paths()},
        {"components",
         {{"securitySchemes",
           {{"bearer",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"description",
               "the admin token printed at the first start, or "
               "COFFER_ADMIN_TOKEN"}}}}},
          {"schemas", OpenApiSchemas()}}},
    };
    return d.dump(2);
  }();
  return doc;
}

}  // namespace coffer::manager::api
