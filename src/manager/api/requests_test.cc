#include "manager/api/requests.h"

#include <gtest/gtest.h>

namespace coffer::manager::api {
namespace {

using nlohmann::json;

// A stand-in for AgentService::CheckUrl.
Status HttpOnly(const std::string& url) {
  if (url.starts_with("http://") || url.starts_with("https://")) return {};
  return InvalidArgument("url: must be http(s)://host[:port]");
}

TEST(RequestsTest, ATargetBodyIsReadAndItsSecretsWiped) {
  json body = {{"name", "offsite"},
               {"address", "s3://bucket/p"},
               {"s3_access_key_id", "AK"},
               {"s3_secret_access_key", "secret"},
               {"passphrase", "correct horse"},
               {"gc_hour", 4}};
  auto r = ReadCreateTarget(body);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->name, "offsite");
  EXPECT_EQ(r->gc_hour, 4);
  EXPECT_NE(body["s3_secret_access_key"], "secret");
  EXPECT_NE(body["passphrase"], "correct horse");
}

TEST(RequestsTest, TheFirstProblemNamesItsField) {
  json body = {{"name", "n"}, {"address", "/srv/b"}, {"passphrase", "p"}, {"gc_hour", 24}};
  auto r = ReadCreateTarget(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field(), "gc_hour");

  auto v = ReadNewVolume(json{{"name", "db"},
                              {"agent_id", "a"},
                              {"backend", "file"},
                              {"locator", "/x"},
                              {"hooks", {{"timeout_seconds", 0}}}});
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().field(), "hooks.timeout_seconds");

  json agent = {{"name", "h"}, {"url", "ftp://h"}, {"token", "0123456789abcdef"}};
  auto a = ReadNewAgent(agent, HttpOnly);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().field(), "url");
  EXPECT_EQ(a.error().message(), "url: must be http(s)://host[:port]");
  json injected = {{"name", "h"}, {"url", "http://h/"}, {"token", "0123456789abcdef\r\nX: y"}};
  auto b = ReadNewAgent(injected, HttpOnly);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().field(), "token");
  json good = {{"name", "h"}, {"url", "http://h:8081/"}, {"token", "0123456789abcdef"}};
  auto c = ReadNewAgent(good, HttpOnly);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->url, "http://h:8081");
}

TEST(RequestsTest, PatchesKeepWhatTheBodyDoesNotGive) {
  meta::VolumeHooks hooks{"snap", "unsnap", 60};
  auto p = ReadVolumePatch(json{{"hooks", {{"timeout_seconds", 90}}}}, hooks);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->hooks);
  EXPECT_EQ(p->hooks->pre_backup_command, "snap");
  EXPECT_EQ(p->hooks->timeout_seconds, 90);

  meta::VolumeSchedule current{"target-1", "0 3 * * *", 7};
  auto s = ReadVolumeSchedule(json{{"backup_retain_count", 9}}, current);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backup_target_id, "target-1");
  EXPECT_EQ(s->backup_retain_count, 9);
  auto cleared = ReadVolumeSchedule(json{{"backup_target_id", nullptr}}, current);
  ASSERT_TRUE(cleared);
  EXPECT_FALSE(cleared->backup_target_id);
}

}  // namespace
}  // namespace coffer::manager::api
