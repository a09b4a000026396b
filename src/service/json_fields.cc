#include "service/json_fields.h"

#include "core/crypto/secret.h"

namespace coffer::service {

void FieldReader::Fail(std::string_view key, std::string_view message) {
  if (error_) return;
  error_ = FieldInvalid(Name(key), message).error();
}

void FieldReader::Only(std::initializer_list<std::string_view> allowed) {
  if (!obj_.is_object()) return;
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    bool known = false;
    for (auto a : allowed) known |= it.key() == a;
    if (!known) Fail(it.key(), "unknown field");
  }
}

bool FieldReader::String(const char* key, std::string* out, bool required, size_t max_len) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return false;
  }
  if (!it->is_string()) {
    Fail(key, "must be a string");
    return false;
  }
  const std::string& v = it->get_ref<const std::string&>();
  if (required && v.empty()) {
    Fail(key, "must not be empty");
    return false;
  }
  if (v.size() > max_len) {
    Fail(key, "is longer than " + std::to_string(max_len) + " bytes");
    return false;
  }
  *out = v;
  return true;
}

bool FieldReader::NullableString(const char* key, std::optional<std::string>* out, bool* is_null) {
  *is_null = false;
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end()) return false;
  if (it->is_null()) {
    *is_null = true;
    return true;
  }
  std::string v;
  if (!String(key, &v, false)) return false;
  *out = std::move(v);
  return true;
}

bool FieldReader::Int(const char* key, int64_t* out, bool required, int64_t min, int64_t max) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return false;
  }
  const std::string range =
      "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(max))) {
    Fail(key, range);
    return false;
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    Fail(key, range);
    return false;
  }
  *out = v;
  return true;
}

bool FieldReader::Uint(const char* key, uint64_t* out, bool required, uint64_t max) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return false;
  }
  const bool non_negative =
      it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0);
  if (!non_negative || it->get<uint64_t>() > max) {
    Fail(key, max == UINT64_MAX ? "must be a non-negative integer"
                                : "must be an integer from 0 to " + std::to_string(max));
    return false;
  }
  *out = it->get<uint64_t>();
  return true;
}

bool FieldReader::Number(const char* key, double* out, bool required) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return false;
  }
  if (!it->is_number()) {
    Fail(key, "must be a number");
    return false;
  }
  *out = it->get<double>();
  return true;
}

bool FieldReader::Bool(const char* key, bool* out, bool required) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return false;
  }
  if (!it->is_boolean()) {
    Fail(key, "must be true or false");
    return false;
  }
  *out = it->get<bool>();
  return true;
}

const json* FieldReader::Object(const char* key, bool required) {
  if (error_) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return nullptr;
  }
  if (!it->is_object()) {
    Fail(key, "must be an object");
    return nullptr;
  }
  return &*it;
}

void WipeFields(json& body, std::initializer_list<const char*> keys) {
  if (!body.is_object()) return;
  for (const char* key : keys) {
    auto it = body.find(key);
    if (it != body.end() && it->is_string()) WipeString(it->get_ref<std::string&>());
  }
}

}  // namespace coffer::service
