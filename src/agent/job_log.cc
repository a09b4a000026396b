#include "agent/job_log.h"

#include "base/text.h"

namespace coffer::agent {

void JobLog::Add(const std::string& text) {
  std::string line = FormatRfc3339(UnixNow()) + " " + text;
  std::lock_guard lock(mu_);
  bytes_ += line.size();
  lines_.push_back(std::move(line));
  while (bytes_ > kMaxBytes && lines_.size() > kKeepHead + 1) {
    bytes_ -= lines_[kKeepHead].size();
    lines_.erase(lines_.begin() + kKeepHead);
    ++dropped_;
  }
}

void JobLog::AddOutput(const std::string& prefix, const std::string& output) {
  size_t pos = 0;
  while (pos < output.size()) {
    size_t nl = output.find('\n', pos);
    if (nl == std::string::npos) nl = output.size();
    Add(prefix + ": " + output.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

std::vector<std::string> JobLog::Lines() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out(lines_.begin(), lines_.end());
  if (dropped_ > 0) {
    out.insert(out.begin() + std::ptrdiff_t(std::min(out.size(), kKeepHead)),
               "… " + std::to_string(dropped_) + " lines dropped (log limit) …");
  }
  return out;
}

}  // namespace coffer::agent
