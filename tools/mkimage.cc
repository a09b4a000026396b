// coffer-mkimage: makes deterministic VM-disk-like test images and changes
// them in clustered regions (see image.h and mutate.h for what the bytes
// are). Used by the end-to-end tests, `make demo` and bench/compare.
//
// Exit codes: 0 success, 1 I/O error, 2 usage error.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/text.h"
#include "image.h"
#include "mutate.h"

namespace coffer::tools {
namespace {

constexpr std::string_view kUsage =
    "usage: coffer-mkimage create --size SIZE [--seed N] [--sparse] [--list] OUT\n"
    "       coffer-mkimage mutate --percent P [--seed N] [--list] FILE\n"
    "\n"
    "create  writes a VM-disk-like image of exactly SIZE bytes (4096, 256K, 1M, 2G):\n"
    "        extents of 64 KiB-64 MiB, about 30 % random, 25 % log-like text, 30 % zeros\n"
    "        and 15 % copies of earlier data at 4 KiB-aligned offsets. --sparse leaves\n"
    "        the zero extents as holes. OUT is created or truncated.\n"
    "mutate  rewrites about P % (0 < P <= 100, e.g. 1 or 0.5) of FILE in place:\n"
    "        extents of 64 KiB-2 MiB plus scattered 4 KiB writes in a few hot zones;\n"
    "        prints what it changed on stderr.\n"
    "--seed  any unsigned 64-bit number (default 1); the same seed and size give the\n"
    "        same bytes on every machine.\n"
    "--list  also print what was written on stdout, one extent per line:\n"
    "        OFFSET LENGTH KIND (create: random, text, zeros, repeated;\n"
    "        mutate: random or text, then 'extent' or 'scattered')\n"
    "\n"
    "exit codes: 0 success, 1 I/O error, 2 usage error\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "coffer-mkimage: %s\n%.*s", message.c_str(), int(kUsage.size()),
               kUsage.data());
  return 2;
}

// "--name value" or "--name=value" options, "--flag" flags and positional
// arguments, in any order.
struct Args {
  std::map<std::string, std::string> options;
  std::vector<std::string> flags;
  std::vector<std::string> positional;
};

std::optional<std::string> ParseArgs(int argc, char** argv, int first,
                                     const std::vector<std::string>& valued,
                                     const std::vector<std::string>& flags, Args* out) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() < 2 || a.compare(0, 2, "--") != 0 || a == "--") {
      if (a == "--") {
        for (++i; i < argc; ++i) out->positional.push_back(argv[i]);
        break;
      }
      if (a.size() > 1 && a[0] == '-') return "unknown option '" + a + "'";
      out->positional.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      if (has_value) return "option '" + name + "' takes no value";
      out->flags.push_back(name);
    } else if (std::find(valued.begin(), valued.end(), name) != valued.end()) {
      if (!has_value) {
        if (i + 1 >= argc) return "option '" + name + "' needs a value";
        value = argv[++i];
      }
      out->options[name] = value;
    } else {
      return "unknown option '" + name + "'";
    }
  }
  return std::nullopt;
}

bool HasFlag(const Args& args, const std::string& flag) {
  return std::find(args.flags.begin(), args.flags.end(), flag) != args.flags.end();
}

std::optional<uint64_t> ParseSeed(const std::string& s) {
  uint64_t v = 0;
  int base = 10;
  std::string_view t = s;
  if (t.starts_with("0x") || t.starts_with("0X")) {
    t.remove_prefix(2);
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

std::string Percent(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", whole ? 100.0 * double(part) / double(whole) : 0.0);
  return buf;
}

int Create(int argc, char** argv) {
  Args args;
  if (auto err = ParseArgs(argc, argv, 2, {"--size", "--seed"}, {"--sparse", "--list"}, &args)) {
    return Usage(*err);
  }
  if (!args.options.contains("--size")) return Usage("create needs --size");
  if (args.positional.size() != 1) return Usage("create needs exactly one OUT path");
  auto size = ParseSize(args.options["--size"]);
  if (!size) return Usage("--size: " + size.error().message());
  uint64_t seed = 1;
  if (args.options.contains("--seed")) {
    auto s = ParseSeed(args.options["--seed"]);
    if (!s) return Usage("--seed '" + args.options["--seed"] + "' is not an unsigned number");
    seed = *s;
  }
  const bool sparse = HasFlag(args, "--sparse");
  const std::string& out = args.positional[0];
  auto stats = CreateImage(out, *size, seed, sparse);
  if (!stats) {
    std::fprintf(stderr, "coffer-mkimage: %s\n", stats.error().message().c_str());
    return 1;
  }
  if (HasFlag(args, "--list")) {
    for (const Extent& e : PlanImage(*size, seed)) {
      std::printf("%llu %llu %s\n", (unsigned long long)e.offset, (unsigned long long)e.length,
                  ExtentKindName(e.kind));
    }
  }
  std::string kinds;
  for (size_t k = 0; k < kExtentKinds; ++k) {
    kinds += std::string(k ? ", " : "") + ExtentKindName(ExtentKind(k)) + " " +
             Percent(stats->bytes[k], *size);
  }
  std::fprintf(stderr,
               "coffer-mkimage: wrote %s: %s (%llu bytes), %zu extents: %s%s; seed %llu, "
               "%.2f s\n",
               out.c_str(), FormatBytes(*size).c_str(), (unsigned long long)*size, stats->extents,
               kinds.c_str(), sparse ? " (zeros as holes)" : "", (unsigned long long)seed,
               stats->seconds);
  return 0;
}

int Mutate(int argc, char** argv) {
  Args args;
  if (auto err = ParseArgs(argc, argv, 2, {"--percent", "--seed"}, {"--list"}, &args)) {
    return Usage(*err);
  }
  if (!args.options.contains("--percent")) return Usage("mutate needs --percent");
  if (args.positional.size() != 1) return Usage("mutate needs exactly one FILE");
  const std::string& ptext = args.options["--percent"];
  double percent = 0;
  auto [ptr, ec] = std::from_chars(ptext.data(), ptext.data() + ptext.size(), percent);
  if (ec != std::errc() || ptr != ptext.data() + ptext.size() || !(percent > 0) || percent > 100) {
    return Usage("--percent '" + ptext + "' must be a number in (0, 100]");
  }
  uint64_t seed = 1;
  if (args.options.contains("--seed")) {
    auto s = ParseSeed(args.options["--seed"]);
    if (!s) return Usage("--seed '" + args.options["--seed"] + "' is not an unsigned number");
    seed = *s;
  }
  const std::string& file = args.positional[0];
  auto plan = MutateImage(file, percent, seed);
  if (!plan) {
    std::fprintf(stderr, "coffer-mkimage: %s\n", plan.error().message().c_str());
    return 1;
  }
  if (HasFlag(args, "--list")) {
    for (const MutationWrite& w : plan->writes) {
      std::printf("%llu %llu %s %s\n", (unsigned long long)w.offset, (unsigned long long)w.length,
                  w.text ? "text" : "random", w.scattered ? "scattered" : "extent");
    }
  }
  std::fprintf(stderr,
               "coffer-mkimage: mutated %s: changed %s (%llu bytes) in %zu extents of "
               "64 KiB-2 MiB and %zu scattered 4 KiB blocks in %zu hot zones; seed %llu\n",
               file.c_str(), FormatBytes(plan->bytes).c_str(), (unsigned long long)plan->bytes,
               plan->extents, plan->scattered_blocks, plan->hot_zones, (unsigned long long)seed);
  return 0;
}

}  // namespace
}  // namespace coffer::tools

int main(int argc, char** argv) {
  using namespace coffer::tools;
  if (argc < 2) return Usage("missing command");
  std::string_view cmd = argv[1];
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h" || (i == 1 && a == "help")) {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
  }
  if (cmd == "create") return Create(argc, argv);
  if (cmd == "mutate") return Mutate(argc, argv);
  return Usage("unknown command '" + std::string(cmd) + "'");
}
