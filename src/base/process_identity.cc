#include "base/process_identity.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/subprocess.h"

namespace coffer {
namespace {

std::string FirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// The fields of /proc/PID/stat after the command name (which may hold
// spaces and parentheses, so they start after the last ')'): the first is
// field 3, the state. Empty when the process does not exist.
std::string StatFields(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return "";
  size_t close = stat.rfind(')');
  return close == std::string::npos ? "" : stat.substr(close + 1);
}

// FNV-1a, 64 bits: stable across builds and versions, which std::hash is
// not promised to be, so a tag written by one build is judged alike by
// another. Not a defence against anyone: host ids are not secret, and a
// collision only makes a writer on another host look like one on this host.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= uint8_t(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string Hex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, (unsigned long long)v);
  return std::string(buf, size_t(digits));
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

uint64_t ProcessStartTime(int64_t pid) {
  std::istringstream fields(StatFields(pid));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return 0;
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

const ProcessIdentity& ProcessIdentity::Self() {
  static const ProcessIdentity self = [] {
    ProcessIdentity o;
    o.host = HostName();
    if (const char* id = std::getenv("COFFER_HOST_ID"); id != nullptr && *id != '\0') {
      o.host_id = id;
    } else {
      std::string machine = FirstLine("/etc/machine-id");
      if (machine.empty()) machine = o.host;
      char ns[64] = {};
      ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
      o.host_id = machine + (n > 0 ? "/" + std::string(ns, size_t(n)) : "");
    }
    o.boot_id = FirstLine("/proc/sys/kernel/random/boot_id");
    o.pid = ::getpid();
    o.pid_start = ProcessStartTime(o.pid);
    return o;
  }();
  return self;
}

std::string ProcessIdentity::Tag() const {
  return Hex(Fnv1a(host_id), 16) + "-" + Hex(Fnv1a(boot_id) >> 32, 8) + "-" + std::to_string(pid) +
         "-" + std::to_string(pid_start);
}

std::optional<ProcessIdentity> ProcessIdentity::FromTag(std::string_view tag) {
  // host(16 hex) - boot(8 hex) - pid - start
  if (tag.size() < 16 + 1 + 8 + 1 + 1 + 1 + 1 || tag[16] != '-' || tag[25] != '-') {
    return std::nullopt;
  }
  ProcessIdentity p;
  p.host_id = std::string(tag.substr(0, 16));
  p.boot_id = std::string(tag.substr(17, 8));
  if (!IsHex(p.host_id) || !IsHex(p.boot_id)) return std::nullopt;
  std::string_view rest = tag.substr(26);
  size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view pid = rest.substr(0, dash), start = rest.substr(dash + 1);
  auto parse = [](std::string_view s, auto* out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  if (!parse(pid, &p.pid) || !parse(start, &p.pid_start) || p.pid <= 0) return std::nullopt;
  return p;
}

std::string WhyProcessGone(const ProcessIdentity& writer, const ProcessIdentity& reader) {
  if (writer.host_id.empty() || writer.host_id != reader.host_id) return "";
  if (!writer.boot_id.empty() && !reader.boot_id.empty() && writer.boot_id != reader.boot_id) {
    return "its host was restarted since";
  }
  const std::string pid = "process " + std::to_string(writer.pid) + " on this host";
  if (!ProcessExists(writer.pid)) return pid + " has exited";
  std::istringstream fields(StatFields(writer.pid));
  std::string state;
  if (fields >> state && (state == "Z" || state == "X")) return pid + " has exited";
  if (writer.pid_start != 0) {
    uint64_t start = ProcessStartTime(writer.pid);
    if (start != 0 && start != writer.pid_start) {
      return pid + " has exited (its id now belongs to another process)";
    }
  }
  return "";
}

}  // namespace coffer
