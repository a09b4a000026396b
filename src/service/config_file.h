// A service's TOML configuration file: the keys it may hold and where each
// one goes. The CLI reads the file first and sets its flags over it (flags
// win). An unknown key, a value of the wrong type or out of range is an
// error naming the file, the line or the key, and what was wanted.
//
// Thread safety: a ConfigKeys belongs to one caller.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "service/http.h"

namespace coffer::service {

class ConfigKeys {
 public:
  void String(const std::string& key, std::string* out);
  void Strings(const std::string& key, std::vector<std::string>* out);  // an array of strings
  void Listen(const std::string& key, ListenAddress* out);              // "HOST:PORT"
  void Bool(const std::string& key, bool* out);
  // An integer from min to max, handed to `set`.
  void Int(const std::string& key, int64_t min, int64_t max, std::function<void(int64_t)> set);

  // Reads `path`, setting every key it holds.
  Status Load(const std::string& path) const;

 private:
  struct Key {
    enum Kind { kString, kStrings, kListen, kBool, kInt } kind;
    void* out = nullptr;
    int64_t min = 0, max = 0;
    std::function<void(int64_t)> set;
  };
  std::map<std::string, Key> keys_;
};

}  // namespace coffer::service
