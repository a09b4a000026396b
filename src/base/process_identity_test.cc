#include "base/process_identity.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace coffer {
namespace {

TEST(ProcessIdentityTest, ATagNamesTheProcessAndParsesBack) {
  const ProcessIdentity& self = ProcessIdentity::Self();
  EXPECT_EQ(self.pid, ::getpid());
  EXPECT_GT(self.pid_start, 0u);
  auto back = ProcessIdentity::FromTag(self.Tag());
  ASSERT_TRUE(back.has_value()) << self.Tag();
  EXPECT_EQ(back->pid, self.pid);
  EXPECT_EQ(back->pid_start, self.pid_start);
  for (const char* bad :
       {"", "0123456789abcdef", "0123456789abcdef-01234567-12", "0123456789abcdeX-01234567-12-3",
        "0123456789abcdef-01234567-x-3", "0123456789abcdef-01234567-0-3"}) {
    EXPECT_FALSE(ProcessIdentity::FromTag(bad).has_value()) << bad;
  }
}

TEST(ProcessIdentityTest, OnlyAProcessOfThisHostThatExitedIsProvablyGone) {
  const ProcessIdentity& self = ProcessIdentity::Self();
  EXPECT_EQ(WhyProcessGone(self, self), "");

  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  ProcessIdentity other = self;
  other.pid = child;
  other.pid_start = ProcessStartTime(child);
  EXPECT_EQ(WhyProcessGone(other, self), "") << "it runs";
  ProcessIdentity reused = other;
  reused.pid_start = other.pid_start + 1;
  EXPECT_NE(WhyProcessGone(reused, self).find("another process"), std::string::npos);
  ProcessIdentity rebooted = other;
  rebooted.boot_id = "another boot";
  EXPECT_EQ(WhyProcessGone(rebooted, self), "its host was restarted since");

  // Killed and not yet reaped: a zombie, exited all the same.
  ::kill(child, SIGKILL);
  for (int i = 0; i < 1000 && WhyProcessGone(other, self).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_NE(WhyProcessGone(other, self).find("has exited"), std::string::npos);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_NE(WhyProcessGone(other, self).find("has exited"), std::string::npos);
  // Another host's process cannot be looked at.
  ProcessIdentity elsewhere = other;
  elsewhere.host_id = "another host";
  EXPECT_EQ(WhyProcessGone(elsewhere, self), "");
  // In the form tags give, the same judgement.
  auto tagged_self = ProcessIdentity::FromTag(self.Tag());
  auto tagged_other = ProcessIdentity::FromTag(other.Tag());
  ASSERT_TRUE(tagged_self && tagged_other);
  EXPECT_NE(WhyProcessGone(*tagged_other, *tagged_self).find("has exited"), std::string::npos);
  EXPECT_EQ(WhyProcessGone(*tagged_self, *tagged_self), "");
}

}  // namespace
}  // namespace coffer
