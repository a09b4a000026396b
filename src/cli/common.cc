#include "cli/common.h"

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "base/text.h"
#include "core/crypto/secret.h"
#include "store/target_address.h"

namespace coffer::cli {

void AddTargetFlags(CLI::App* cmd, TargetFlags* flags) {
  cmd->add_option("-t,--target", flags->target,
                  "where the target is: a directory, file://PATH or s3://BUCKET/PREFIX")
      ->required()
      ->envname("COFFER_TARGET");
  cmd->add_option("--s3-endpoint", flags->s3_endpoint,
                  "S3 endpoint URL, e.g. http://127.0.0.1:9000 (default: AWS)");
  cmd->add_option("--s3-region", flags->s3_region, "S3 region (default: AWS_REGION or us-east-1)");
  cmd->add_option(
         "--s3-connections", flags->s3_connections,
         "S3 requests in flight at most (default " + std::to_string(flags->s3_connections) + ")")
      ->check(CLI::Range(1, 256));
  const CLI::Validator rate(
      [](std::string& text) -> std::string {
        auto v = ParseSize(text);
        return v ? std::string() : v.error().message();
      },
      "RATE");
  cmd->add_option("--limit-upload", flags->limit_upload,
                  "upload at most RATE bytes per second, e.g. 10M (K, M, G are powers of 1024; "
                  "default: no limit)")
      ->check(rate);
  cmd->add_option("--limit-download", flags->limit_download,
                  "download at most RATE bytes per second, e.g. 10M (default: no limit)")
      ->check(rate);
  cmd->add_option("--passphrase-file", flags->passphrase_file,
                  "read the passphrase from the first line of this file "
                  "(else COFFER_PASSPHRASE, else a prompt)");
  AddJsonFlag(cmd, &flags->json);
}

void AddLockWaitFlag(CLI::App* cmd, std::string* lock_wait) {
  cmd->add_option("--lock-wait", *lock_wait,
                  "when another process holds the target in a way this verb cannot share (a GC, "
                  "or for gc any backup, restore or check), wait this long for it: 0, 90s, 30m "
                  "(default 0: fail at once, naming the holder)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            auto d = ParseDuration(text);
            return d ? std::string() : d.error().message();
          },
          "DURATION"));
}

Result<std::unique_ptr<TargetLock>> LockTarget(Repository& repo, bool exclusive,
                                               std::string purpose, const std::string& lock_wait) {
  LockRequest request;
  request.exclusive = exclusive;
  request.purpose = std::move(purpose);
  if (!lock_wait.empty()) request.wait = ParseDuration(lock_wait).value_or(std::chrono::seconds(0));
  request.on_wait = [](const std::string& holder) {
    std::fprintf(stderr, "coffer: waiting for %s\n", holder.c_str());
  };
  request.on_removed = [](const LockInfo& gone) {
    std::fprintf(stderr, "coffer: removed %s: %s\n", DescribeLock(gone).c_str(),
                 gone.stale_reason.c_str());
  };
  return TargetLock::Acquire(repo.store(), request);
}

void AddJsonFlag(CLI::App* cmd, bool* json) {
  cmd->add_flag("--json", *json, "print one JSON document on stdout");
}

Failure FromError(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kAuthFailed:
      return {kExitAuth, e.message()};
    case ErrorCode::kCorruption:
      return {kExitIntegrity, e.message()};
    default:
      return {kExitFailure, e.message()};
  }
}

Failure UsageFailure(std::string message) { return {kExitUsage, std::move(message)}; }

int Report(const Failure& f, bool json) {
  std::cerr << "coffer: " << f.message << "\n";
  if (json) {
    PrintJson({{"error", {{"exit_code", f.exit_code}, {"message", f.message}}}});
  }
  return f.exit_code;
}

namespace {

// Reads one line from the terminal without echo.
std::optional<std::string> PromptHidden(const std::string& prompt) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) return std::nullopt;
  int fd = fileno(tty);
  if (!isatty(fd)) {
    std::fclose(tty);
    return std::nullopt;
  }
  std::fputs(prompt.c_str(), tty);
  std::fflush(tty);
  termios old{};
  tcgetattr(fd, &old);
  termios quiet = old;
  quiet.c_lflag &= ~tcflag_t(ECHO);
  tcsetattr(fd, TCSAFLUSH, &quiet);
  std::string line;
  int c;
  while ((c = std::fgetc(tty)) != EOF && c != '\n') line.push_back(char(c));
  tcsetattr(fd, TCSAFLUSH, &old);
  std::fputs("\n", tty);
  std::fclose(tty);
  return line;
}

}  // namespace

std::optional<std::string> ReadPassphrase(const std::string& file, const char* env_var,
                                          const std::string& prompt, bool confirm,
                                          Failure* failure) {
  if (const char* env = std::getenv(env_var); env != nullptr && *env != '\0') return env;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      *failure = {kExitFailure, "cannot read the passphrase file " + file};
      return std::nullopt;
    }
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      *failure = {kExitUsage, "the passphrase file " + file + " is empty"};
      return std::nullopt;
    }
    return line;
  }
  auto first = PromptHidden(prompt);
  if (!first) {
    *failure = UsageFailure(std::string("no passphrase: set ") + env_var +
                            ", pass --passphrase-file, or run on a terminal");
    return std::nullopt;
  }
  if (first->empty()) {
    *failure = UsageFailure("the passphrase is empty");
    return std::nullopt;
  }
  if (confirm) {
    auto second = PromptHidden("Repeat it: ");
    if (!second || *second != *first) {
      *failure = UsageFailure("the passphrases do not match");
      return std::nullopt;
    }
  }
  return first;
}

StoreOptions MakeStoreOptions(const TargetFlags& flags) {
  StoreOptions o;
  o.s3_endpoint = flags.s3_endpoint;
  o.s3_region = flags.s3_region;
  o.s3_connections = flags.s3_connections;
  // Checked when the line was parsed (AddTargetFlags), so value_or is moot.
  if (!flags.limit_upload.empty()) o.limit_upload = ParseSize(flags.limit_upload).value_or(0);
  if (!flags.limit_download.empty()) {
    o.limit_download = ParseSize(flags.limit_download).value_or(0);
  }
  o.metrics = flags.metrics;
  return o;
}

Result<std::unique_ptr<ObjectStore>> OpenTargetStore(const TargetFlags& flags, bool create) {
  StoreOptions o = MakeStoreOptions(flags);
  o.create = create;
  return OpenStore(flags.target, o);
}

std::string TargetLocation(const TargetFlags& flags) {
  auto where = TargetAddress::Parse(flags.target);
  // The target was opened already, so it parses; the text stands in if not.
  return where ? where->Location(flags.s3_endpoint, /*resolve_links=*/true) : flags.target;
}

nlohmann::json RequestStats(const TargetFlags& flags) {
  nlohmann::json requests = nlohmann::json::object();
  for (size_t k = 0; k < kRequestKinds; ++k) {
    auto kind = RequestKind(k);
    requests[std::string(RequestKindName(kind))] = flags.metrics->requests(kind);
  }
  return {{"requests", requests}, {"retries", flags.metrics->retries()}};
}

std::variant<std::unique_ptr<Repository>, Failure> OpenRepository(const TargetFlags& flags) {
  auto store = OpenTargetStore(flags, false);
  if (!store) return FromError(store.error().WithContext("target " + flags.target));
  auto config = Repository::Probe(**store);
  if (!config) return FromError(config.error());
  Failure failure{kExitFailure, ""};
  auto passphrase = ReadPassphrase(flags.passphrase_file, "COFFER_PASSPHRASE",
                                   "Passphrase for " + flags.target + ": ", false, &failure);
  if (!passphrase) return failure;
  auto repo = Repository::Open(std::move(*store), *passphrase);
  Wipe(passphrase->data(), passphrase->size());
  if (!repo) return FromError(repo.error());
  return std::move(*repo);
}

ProgressLine::ProgressLine(const Progress& progress, std::string label)
    : progress_(progress), label_(std::move(label)) {
  if (isatty(STDERR_FILENO)) thread_ = std::thread([this] { Loop(); });
}

ProgressLine::~ProgressLine() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

void ProgressLine::Loop() {
  auto start = std::chrono::steady_clock::now();
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    uint64_t done = progress_.done, total = progress_.total;
    std::string line = label_ + " " + FormatBytes(done);
    if (total > 0) {
      line += " / " + FormatBytes(total) + " (" + std::to_string(done * 100 / total) + "%)";
    }
    line += "  " + FormatRate(done, secs);
    if (total > done && done > 0 && secs > 0.5) {
      double eta = secs * double(total - done) / double(done);
      line += "  ETA " + std::to_string(int64_t(eta + 0.5)) + "s";
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  }
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

std::string FormatRate(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB/s", double(bytes) / 1e6 / seconds);
  return buf;
}

}  // namespace coffer::cli
