// Snapshot hooks as real shell commands: the printed locator, the
// environment they see, their output in the job log, failures and timeouts.
#include "agent/hooks.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace coffer::agent {
namespace {

HookContext Ctx(int timeout_seconds = 10) {
  HookContext c;
  c.job_id = "job-1";
  c.volume_id = "vol-7";
  c.volume_name = "db disk";
  c.backend = "nbd";
  c.locator = "nbd://origin/e";
  c.timeout = std::chrono::seconds(timeout_seconds);
  return c;
}

std::string Joined(const JobLog& log) {
  std::string all;
  for (const auto& l : log.Lines()) all += l + "\n";
  return all;
}

TEST(HooksTest, PreHookPrintsTheSnapshotLocatorOnItsLastNonEmptyLine) {
  JobLog log;
  auto r = RunPreHook("echo making a snapshot; echo 'nbd://snap/e'; echo; echo '  ' ", Ctx(), log,
                      nullptr);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, "nbd://snap/e");
  EXPECT_NE(Joined(log).find("pre-backup hook stdout: making a snapshot"), std::string::npos);
}

TEST(HooksTest, HooksSeeTheVolumesFieldsAndNotTheAgentsSecrets) {
  ::setenv("AWS_SECRET_ACCESS_KEY", "canary-secret-in-agent-env", 1);
  JobLog log;
  auto r = RunPreHook(
      "echo \"$COFFER_HOOK|$COFFER_JOB_ID|$COFFER_VOLUME_ID|$COFFER_VOLUME_NAME|$COFFER_BACKEND|"
      "$COFFER_LOCATOR|${AWS_SECRET_ACCESS_KEY:-none}\"",
      Ctx(), log, nullptr);
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "pre-backup|job-1|vol-7|db disk|nbd|nbd://origin/e|none");
  JobLog post_log;
  auto p = RunPostHook("echo \"$COFFER_HOOK $COFFER_SNAPSHOT_LOCATOR\" >&2", Ctx(), "nbd://snap/e",
                       post_log);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(Joined(post_log).find("post-backup hook stderr: post-backup nbd://snap/e"),
            std::string::npos);
}

TEST(HooksTest, NothingPrintedMeansTheVolumesOwnLocator) {
  JobLog log;
  auto r = RunPreHook("true", Ctx(), log, nullptr);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "nbd://origin/e");
}

TEST(HooksTest, AFailingHookIsAClearErrorWithItsLastStderrLine) {
  JobLog log;
  auto r =
      RunPreHook("echo 'lvcreate: volume group vg0 not found' >&2; exit 5", Ctx(), log, nullptr);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(),
            "pre-backup hook failed with exit code 5: lvcreate: volume group vg0 not found");
}

TEST(HooksTest, AHangingHookIsKilledAtItsTimeLimit) {
  JobLog log;
  auto started = std::chrono::steady_clock::now();
  auto r = RunPostHook("echo releasing; sleep 60", Ctx(1), "x", log);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("did not finish within 1 s and was killed"),
            std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_NE(Joined(log).find("post-backup hook stdout: releasing"), std::string::npos);
}

TEST(HooksTest, CancelStopsAPreHook) {
  JobLog log;
  std::atomic<bool> cancel{true};
  auto r = RunPreHook("sleep 30", Ctx(), log, &cancel);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
}

TEST(JobLogTest, KeepsTheFirstLinesAndDropsTheMiddleWhenFull) {
  JobLog log;
  std::string line(1000, 'x');
  for (int i = 0; i < 1000; ++i) log.Add("line " + std::to_string(i) + " " + line);
  auto lines = log.Lines();
  EXPECT_NE(lines[0].find("line 0 "), std::string::npos);
  EXPECT_NE(lines.back().find("line 999 "), std::string::npos);
  EXPECT_NE(lines[JobLog::kKeepHead].find("lines dropped"), std::string::npos);
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  EXPECT_LE(bytes, JobLog::kMaxBytes + 2000);
}

}  // namespace
}  // namespace coffer::agent
