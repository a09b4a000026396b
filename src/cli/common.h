// What every CLI verb shares: the target options, the passphrase sources,
// opening the repository, the exit codes of DESIGN §9, the progress line and
// JSON output.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "base/error.h"
#include "engine/lock.h"
#include "engine/progress.h"
#include "engine/repository.h"
#include "store/open_store.h"

namespace coffer::cli {

// Exit codes (DESIGN §9).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitAuth = 3;
inline constexpr int kExitIntegrity = 4;

// Options common to the verbs that work on a target.
struct TargetFlags {
  std::string target;
  std::string s3_endpoint;
  std::string s3_region;
  int s3_connections = StoreOptions{}.s3_connections;
  std::string limit_upload, limit_download;  // "10M": bytes per second; validated by CLI11
  std::string passphrase_file;
  std::string lock_wait;  // --lock-wait, for the verbs that lock the target
  bool json = false;
  // The requests the verb sends to the target, by kind, and their retries:
  // OpenTargetStore wires it in, RequestStats reads it.
  std::shared_ptr<StoreMetrics> metrics = std::make_shared<StoreMetrics>();
};

// Adds --target, --s3-endpoint, --s3-region, --s3-connections,
// --limit-upload, --limit-download, --passphrase-file and --json. A rate
// that ParseSize rejects is a usage error (exit 2) when the line is parsed.
void AddTargetFlags(CLI::App* cmd, TargetFlags* flags);
// Adds --lock-wait (for the verbs that lock the target): how long to wait
// for a holder of an incompatible lock before giving up.
void AddLockWaitFlag(CLI::App* cmd, std::string* lock_wait);

// Takes the target's lock (engine/lock.h) for `purpose`, waiting up to
// `lock_wait` (a duration; "" or "0": not at all) and saying on stderr what
// it waits for and which locks of gone processes it removed.
Result<std::unique_ptr<TargetLock>> LockTarget(Repository& repo, bool exclusive,
                                               std::string purpose, const std::string& lock_wait);

// Adds only --json (for verbs without a target).
void AddJsonFlag(CLI::App* cmd, bool* json);

// An error the CLI reports: the message and the exit code it maps to.
struct Failure {
  int exit_code;
  std::string message;
};
Failure FromError(const Error& e);
Failure UsageFailure(std::string message);

// Reports a failure on stderr ("coffer: …"), and as {"error": …} on stdout
// with --json. Returns the exit code.
int Report(const Failure& f, bool json);

// The passphrase: COFFER_PASSPHRASE, else --passphrase-file, else a prompt
// on the terminal. `confirm` asks twice (init, new key slots).
std::optional<std::string> ReadPassphrase(const std::string& file, const char* env_var,
                                          const std::string& prompt, bool confirm,
                                          Failure* failure);

StoreOptions MakeStoreOptions(const TargetFlags& flags);
Result<std::unique_ptr<ObjectStore>> OpenTargetStore(const TargetFlags& flags, bool create);

// Where the target is, for telling apart copies of one target (a directory
// and the bucket it was synced to share the target uuid): the canonical
// directory path, or "<endpoint> s3://bucket/prefix" ("aws" for no endpoint).
std::string TargetLocation(const TargetFlags& flags);

// {"requests": {"put": …, "get": …, every kind, zeros included}, "retries": N}
// for the --json output of a verb, from flags.metrics.
nlohmann::json RequestStats(const TargetFlags& flags);

// Opens the target, asking for the passphrase only once the target was
// found (so a typo in --target is reported before a prompt).
std::variant<std::unique_ptr<Repository>, Failure> OpenRepository(const TargetFlags& flags);

// Prints a progress line (bytes, rate, ETA) on stderr while alive, if stderr
// is a terminal; clears it on destruction.
class ProgressLine {
 public:
  ProgressLine(const Progress& progress, std::string label);
  ~ProgressLine();

 private:
  void Loop();
  const Progress& progress_;
  std::string label_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Prints the JSON document on stdout, with a newline.
void PrintJson(const nlohmann::json& j);

// "123.4 MB/s"
std::string FormatRate(uint64_t bytes, double seconds);

}  // namespace coffer::cli
