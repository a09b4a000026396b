// JobLog: the lines a job reports to whoever polls it (steps taken, hook
// output, the error). Bounded: past kMaxBytes the oldest lines after the
// first few are dropped and counted, so a chatty hook cannot grow the agent.
// Never given secrets: callers log locators redacted and no key material.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace coffer::agent {

class JobLog {
 public:
  static constexpr size_t kMaxBytes = 256 << 10;
  static constexpr size_t kKeepHead = 20;  // the first lines say how the job began

  // Adds "2026-11-24T04:20:58Z <text>".
  void Add(const std::string& text);
  // Adds each line of `output` as "<prefix>: <line>".
  void AddOutput(const std::string& prefix, const std::string& output);
  std::vector<std::string> Lines() const;

 private:
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
  size_t bytes_ = 0;
  size_t dropped_ = 0;
};

}  // namespace coffer::agent
