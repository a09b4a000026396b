#include "store/s3/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "base/shared_library.h"

namespace coffer {
namespace {

// The libcurl functions this file calls, bound on first use: the library
// is loaded then, not at start-up (base/shared_library.h says why), by the
// soname of the one these headers came with (cmake/LoadedLibrary.cmake).
// clang-format off
#define COFFER_CURL_FUNCTIONS(X) \
  X(curl_easy_cleanup)           \
  X(curl_easy_getinfo)           \
  X(curl_easy_init)              \
  X(curl_easy_perform)           \
  X(curl_easy_reset)             \
  X(curl_easy_setopt)            \
  X(curl_easy_strerror)          \
  X(curl_global_init)            \
  X(curl_slist_append)           \
  X(curl_slist_free_all)
// clang-format on

COFFER_LIBRARY_FUNCTIONS(Curl, COFFER_CURL_FUNCTIONS);

LibraryTable<Curl> libcurl(COFFER_LIBCURL_SONAME, COFFER_LIBCURL_PACKAGE, "S3 targets");

// Loads libcurl and initialises it, once.
Status LoadAndInit() {
  COFFER_RETURN_IF_ERROR(libcurl.Load());
  static std::once_flag once;
  std::call_once(once, [] { libcurl->curl_global_init(CURL_GLOBAL_DEFAULT); });
  return {};
}

struct Transfer {
  ByteView body;
  size_t sent = 0;
  HttpResponse* response = nullptr;
  Buffer* sink = nullptr;
  CURL* curl = nullptr;
  bool to_sink = false;  // decided at the first body byte, from the status
  bool decided = false;
};

size_t ReadBody(char* dest, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = std::min(size * nmemb, t->body.size() - t->sent);
  if (n > 0) std::memcpy(dest, t->body.data() + t->sent, n);
  t->sent += n;
  return n;
}

int SeekBody(void* userdata, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userdata);
  if (origin != SEEK_SET || offset < 0 || size_t(offset) > t->body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->sent = size_t(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = size * nmemb;
  if (!t->decided) {
    long status = 0;
    libcurl->curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    t->to_sink = t->sink != nullptr && status >= 200 && status < 300;
    t->decided = true;
  }
  if (!t->to_sink) {
    t->response->body.append(data, n);
    return n;
  }
  Buffer* b = t->sink;
  if (b->size() + n > b->capacity()) b->Reserve(std::max(b->size() + n, b->capacity() * 2));
  std::memcpy(b->data() + b->size(), data, n);
  b->set_size(b->size() + n);
  return n;
}

size_t ReadHeader(char* data, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = size * nitems;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();  // a new response (after 100 Continue, a redirect)
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (name == "content-length" && t->sink != nullptr) {
    // Size the sink once instead of growing it as the body arrives.
    uint64_t len = std::strtoull(std::string(value).c_str(), nullptr, 10);
    if (len > 0 && len < (uint64_t(1) << 34)) t->sink->Reserve(size_t(len));
  }
  t->response->headers.emplace_back(std::move(name), std::string(value));
  return n;
}

Error CurlError(CURLcode code, const char* detail, std::string_view method,
                const std::string& url) {
  std::string msg = std::string(method) + " " + url + ": " +
                    (detail[0] ? detail : libcurl->curl_easy_strerror(code)) + " (curl " +
                    std::to_string(int(code)) + ")";
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
      return Error(ErrorCode::kInvalidArgument, msg);
    case CURLE_OUT_OF_MEMORY:
      return Error(ErrorCode::kResourceExhausted, msg);
    default:
      // Resolution, connection, send/receive failures, timeouts, stalls and
      // bodies cut short: the network or the server may do better next time.
      return Error(ErrorCode::kUnavailable, msg);
  }
}

}  // namespace

std::string HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {}

HttpClient::~HttpClient() {
  for (void* h : idle_) libcurl->curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < std::max(1, options_.max_connections); });
  if (!idle_.empty()) {
    void* h = idle_.back();
    idle_.pop_back();
    return h;
  }
  ++open_;
  lock.unlock();
  CURL* h = libcurl->curl_easy_init();
  if (h == nullptr) {
    std::lock_guard relock(mu_);
    --open_;
    cv_.notify_one();
  }
  return h;
}

void HttpClient::Release(void* handle) {
  std::lock_guard lock(mu_);
  idle_.push_back(handle);
  cv_.notify_one();
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& req) {
  COFFER_RETURN_IF_ERROR(LoadAndInit());
  CURL* curl = static_cast<CURL*>(Acquire());
  if (curl == nullptr) return ResourceExhausted("cannot create a curl handle");
  // Keeps the handle's connection cache; clears the last request's options.
  libcurl->curl_easy_reset(curl);

  HttpResponse response;
  Transfer t{req.body, 0, &response, req.sink, curl};
  if (req.sink != nullptr) req.sink->set_size(0);
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers)
    headers = libcurl->curl_slist_append(headers, (k + ": " + v).c_str());
  headers = libcurl->curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  libcurl->curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  libcurl->curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  libcurl->curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  libcurl->curl_easy_setopt(curl, CURLOPT_USERAGENT, "coffer/0.1");
  libcurl->curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  libcurl->curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                            long(options_.connect_timeout.count()));
  libcurl->curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  libcurl->curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                            std::max(1L, long((options_.stall_timeout.count() + 999) / 1000)));
  libcurl->curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!options_.ca_file.empty())
    libcurl->curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  libcurl->curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  libcurl->curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  libcurl->curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  libcurl->curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);

  if (req.method == "HEAD") {
    libcurl->curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    libcurl->curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "PUT" || req.method == "POST") {
    libcurl->curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    libcurl->curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(req.method).c_str());
    libcurl->curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    libcurl->curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    libcurl->curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, SeekBody);
    libcurl->curl_easy_setopt(curl, CURLOPT_SEEKDATA, &t);
    libcurl->curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(req.body.size()));
  } else {
    libcurl->curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(req.method).c_str());
  }

  CURLcode rc = libcurl->curl_easy_perform(curl);
  libcurl->curl_slist_free_all(headers);
  if (rc == CURLE_OK) libcurl->curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  Release(curl);
  if (rc != CURLE_OK) return std::unexpected(CurlError(rc, errbuf, req.method, req.url));
  return response;
}

}  // namespace coffer
