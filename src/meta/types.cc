#include "meta/types.h"

namespace coffer::meta {

SecretString& SecretString::operator=(const SecretString& o) {
  if (this != &o) {
    Clear();
    s_ = o.s_;
  }
  return *this;
}

SecretString& SecretString::operator=(SecretString&& o) noexcept {
  if (this != &o) {
    Clear();
    s_ = o.s_;
    o.Clear();
  }
  return *this;
}

void SecretString::Clear() noexcept {
  Wipe(s_.data(), s_.size());
  s_.clear();
}

namespace {

template <typename E, size_t N>
Result<E> ParseName(std::string_view s, const std::pair<E, std::string_view> (&names)[N],
                    std::string_view what) {
  for (const auto& [value, name] : names) {
    if (s == name) return value;
  }
  return InvalidArgument("unknown " + std::string(what) + " '" + std::string(s) + "'");
}

template <typename E, size_t N>
std::string_view NameOf(E e, const std::pair<E, std::string_view> (&names)[N]) {
  for (const auto& [value, name] : names) {
    if (e == value) return name;
  }
  return "unknown";
}

constexpr std::pair<BackupStatus, std::string_view> kBackupStatuses[] = {
    {BackupStatus::kRunning, "running"},
    {BackupStatus::kCompleted, "completed"},
    {BackupStatus::kFailed, "failed"}};
constexpr std::pair<GcRunStatus, std::string_view> kGcStatuses[] = {
    {GcRunStatus::kRunning, "running"},
    {GcRunStatus::kCompleted, "completed"},
    {GcRunStatus::kFailed, "failed"}};
constexpr std::pair<RestoreState, std::string_view> kRestoreStates[] = {
    {RestoreState::kRunning, "running"},
    {RestoreState::kCompleted, "completed"},
    {RestoreState::kFailed, "failed"}};
constexpr std::pair<LeaseKind, std::string_view> kLeaseKinds[] = {{LeaseKind::kBackup, "backup"},
                                                                  {LeaseKind::kGc, "gc"}};

}  // namespace

std::string_view ToString(VolumeBackend b) { return BackendName(b); }
std::string_view ToString(BackupStatus s) { return NameOf(s, kBackupStatuses); }
std::string_view ToString(GcRunStatus s) { return NameOf(s, kGcStatuses); }
std::string_view ToString(LeaseKind k) { return NameOf(k, kLeaseKinds); }
std::string_view ToString(RestoreState s) { return NameOf(s, kRestoreStates); }

Result<VolumeBackend> ParseVolumeBackend(std::string_view s) { return ParseBackend(s); }
Result<BackupStatus> ParseBackupStatus(std::string_view s) {
  return ParseName(s, kBackupStatuses, "backup status");
}
Result<GcRunStatus> ParseGcRunStatus(std::string_view s) {
  return ParseName(s, kGcStatuses, "GC run status");
}
Result<RestoreState> ParseRestoreState(std::string_view s) {
  return ParseName(s, kRestoreStates, "restore state");
}
Result<LeaseKind> ParseLeaseKind(std::string_view s) {
  return ParseName(s, kLeaseKinds, "lease kind");
}

}  // namespace coffer::meta
