// Every message of the agent protocol goes to JSON and back unchanged; an
// unknown, missing or mistyped field is an error naming its path.
#include "agent_api/protocol.h"

#include <gtest/gtest.h>

namespace coffer::agent_api {
namespace {

TargetSpec S3Target() {
  TargetSpec t;
  t.address = "s3://bucket/prefix";
  t.s3_endpoint = "http://127.0.0.1:9000";
  t.s3_region = "eu-west-1";
  t.s3_credentials = AwsCredentials{"AKID", "secret-key", "session"};
  t.key = SecretKey::Random();
  return t;
}

void ExpectSameTarget(const TargetSpec& a, const TargetSpec& b) {
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.s3_endpoint, b.s3_endpoint);
  EXPECT_EQ(a.s3_region, b.s3_region);
  ASSERT_EQ(a.s3_credentials.has_value(), b.s3_credentials.has_value());
  if (a.s3_credentials) {
    EXPECT_EQ(a.s3_credentials->access_key_id, b.s3_credentials->access_key_id);
    EXPECT_EQ(a.s3_credentials->secret_access_key, b.s3_credentials->secret_access_key);
    EXPECT_EQ(a.s3_credentials->session_token, b.s3_credentials->session_token);
  }
  EXPECT_TRUE(a.key == b.key);
}

BackupReport SomeBackupReport() {
  BackupReport r;
  r.backup_id = Uuid::Random().ToString();
  r.parent_id = Uuid::Random().ToString();
  r.target_id = Uuid::Random().ToString();
  r.volume_id = "vol-1";
  r.volume_name = "vm-disk";
  r.logical_bytes = 1 << 30;
  r.zero_bytes = 12345;
  r.new_bytes = 777;
  r.stored_bytes = 500;
  r.chunks = 1024;
  r.zero_chunks = 3;
  r.new_chunks = 2;
  r.known_chunks = 99;
  r.seconds = 1.25;
  r.commit = {4, 5, 6, 7};
  r.snapshot = "reflink";
  r.requests = {{"put", 10}, {"list", 2}};
  r.retries = 1;
  return r;
}

TEST(AgentProtocolTest, BackupRequestsRoundTripAndWipeTheirSecrets) {
  BackupRequest in;
  in.attempt = 3;
  in.await_commit = true;
  in.backup_id = Uuid::Random();
  in.target = S3Target();
  in.volume = {"vol-1",     "vm", Backend::kNbd,
               "nbd://h/e", true, {"/bin/pre", "/bin/post", std::chrono::seconds(60)}};
  in.zstd_level = 7;
  json j = ToJson(in);
  auto out = ParseBackupRequest(j);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(out->attempt, 3u);
  EXPECT_TRUE(out->await_commit);
  EXPECT_EQ(out->backup_id, in.backup_id);
  ExpectSameTarget(out->target, in.target);
  EXPECT_EQ(out->volume.id, "vol-1");
  EXPECT_EQ(out->volume.name, "vm");
  EXPECT_EQ(out->volume.backend, Backend::kNbd);
  EXPECT_EQ(out->volume.locator, "nbd://h/e");
  EXPECT_TRUE(out->volume.quiescent);
  EXPECT_EQ(out->volume.hooks.pre_backup, "/bin/pre");
  EXPECT_EQ(out->volume.hooks.post_backup, "/bin/post");
  EXPECT_EQ(out->volume.hooks.timeout.count(), 60);
  EXPECT_EQ(out->zstd_level, 7);
  // Parsing wiped the secrets in the document it read.
  const std::string& key = j["target"]["key"].get_ref<const std::string&>();
  EXPECT_EQ(key, std::string(key.size(), '\0'));
  const std::string& secret = j["target"]["s3_secret_access_key"].get_ref<const std::string&>();
  EXPECT_EQ(secret, std::string(secret.size(), '\0'));
}

TEST(AgentProtocolTest, EveryOtherMessageRoundTrips) {
  RestoreRequest rr;
  rr.attempt = 2;
  rr.target.address = "/srv/target";
  rr.target.key = SecretKey::Random();
  rr.backup_id = "abcd1234";
  rr.destination = {"", "restored", Backend::kFile, "/vols/new.img", false, {}};
  json rj = ToJson(rr);
  auto r2 = ParseRestoreRequest(rj);
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->attempt, 2u);
  EXPECT_EQ(r2->backup_id, "abcd1234");
  ExpectSameTarget(r2->target, rr.target);
  EXPECT_EQ(r2->destination.name, "restored");
  EXPECT_EQ(r2->destination.locator, "/vols/new.img");

  EXPECT_EQ(ParseCommitRequest(ToJson(CommitRequest{9}))->attempt, 9u);
  EXPECT_EQ(ParseAbandonRequest(ToJson(AbandonRequest{"stale"}))->reason, "stale");
  Health h;
  h.version = "1.2.3";
  auto h2 = ParseHealth(ToJson(h));
  ASSERT_TRUE(h2);
  EXPECT_EQ(h2->protocol_version, kProtocolVersion);
  EXPECT_EQ(h2->version, "1.2.3");

  BackupReport b = SomeBackupReport();
  auto b2 = ParseBackupReport(ToJson(b));
  ASSERT_TRUE(b2) << b2.error().message();
  EXPECT_EQ(ToJson(*b2), ToJson(b));
  b.parent_id.clear();  // a full backup: null on the wire
  EXPECT_TRUE(ToJson(b)["parent_id"].is_null());
  EXPECT_EQ(ParseBackupReport(ToJson(b))->parent_id, "");

  RestoreReport r{"id", "vm", Backend::kIscsi, "iscsi://h/iqn.x:y/1", 100, 10, 5, 0.5};
  auto r3 = ParseRestoreReport(ToJson(r));
  ASSERT_TRUE(r3) << r3.error().message();
  EXPECT_EQ(ToJson(*r3), ToJson(r));

  JobReport job;
  job.id = "job-1";
  job.kind = JobKind::kBackup;
  job.state = JobState::kCompleted;
  job.attempt = 2;
  job.volume = {"vol-1", "vm", Backend::kFile, "/vols/vm.img", false, {}};
  job.created_at = "2026-12-07T20:00:00Z";
  job.finished_at = "2026-12-07T20:01:00Z";
  job.progress = {100, 100, 7, 50, 2.0};
  job.backup = SomeBackupReport();
  job.log = std::vector<std::string>{"one", "two"};
  auto j2 = ParseJobReport(ToJson(job));
  ASSERT_TRUE(j2) << j2.error().message();
  EXPECT_EQ(ToJson(*j2), ToJson(job));

  JobReport failed = job;
  failed.state = JobState::kFailed;
  failed.backup.reset();
  failed.log.reset();
  failed.error = FieldInvalid("volume.locator", "no such file").error().WithS3Code("NoSuchBucket");
  auto f2 = ParseJobReport(ToJson(failed));
  ASSERT_TRUE(f2) << f2.error().message();
  ASSERT_TRUE(f2->error);
  EXPECT_EQ(f2->error->code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(f2->error->field(), "volume.locator");
  EXPECT_EQ(f2->error->s3_code(), "NoSuchBucket");

  JobReport restore = job;
  restore.kind = JobKind::kRestore;
  restore.backup.reset();
  restore.restore = r;
  JobList list{{job, failed, restore}};
  auto l2 = ParseJobList(ToJson(list));
  ASSERT_TRUE(l2) << l2.error().message();
  EXPECT_EQ(ToJson(*l2), ToJson(list));
}

// Parses `j` as a job report and returns the error's field and message.
std::pair<std::string, std::string> JobError(const json& j) {
  auto r = ParseJobReport(j);
  if (r) return {"(parsed)", ""};
  return {r.error().field(), r.error().message()};
}

TEST(AgentProtocolTest, MissingUnknownAndMistypedFieldsAreNamedNeverZero) {
  JobReport job;
  job.id = "job-1";
  job.state = JobState::kCompleted;
  job.volume = {"v", "v", Backend::kFile, "/v", false, {}};
  job.created_at = "2026-12-07T20:00:00Z";
  job.backup = SomeBackupReport();
  const json good = ToJson(job);
  ASSERT_TRUE(ParseJobReport(good));

  json missing = good;
  missing["result"].erase("new_bytes");
  EXPECT_EQ(JobError(missing), std::make_pair(std::string("result.new_bytes"),
                                              std::string("result.new_bytes: required")));
  json unknown = good;
  unknown["progress"]["eta"] = 5;
  EXPECT_EQ(JobError(unknown).first, "progress.eta");
  EXPECT_EQ(JobError(unknown).second, "progress.eta: unknown field");
  json typed = good;
  typed["result"]["chunks"] = "many";
  EXPECT_EQ(JobError(typed).first, "result.chunks");
  json negative = good;
  negative["progress"]["done_bytes"] = -1;
  EXPECT_EQ(JobError(negative).first, "progress.done_bytes");
  json no_result = good;
  no_result["result"] = nullptr;
  EXPECT_EQ(JobError(no_result).first, "result");
  json no_error = good;
  no_error["state"] = "failed";
  EXPECT_EQ(JobError(no_error).first, "error");
  json bad_state = good;
  bad_state["state"] = "exploded";
  EXPECT_EQ(JobError(bad_state).second, "state: unknown value 'exploded'");
  json bad_backend = good;
  bad_backend["volume"]["backend"] = "ceph";
  EXPECT_EQ(JobError(bad_backend).first, "volume.backend");
  json commit = good;
  commit["result"]["commit"].erase("chunks_restored");
  EXPECT_EQ(JobError(commit).first, "result.commit.chunks_restored");
  json requests = good;
  requests["result"]["requests"]["put"] = "ten";
  EXPECT_EQ(JobError(requests).first, "result.requests.put");
  EXPECT_EQ(JobError(json::array()).first, "id");
  json extra_error = good;
  extra_error["state"] = "failed";
  extra_error["result"] = nullptr;
  extra_error["error"] = {{"code", "internal"}, {"message", "m"}, {"hint", "x"}};
  EXPECT_EQ(JobError(extra_error).first, "error.hint");
  extra_error["error"].erase("hint");
  extra_error["error"].erase("message");
  EXPECT_EQ(JobError(extra_error).first, "error");

  json list = {{"jobs", {good, missing}}};
  auto l = ParseJobList(list);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().message(), "jobs[1].result.new_bytes: required");
}

// Found by fuzz/agent_protocol_fuzz: a failed job whose error object had an
// unknown field and so no message ("messgae") made ParseJobReport read an
// empty optional (the unknown field had already failed the reader, which
// skipped the check that the error was there): a crash of the manager on an
// agent's answer.
TEST(AgentProtocolTest, AJobErrorWithAMisspeltMessageIsNamedNotACrash) {
  JobReport job;
  job.id = "job-1";
  job.state = JobState::kFailed;
  job.volume = {"v", "v", Backend::kFile, "/v", false, {}};
  job.created_at = "2026-12-07T20:00:00Z";
  job.error = Error(ErrorCode::kUnavailable, "SlowDown");
  json bad = ToJson(job);
  ASSERT_TRUE(ParseJobReport(bad));
  bad["error"] = {{"code", "unavailable"}, {"messgae", "SlowDown"}};
  EXPECT_EQ(JobError(bad).first, "error.messgae");
  auto list = ParseJobList(json{{"jobs", {bad}}});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().message(), "jobs[0].error.messgae: unknown field");
}

TEST(AgentProtocolTest, BadRequestsNameTheirField) {
  BackupRequest in;
  in.attempt = 1;
  in.target.address = "/t";
  in.volume = {"v", "v", Backend::kFile, "/v", false, {}};
  const json good = ToJson(in);
  auto error_of = [](json j) {
    auto r = ParseBackupRequest(j);
    return r ? std::string("(parsed)") : r.error().field() + " | " + r.error().message();
  };
  EXPECT_EQ(error_of(good), "(parsed)");
  json j = good;
  j.erase("attempt");
  EXPECT_EQ(error_of(j), "attempt | attempt: required");
  j = good;
  j["target"]["key"] = "abc";
  EXPECT_EQ(error_of(j), "target.key | target.key: must be the target key as 64 hex digits");
  j = good;
  j["target"]["s3_access_key_id"] = "AKID";
  EXPECT_EQ(error_of(j),
            "target.s3_secret_access_key | target.s3_secret_access_key: S3 credentials need both "
            "s3_access_key_id and s3_secret_access_key");
  j = good;
  j["volume"]["backend"] = "ceph";
  EXPECT_EQ(error_of(j),
            "volume.backend | volume.backend: unknown backend 'ceph' (file, iscsi or nbd)");
  j = good;
  j["volume"]["colour"] = "red";
  EXPECT_EQ(error_of(j), "volume.colour | volume.colour: unknown field");
  j = good;
  j["volume"]["hooks"] = {{"timeout_seconds", 90000}};
  EXPECT_EQ(error_of(j),
            "volume.hooks.timeout_seconds | volume.hooks.timeout_seconds: must be "
            "an integer from 0 to 86400");
  j = good;
  j["options"]["zstd_level"] = 22;
  EXPECT_EQ(error_of(j),
            "options.zstd_level | options.zstd_level: must be an integer from 1 to 19");
  j = good;
  j["backup_id"] = "nope";
  EXPECT_EQ(error_of(j), "backup_id | backup_id: must be a full backup uuid");
  j = good;
  j.erase("volume");
  EXPECT_EQ(error_of(j), "volume | volume: required");

  json r = {{"backup_id", "x"},
            {"target", good["target"]},
            {"destination", {{"backend", "file"}, {"locator", "/x"}, {"quiescent", true}}}};
  auto restore = ParseRestoreRequest(r);
  ASSERT_FALSE(restore);
  EXPECT_EQ(restore.error().field(), "destination.quiescent");
  EXPECT_EQ(ParseCommitRequest(json{{"attempt", 0}}).error().field(), "attempt");
  EXPECT_EQ(ParseCommitRequest(json::object()).error().message(), "attempt: required");
  EXPECT_EQ(ParseHealth(json{{"status", "ok"}}).error().field(), "protocol_version");
  EXPECT_EQ(
      ParseHealth(json{{"status", "ok"}, {"protocol_version", 1}, {"uptime", 5}}).error().field(),
      "uptime");
}

}  // namespace
}  // namespace coffer::agent_api
