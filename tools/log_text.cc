#include "log_text.h"

#include <array>
#include <cstring>
#include <string_view>

namespace coffer::tools {
namespace {

// Message templates. Placeholders:
//   {N3} {N1-6}  decimal digits re-drawn on every line (length fixed per pool line)
//   {n3} {n1-6}  decimal digits drawn once, when the pool line is made
//   {X8} {x8}    hex digits, re-drawn / drawn once
//   {B22}        base64url characters, re-drawn (session ids, signatures, key fingerprints)
//   {user} {path} {word} {table} {status} {level}  drawn once
//   {pid} {ip}   partly re-drawn (a 3-5 digit pid; the host part of 10.x.y.z)
constexpr std::array<std::string_view, 20> kTemplates = {
    "nginx[{pid}]: {ip} - - \"GET {path} HTTP/1.1\" {status} {N2-5} \"-\" "
    "\"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/118.0\" rt=0.{N3} "
    "req={X16} sig={B32}",
    "kernel: [{N5}.{N6}] EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: "
    "none.",
    "postgres[{pid}]: [{N1-3}-1] LOG:  duration: {N1-3}.{N3} ms  statement: SELECT id, name, "
    "updated_at FROM {table} WHERE id = {N1-6} AND tenant = '{B12}'",
    "app[{pid}]: {level} request_id={X16} trace_id={X32} method=POST path={path} status={status} "
    "bytes={N2-5} duration_ms={N1-3} session={B32}",
    "systemd[1]: Started Session {N1-5} of User {user}.",
    "CRON[{pid}]: ({user}) CMD (/usr/local/bin/{word}-sync.sh --quiet >/dev/null 2>&1)",
    "dockerd[{pid}]: time=\"2026-11-24T04:20:58.{N9}Z\" level=info msg=\"Container {X12} ({B16}) "
    "health "
    "status changed to healthy\"",
    "backup[{pid}]: {level} job {N1-6} finished: {N1-5} files, {N1-4} MiB in {N1-3} s, "
    "snapshot {X8} token={B22}",
    "kernel: [{N5}.{N6}] eth0: rx {N7-9} bytes {N1-4} packets, tx {N7-9} bytes {N1-4} packets",
    "sshd[{pid}]: Connection closed by authenticating user {user} {ip} port {N5} [preauth]",
    "redis-server[{pid}]: {N1-5}:M 24 Nov 2026 04:20:58.{N3} * DB saved on disk, {N1-6} keys",
    "app[{pid}]: {level} cache hit ratio 0.{N2} over {N1-6} requests, evicted {N1-3} entries, "
    "shard {B8}",
    "app[{pid}]: {level} upstream {ip}:{n4} timed out after {N1-4} ms (attempt {N1} of 5) "
    "span={X16}",
    "kubelet[{pid}]: I1124 04:20:58.{N6} {N1-5} kubelet.go:{n4}] \"SyncLoop (PLEG): event for "
    "pod\" pod=\"default/{word}-{X10}-{X5}\" event=ContainerStarted data={B22}",
    "smartd[{pid}]: Device: /dev/sda [SAT], SMART Usage Attribute: 194 Temperature_Celsius changed "
    "from {N2} to {N2}",
    "audit[{pid}]: type=SYSCALL msg=audit({N10}.{N3}:{N1-6}): arch=c000003e syscall={N1-3} "
    "success=yes exit=0 uid={n1-4} comm=\"{word}\" key={B12}",
    "sshd[{pid}]: Accepted publickey for {user} from {ip} port {N5} ssh2: ED25519 SHA256:{B43}",
    "app[{pid}]: {level} user={user} action=update object={table}/{N1-6} version={N1-3} "
    "etag={B22}",
    "chronyd[{pid}]: Selected source {ip} (ntp.example.org), offset -0.000{N3} seconds",
    "app[{pid}]: {level} GET {path} -> {status} in {N1-3}.{N2} ms (cache={word}) id={X12} "
    "auth={B16}",
};

constexpr std::array<std::string_view, 12> kHosts = {"web-01", "web-02",   "web-03",    "db-01",
                                                     "db-02",  "cache-01", "app-01",    "app-02",
                                                     "app-03", "ci-01",    "backup-01", "lb-01"};
constexpr std::array<std::string_view, 12> kUsers = {"root",     "alice",    "bob",     "deploy",
                                                     "postgres", "www-data", "carol",   "dave",
                                                     "backup",   "nagios",   "jenkins", "mallory"};
constexpr std::array<std::string_view, 12> kPaths = {
    "/api/v1/items",  "/api/v1/users/me", "/static/app.js",   "/healthz",
    "/api/v2/orders", "/login",           "/metrics",         "/api/v1/search?q=disk",
    "/favicon.ico",   "/api/v1/volumes",  "/assets/logo.png", "/api/v1/backups/latest"};
constexpr std::array<std::string_view, 10> kWords = {"billing", "frontend", "worker", "ingest",
                                                     "report",  "mailer",   "resize", "export",
                                                     "auth",    "gc"};
constexpr std::array<std::string_view, 8> kTables = {"users",    "orders", "items",   "sessions",
                                                     "invoices", "events", "volumes", "audit_log"};
constexpr std::array<std::string_view, 8> kStatus = {"200", "200", "200", "200",
                                                     "304", "404", "201", "500"};
constexpr std::array<std::string_view, 8> kLevels = {"INFO",  "INFO",  "INFO", "INFO",
                                                     "DEBUG", "DEBUG", "WARN", "ERROR"};

constexpr char kHex[] = "0123456789abcdef";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

template <size_t N>
std::string_view Pick(Xoshiro256& rng, const std::array<std::string_view, N>& a) {
  return a[rng.Below(N)];
}

void AppendDigits(Xoshiro256& rng, std::string& out, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    out.push_back(char(i == 0 && len > 1 ? '1' + rng.Below(9) : '0' + rng.Below(10)));
  }
}

// Parses "3" or "1-6" into a length drawn from the range.
size_t DrawLength(Xoshiro256& rng, std::string_view spec) {
  size_t dash = spec.find('-');
  auto num = [](std::string_view s) {
    size_t v = 0;
    for (char c : s) v = v * 10 + size_t(c - '0');
    return v;
  };
  if (dash == std::string_view::npos) return num(spec);
  return rng.Between(num(spec.substr(0, dash)), num(spec.substr(dash + 1)));
}

LogTextPool::Line MakeLine(Xoshiro256& rng) {
  LogTextPool::Line line;
  std::string& s = line.text;
  s.assign(LogTextStream::kTimestampLength, 'T');
  s += ' ';
  s += Pick(rng, kHosts);
  s += ' ';
  std::string_view t = kTemplates[rng.Below(kTemplates.size())];
  while (!t.empty()) {
    size_t open = t.find('{');
    s += t.substr(0, open);
    if (open == std::string_view::npos) break;
    size_t close = t.find('}', open);
    std::string_view ph = t.substr(open + 1, close - open - 1);
    t.remove_prefix(close + 1);
    auto field = [&](size_t len, LogTextPool::FieldKind kind) {
      line.fields.push_back({uint16_t(s.size()), uint8_t(len), kind});
      s.append(len, '0');
    };
    if (ph == "ip") {
      // The network is fixed per pool line, the host varies per line.
      s += "10." + std::to_string(rng.Below(8)) + ".";
      field(rng.Between(1, 3), LogTextPool::kDecimal);
      s += '.';
      field(rng.Between(1, 3), LogTextPool::kDecimal);
    } else if (ph == "user") {
      s += Pick(rng, kUsers);
    } else if (ph == "path") {
      s += Pick(rng, kPaths);
    } else if (ph == "word") {
      s += Pick(rng, kWords);
    } else if (ph == "table") {
      s += Pick(rng, kTables);
    } else if (ph == "status") {
      s += Pick(rng, kStatus);
    } else if (ph == "level") {
      s += Pick(rng, kLevels);
    } else if (ph == "pid") {
      field(rng.Between(3, 5), LogTextPool::kDecimal);
    } else if (ph[0] == 'N' || ph[0] == 'X' || ph[0] == 'B') {
      field(DrawLength(rng, ph.substr(1)), ph[0] == 'N'   ? LogTextPool::kDecimal
                                           : ph[0] == 'X' ? LogTextPool::kHex
                                                          : LogTextPool::kBase64);
    } else if (ph[0] == 'n') {
      AppendDigits(rng, s, DrawLength(rng, ph.substr(1)));
    } else if (ph[0] == 'x') {
      size_t len = DrawLength(rng, ph.substr(1));
      for (size_t i = 0; i < len; ++i) s += kHex[rng.Below(16)];
    }
  }
  s += '\n';
  return line;
}

// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = int(int64_t(yoe) + era * 400 + (*m <= 2));
}

void PutDigits(char* out, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = char('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

LogTextPool::LogTextPool(uint64_t seed, size_t lines) {
  Xoshiro256 rng(SubSeed(seed, 0x6c6f67 /* "log" */, 0));
  lines_.reserve(lines);
  for (size_t i = 0; i < lines; ++i) lines_.push_back(MakeLine(rng));
}

LogTextStream::LogTextStream(const LogTextPool& pool, uint64_t seed) : pool_(&pool), rng_(seed) {
  // Somewhere in November 2026, so that streams of different extents differ.
  clock_us_ = (1793491200ull + rng_.Below(30 * 86400)) * 1000000ull;
}

void LogTextStream::WriteTimestamp(char* out) {
  const uint64_t secs = clock_us_ / 1000000;
  const int64_t day = int64_t(secs / 86400);
  if (day != day_) {
    int y;
    unsigned m, d;
    CivilFromDays(day, &y, &m, &d);
    PutDigits(date_, uint64_t(y), 4);
    date_[4] = '-';
    PutDigits(date_ + 5, m, 2);
    date_[7] = '-';
    PutDigits(date_ + 8, d, 2);
    date_[10] = 'T';
    day_ = day;
  }
  std::memcpy(out, date_, 11);
  const uint64_t sod = secs % 86400;
  PutDigits(out + 11, sod / 3600, 2);
  out[13] = ':';
  PutDigits(out + 14, sod / 60 % 60, 2);
  out[16] = ':';
  PutDigits(out + 17, sod % 60, 2);
  out[19] = '.';
  PutDigits(out + 20, clock_us_ % 1000000, 6);
  out[26] = 'Z';
}

void LogTextStream::NextLine() {
  const auto& lines = pool_->lines();
  const LogTextPool::Line& src = lines[rng_.Below(lines.size())];
  line_.assign(src.text);
  clock_us_ += rng_.Below(40000);
  WriteTimestamp(line_.data());
  for (const auto& f : src.fields) {
    char* p = line_.data() + f.offset;
    uint64_t r = rng_.Next();
    switch (f.kind) {
      case LogTextPool::kHex:
        for (size_t i = 0; i < f.length; ++i, r >>= 4) {
          if (i % 16 == 15) r = rng_.Next();
          p[i] = kHex[r & 15];
        }
        break;
      case LogTextPool::kBase64:
        for (size_t i = 0; i < f.length; ++i, r >>= 6) {
          if (i % 10 == 9) r = rng_.Next();
          p[i] = kBase64[r & 63];
        }
        break;
      case LogTextPool::kDecimal:
        for (size_t i = 0; i < f.length; ++i, r /= 10) {
          if (i % 19 == 18) r = rng_.Next();
          p[i] = char('0' + r % 10);
        }
        if (f.length > 1 && p[-1] != '.' && p[0] == '0') p[0] = '1';
        break;
    }
  }
  line_pos_ = 0;
}

void LogTextStream::Fill(uint8_t* out, size_t n) {
  while (n > 0) {
    if (line_pos_ == line_.size()) NextLine();
    size_t take = std::min(n, line_.size() - line_pos_);
    std::memcpy(out, line_.data() + line_pos_, take);
    line_pos_ += take;
    out += take;
    n -= take;
  }
}

}  // namespace coffer::tools
