#include "service/http_client.h"

#include <httplib.h>

#include "core/crypto/secret.h"
#include "service/http.h"

namespace coffer::service {

std::string HttpReply::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (SameHeaderName(k, name)) return v;
  }
  return "";
}

Result<HttpReply> HttpClient::Call(const std::string& method, const std::string& path,
                                   const std::string& bearer, const std::string* body) {
  // A header value with a CR or LF would add header lines of its own.
  for (unsigned char c : bearer) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument("the token for " + base_url_ +
                             " holds a control character and cannot be sent");
    }
  }
  httplib::Client cli(base_url_);
  if (!cli.is_valid()) return InvalidArgument("URL " + base_url_ + " is not usable");
  const auto t = options_.timeout;
  const auto sec = std::chrono::duration_cast<std::chrono::seconds>(t);
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(t - sec);
  cli.set_connection_timeout(sec.count(), usec.count());
  cli.set_read_timeout(sec.count(), usec.count());
  cli.set_write_timeout(sec.count(), usec.count());
  if (!options_.ca_file.empty()) cli.set_ca_cert_path(options_.ca_file);
  httplib::Headers headers;
  if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
  std::string content = body ? *body : std::string();
  auto send = [&]() -> httplib::Result {
    if (method == "GET") return cli.Get(path, headers);
    if (method == "POST") return cli.Post(path, headers, content, "application/json");
    if (method == "PATCH") return cli.Patch(path, headers, content, "application/json");
    if (method == "PUT") return cli.Put(path, headers, content, "application/json");
    if (body) return cli.Delete(path, headers, content, "application/json");
    return cli.Delete(path, headers);
  };
  if (method != "GET" && method != "POST" && method != "PATCH" && method != "PUT" &&
      method != "DELETE") {
    return InvalidArgument("HTTP method " + method + " is not supported");
  }
  httplib::Result res = send();
  for (auto& [k, v] : headers) WipeString(v);
  WipeString(content);
  if (!res) {
    return Unavailable(base_url_ + " did not answer " + method + " " + path + ": " +
                       httplib::to_string(res.error()));
  }
  HttpReply reply{res->status, std::move(res->body), {}};
  for (const auto& [k, v] : res->headers) reply.headers.emplace_back(k, v);
  return reply;
}

}  // namespace coffer::service
