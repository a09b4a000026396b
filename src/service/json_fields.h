// FieldReader: reads the fields of one JSON object from outside (a request
// body, an agent's report), keeping the first problem as an Error whose
// field detail is the field's path ("volume.locator") and whose message
// starts with it ("volume.locator: required"). Later calls do nothing once
// a problem is kept. Accessors return whether the field was present and
// valid; an absent optional field is not a problem.
//
// Thread safety: a reader belongs to one request.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace coffer::service {

using nlohmann::json;

class FieldReader {
 public:
  explicit FieldReader(const json& obj, std::string prefix = "")
      : obj_(obj), prefix_(std::move(prefix)) {}

  bool ok() const { return !error_; }
  const Error& error() const { return *error_; }
  void Fail(std::string_view key, std::string_view message);
  // Keeps the first problem of a reader of a nested object.
  void Take(const FieldReader& inner) {
    if (!error_ && inner.error_) error_ = inner.error_;
  }

  // Refuses fields not in `allowed` (a typo must not be silently ignored).
  void Only(std::initializer_list<std::string_view> allowed);

  bool String(const char* key, std::string* out, bool required, size_t max_len = 4096);
  // Present and null: *is_null = true (PATCH clears it).
  bool NullableString(const char* key, std::optional<std::string>* out, bool* is_null);
  bool Int(const char* key, int64_t* out, bool required, int64_t min, int64_t max);
  bool Uint(const char* key, uint64_t* out, bool required, uint64_t max = UINT64_MAX);
  bool Number(const char* key, double* out, bool required);
  bool Bool(const char* key, bool* out, bool required = false);
  const json* Object(const char* key, bool required);
  bool Has(const char* key) const { return obj_.contains(key); }
  std::string Name(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }
  // A reader of the nested object `key` (whose problems are then Take()n).
  const std::string& prefix() const { return prefix_; }

 private:
  const json& obj_;
  std::string prefix_;
  std::optional<Error> error_;
};

// Overwrites the named string fields of a parsed body (secrets).
void WipeFields(json& body, std::initializer_list<const char*> keys);

}  // namespace coffer::service
