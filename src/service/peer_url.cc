#include "service/peer_url.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

namespace coffer::service {

Result<PeerUrl> ParsePeerUrl(std::string_view url) {
  PeerUrl out;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    out.scheme = "http";
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    out.scheme = "https";
    rest.remove_prefix(8);
  } else {
    return InvalidArgument("must start with http:// or https://");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return InvalidArgument("must be http(s)://host[:port], with no path");
  }
  if (rest.find('@') != std::string_view::npos) {
    return InvalidArgument("must not carry user information (user@host)");
  }
  std::optional<std::string_view> port;  // present when the URL has a ':'
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgument("an IPv6 host lacks its ']'");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return InvalidArgument("junk after the host");
    if (!rest.empty()) port = rest.substr(1);
    in6_addr a6;
    if (inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) {
      return InvalidArgument("'" + out.host + "' is not an IPv6 address");
    }
  } else {
    const size_t colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    if (out.host.empty()) return InvalidArgument("must name a host");
    for (unsigned char c : out.host) {
      if (!std::isalnum(c) && c != '-' && c != '.') {
        return InvalidArgument("the host may hold only letters, digits, '-' and '.'");
      }
    }
  }
  if (port) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port->data(), port->data() + port->size(), p);
    if (port->empty() || ec != std::errc() || ptr != port->data() + port->size() || p < 1 ||
        p > 65535) {
      return InvalidArgument("the port must be a number from 1 to 65535");
    }
    out.port = p;
  }
  return out;
}

namespace {

// Why an IPv4 address (host byte order) may not be called; "" if it may.
std::string WhyNot4(uint32_t a, bool allow_link_local) {
  if ((a >> 24) == 0) return "is not a host's address (0.0.0.0/8)";
  if ((a >> 28) == 0xe) return "is a multicast address";
  if (a == 0xffffffffu) return "is the broadcast address";
  if ((a >> 16) == 0xa9fe && !allow_link_local) {
    return "is link-local (169.254.0.0/16), where cloud metadata services hand out the host's "
           "credentials; set allow_link_local_peers = true in the manager's configuration to "
           "allow it";
  }
  return "";
}

std::string WhyNot6(const in6_addr& a, bool allow_link_local) {
  const uint8_t* b = a.s6_addr;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, kMapped, 12) == 0) {
    return WhyNot4(uint32_t(b[12]) << 24 | uint32_t(b[13]) << 16 | uint32_t(b[14]) << 8 | b[15],
                   allow_link_local);
  }
  if (IN6_IS_ADDR_UNSPECIFIED(&a)) return "is not a host's address (::)";
  if (IN6_IS_ADDR_MULTICAST(&a)) return "is a multicast address";
  if (IN6_IS_ADDR_LINKLOCAL(&a) && !allow_link_local) {
    return "is link-local (fe80::/10); set allow_link_local_peers = true in the manager's "
           "configuration to allow it";
  }
  return "";
}

std::string WhyNot(const sockaddr* sa, bool allow_link_local) {
  if (sa->sa_family == AF_INET) {
    return WhyNot4(ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr),
                   allow_link_local);
  }
  if (sa->sa_family == AF_INET6) {
    return WhyNot6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, allow_link_local);
  }
  return "";
}

}  // namespace

Status CheckPeerHost(const std::string& host, bool allow_link_local) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  // A literal first: no name service for what is already an address.
  hints.ai_flags = AI_NUMERICHOST;
  bool literal = getaddrinfo(host.c_str(), nullptr, &hints, &found) == 0;
  if (!literal) {
    hints.ai_flags = 0;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return {};
  }
  std::string why;
  for (addrinfo* a = found; a && why.empty(); a = a->ai_next) {
    why = WhyNot(a->ai_addr, allow_link_local);
    if (!why.empty() && !literal) {
      char text[INET6_ADDRSTRLEN] = "";
      getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
      why = "resolves to " + std::string(text) + ", which " + why;
    }
  }
  freeaddrinfo(found);
  if (!why.empty()) return InvalidArgument("'" + host + "' " + why);
  return {};
}

}  // namespace coffer::service
