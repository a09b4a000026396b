#include "service/config_file.h"

#include <toml++/toml.h>

namespace coffer::service {

void ConfigKeys::String(const std::string& key, std::string* out) {
  keys_[key] = Key{Key::kString, out, 0, 0, nullptr};
}
void ConfigKeys::Strings(const std::string& key, std::vector<std::string>* out) {
  keys_[key] = Key{Key::kStrings, out, 0, 0, nullptr};
}
void ConfigKeys::Listen(const std::string& key, ListenAddress* out) {
  keys_[key] = Key{Key::kListen, out, 0, 0, nullptr};
}
void ConfigKeys::Bool(const std::string& key, bool* out) {
  keys_[key] = Key{Key::kBool, out, 0, 0, nullptr};
}
void ConfigKeys::Int(const std::string& key, int64_t min, int64_t max,
                     std::function<void(int64_t)> set) {
  keys_[key] = Key{Key::kInt, nullptr, min, max, std::move(set)};
}

Status ConfigKeys::Load(const std::string& path) const {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("config " + path + " line " + std::to_string(e.source().begin.line) +
                           ": " + std::string(e.description()));
  }
  for (auto&& [name, value] : t) {
    const std::string k(name.str());
    auto it = keys_.find(k);
    if (it == keys_.end()) return InvalidArgument("config " + path + ": unknown key '" + k + "'");
    const Key& key = it->second;
    auto bad = [&](const std::string& want) {
      return InvalidArgument("config " + path + ": '" + k + "' must be " + want);
    };
    switch (key.kind) {
      case Key::kString:
        if (!value.is_string()) return bad("a string");
        *static_cast<std::string*>(key.out) = **value.as_string();
        break;
      case Key::kStrings: {
        const toml::array* a = value.as_array();
        if (a == nullptr) return bad("an array of strings");
        auto* out = static_cast<std::vector<std::string>*>(key.out);
        for (auto&& item : *a) {
          if (!item.is_string()) return bad("an array of strings");
          out->push_back(**item.as_string());
        }
        break;
      }
      case Key::kListen: {
        if (!value.is_string()) return bad("a string HOST:PORT");
        auto l = ParseListen(**value.as_string());
        if (!l) return std::unexpected(l.error().WithContext("config " + path));
        *static_cast<ListenAddress*>(key.out) = *l;
        break;
      }
      case Key::kBool:
        if (!value.is_boolean()) return bad("true or false");
        *static_cast<bool*>(key.out) = **value.as_boolean();
        break;
      case Key::kInt: {
        const std::string want =
            "an integer from " + std::to_string(key.min) + " to " + std::to_string(key.max);
        if (!value.is_integer()) return bad(want);
        int64_t v = **value.as_integer();
        if (v < key.min || v > key.max) return bad(want);
        key.set(v);
        break;
      }
    }
  }
  return {};
}

}  // namespace coffer::service
