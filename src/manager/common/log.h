// The manager's log: one line per event on stderr, "coffer manager: <time>
// <message>". Callers never pass secrets (tokens, keys, S3 secrets, request
// bodies); messages name things by id, name or URL.
//
// Thread safety: lines from many threads do not interleave.
#pragma once

#include <string_view>

namespace coffer::manager {

void Log(std::string_view message);

}  // namespace coffer::manager
