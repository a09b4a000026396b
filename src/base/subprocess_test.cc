#include "base/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

namespace coffer {
namespace {

SubprocessOptions Sh(const std::string& script, std::chrono::milliseconds timeout = {}) {
  SubprocessOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.env = {"PATH=/usr/bin:/bin", "GREETING=hello"};
  o.timeout = timeout;
  return o;
}

TEST(SubprocessTest, CapturesBothStreamsTheExitCodeAndOnlyTheGivenEnvironment) {
  auto r = RunSubprocess(Sh("echo out $GREETING; echo err >&2; echo ${HOME:-nohome}; exit 3"));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out hello\nnohome\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->ok());
}

// Running, not a zombie (an orphan may wait long to be reaped in a container).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

TEST(SubprocessTest, TimeoutKillsTheWholeProcessGroup) {
  auto started = std::chrono::steady_clock::now();
  // The shell and its child both ignore nothing; the sleeping child must die too.
  // The timeout leaves the shell time to print the pid on a loaded machine.
  auto r = RunSubprocess(Sh("sleep 30 & echo $! ; wait", std::chrono::milliseconds(2000)));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  pid_t helper = pid_t(std::stoi(r->out));
  for (int i = 0; i < 50 && Alive(helper); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Alive(helper)) << "the hook's helper survived its timeout";
}

TEST(SubprocessTest, TermIgnoringChildIsKilled) {
  // 2 s: the shell must have set its trap before the TERM comes.
  auto r = RunSubprocess(Sh("trap '' TERM; sleep 30", std::chrono::milliseconds(2000)));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
}

TEST(SubprocessTest, ADaemonHoldingThePipesDoesNotBlockCollection) {
  auto started = std::chrono::steady_clock::now();
  auto r = RunSubprocess(Sh("setsid sleep 3 & echo started"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "started\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(SubprocessTest, OutputBeyondTheLimitIsDroppedNotBlocking) {
  SubprocessOptions o = Sh("head -c 3000000 /dev/zero; echo done >&2");
  o.max_output = 1000;
  auto r = RunSubprocess(o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->err, "done\n");
}

TEST(SubprocessTest, CancelStopsTheChild) {
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto r = RunSubprocess(Sh("sleep 30"), &cancel);
  t.join();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->cancelled);
}

TEST(SubprocessTest, MissingProgramIsNotFound) {
  SubprocessOptions o;
  o.argv = {"/nonexistent/program"};
  auto r = RunSubprocess(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace coffer
