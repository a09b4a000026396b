// The URL of a peer the manager calls — an agent, an S3 endpoint — and the
// addresses it may not point at. A manager holds every target's keys and
// credentials and calls what an API client registers: a URL at a cloud's
// metadata service (169.254.169.254 answers with the host's own
// credentials) or at an address that is not one host must not be taken.
//
// Thread safety: pure functions (CheckPeerHost may resolve a name).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace coffer::service {

struct PeerUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // a name, an IPv4 address, or an IPv6 address without brackets
  int port = 0;        // 1-65535; 0 when the URL names none (the scheme's default)
};

// http(s)://HOST[:PORT] with at most one '/' after it. kInvalidArgument
// saying what is wrong: another scheme, a path, user info, a port outside
// 1-65535, a host with characters no host name has.
Result<PeerUrl> ParsePeerUrl(std::string_view url);

// Refuses (kInvalidArgument) a host that is, or resolves to, a link-local
// address (169.254.0.0/16, fe80::/10) unless `allow_link_local`, or an
// address that is not one host's: 0.0.0.0/8, multicast, broadcast, ::, and
// IPv4 addresses written inside IPv6 (::ffff:a.b.c.d) are judged as IPv4. A
// name that does not resolve is not refused here: calling it will say so.
Status CheckPeerHost(const std::string& host, bool allow_link_local);

}  // namespace coffer::service
