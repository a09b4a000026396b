// ProcessIdentity: who a process is, in terms another process can judge
// later — whether it is provably gone. Locks in a target (engine/lock.h) and
// the local store's temporary files (store/local/local_store.h) carry the
// identity of their writer, so that a later command can remove what a dead
// writer left without guessing from ages alone.
//
// A writer is provably gone, judged by a reader, only when both are on the
// same host (same host id: the machine id joined with the PID namespace, so
// two containers on one machine never judge each other's processes) and
// either the host was restarted since (another boot id), or no process of
// that id runs (or it is a zombie: it has exited, and only its exit status
// waits for its parent), or the process of that id started at another time
// (the id was reused). A writer on another host cannot be looked at and is
// never provably gone.
//
// Thread safety: Self() is computed once, thread-safely; the rest is
// reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coffer {

struct ProcessIdentity {
  std::string host;     // the host name, for people
  std::string host_id;  // machine id and PID namespace, or COFFER_HOST_ID
  std::string boot_id;  // /proc/sys/kernel/random/boot_id
  int64_t pid = 0;
  uint64_t pid_start = 0;  // the process's start time, clock ticks after boot; 0: unknown

  // This process. The host id is /etc/machine-id (else the host name)
  // joined with the PID namespace; COFFER_HOST_ID replaces it (tests, or
  // hosts that share a machine id).
  static const ProcessIdentity& Self();

  // A short name-safe form ("<16 hex>-<8 hex>-<pid>-<start>": a hash of the
  // host id, one of the boot id, the pid and its start time) for file names,
  // where the full host id does not fit.
  std::string Tag() const;
  // The identity a Tag() describes, with the hashes standing in for the
  // host and boot ids; nullopt if `tag` is not one.
  static std::optional<ProcessIdentity> FromTag(std::string_view tag);
};

// Why `writer` is provably gone, judged by `reader` (normally Self(), or
// Self()'s FromTag(Tag()) to judge another tag), or "" when it may still run.
// Compares host and boot ids for equality only, so both sides must be in the
// same form (full, or from tags).
std::string WhyProcessGone(const ProcessIdentity& writer, const ProcessIdentity& reader);

// The start time of `pid` (field 22 of /proc/PID/stat); 0 when the process
// does not exist or cannot be read.
uint64_t ProcessStartTime(int64_t pid);

}  // namespace coffer
