#include "store/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace coffer {
namespace {

using Digest = std::array<uint8_t, 32>;

Digest HmacSha256(ByteView key, std::string_view msg) {
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const uint8_t*>(msg.data()),
       msg.size(), out.data(), &len);
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

// Trims the value and collapses runs of blanks into one space ("Trimall").
std::string TrimAll(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string CanonicalQuery(const HeaderList& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string AmzDate(int64_t unix_time) {
  std::time_t t = std::time_t(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string Sha256Hex(ByteView data) {
  Digest d{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  return HexEncode(d);
}

std::string Md5Base64(ByteView data) {
  uint8_t d[16];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d, &len, EVP_md5(), nullptr);
  unsigned char b64[32];
  int n = EVP_EncodeBlock(b64, d, int(len));
  return std::string(reinterpret_cast<const char*>(b64), size_t(n));
}

SignedRequest SignV4(const SigningRequest& req, const AwsCredentials& creds,
                     std::string_view region, std::string_view service, int64_t unix_time) {
  const std::string amz_date = AmzDate(unix_time);
  const std::string date = amz_date.substr(0, 8);

  SignedRequest out;
  out.headers.emplace_back("X-Amz-Date", amz_date);
  if (req.add_content_sha256_header) {
    out.headers.emplace_back("X-Amz-Content-Sha256", std::string(req.payload_hash));
  }
  if (!creds.session_token.empty()) {
    out.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }

  // Canonical headers: lower-case names, sorted; values of repeated names
  // joined with commas in the order given.
  std::vector<std::pair<std::string, std::string>> all;
  all.emplace_back("host", TrimAll(req.host));
  for (const auto& [k, v] : req.headers) all.emplace_back(Lower(k), TrimAll(v));
  for (const auto& [k, v] : out.headers) all.emplace_back(Lower(k), TrimAll(v));
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0 && all[i].first == all[i - 1].first) {
      canonical_headers.back() = ',';
    } else {
      if (!signed_headers.empty()) signed_headers += ';';
      signed_headers += all[i].first;
      canonical_headers += all[i].first;
      canonical_headers += ':';
    }
    canonical_headers += all[i].second;
    canonical_headers += '\n';
  }

  std::string& cr = out.canonical_request;
  cr += req.method;
  cr += '\n';
  cr += req.encoded_path.empty() ? std::string_view("/") : req.encoded_path;
  cr += '\n';
  cr += CanonicalQuery(req.query);
  cr += '\n';
  cr += canonical_headers;
  cr += '\n';
  cr += signed_headers;
  cr += '\n';
  cr += req.payload_hash;

  const std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  std::string& sts = out.string_to_sign;
  sts = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + Sha256Hex(AsBytes(cr));

  std::string k_secret = "AWS4" + creds.secret_access_key;
  Digest k = HmacSha256(AsBytes(k_secret), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  k = HmacSha256(k, "aws4_request");
  Digest sig = HmacSha256(k, sts);
  std::fill(k_secret.begin(), k_secret.end(), '\0');

  out.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id +
                                                "/" + scope + ", SignedHeaders=" + signed_headers +
                                                ", Signature=" + HexEncode(sig));
  return out;
}

}  // namespace coffer
