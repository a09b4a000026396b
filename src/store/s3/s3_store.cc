#include "store/s3/s3_store.h"

#include <algorithm>
#include <cstring>

#include "base/text.h"
#include "store/s3/s3_xml.h"

namespace coffer {
namespace {

constexpr size_t kDeleteBatch = 1000;  // the multi-object delete API's limit
constexpr uint64_t kMinPartSize = uint64_t(5) << 20;

bool ValidKey(std::string_view key) {
  if (key.empty() || key.front() == '/' || key.back() == '/') return false;
  size_t start = 0;
  for (size_t i = 0; i <= key.size(); ++i) {
    if (i < key.size() && key[i] != '/') continue;
    std::string_view seg = key.substr(start, i - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = i + 1;
  }
  return true;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Status ParseS3Address(std::string_view address, std::string* bucket, std::string* prefix) {
  if (!address.starts_with("s3://")) {
    return InvalidArgument("'" + std::string(address) + "' is not an s3://BUCKET/PREFIX address");
  }
  std::string_view rest = address.substr(5);
  size_t slash = rest.find('/');
  *bucket = std::string(rest.substr(0, slash));
  *prefix = slash == std::string_view::npos ? "" : Trim(rest.substr(slash + 1));
  if (bucket->empty()) {
    return InvalidArgument("'" + std::string(address) + "' names no bucket (s3://BUCKET/PREFIX)");
  }
  if (prefix->find("//") != std::string::npos) {
    return InvalidArgument("'" + std::string(address) + "': empty path segment in the prefix");
  }
  return {};
}

S3Store::S3Store(S3StoreOptions options, std::unique_ptr<S3Client> client)
    : options_(std::move(options)), client_(std::move(client)) {
  options_.prefix = Trim(options_.prefix);
  root_ = options_.prefix.empty() ? "" : options_.prefix + "/";
}

Result<std::unique_ptr<S3Store>> S3Store::Open(S3StoreOptions options,
                                               std::shared_ptr<StoreMetrics> metrics) {
  if (options.part_size < kMinPartSize) {
    return InvalidArgument("S3 multipart part size " + std::to_string(options.part_size) +
                           " is below S3's minimum of 5 MiB");
  }
  options.multipart_threshold = std::max(options.multipart_threshold, options.part_size);
  COFFER_ASSIGN_OR_RETURN(auto client, S3Client::Create(options.client, std::move(metrics)));
  return std::unique_ptr<S3Store>(new S3Store(std::move(options), std::move(client)));
}

StoreProperties S3Store::properties() const {
  return {unsigned(std::max(1, options_.client.http.max_connections)), true};
}

std::string S3Store::Describe() const { return client_->Url(options_.prefix); }

Result<std::string> S3Store::FullKey(std::string_view key) const {
  if (!ValidKey(key)) {
    return InvalidArgument("invalid object key '" + std::string(key) + "' for " + Describe());
  }
  return root_ + std::string(key);
}

Status S3Store::Put(std::string_view key, ByteView data) {
  COFFER_ASSIGN_OR_RETURN(std::string full, FullKey(key));
  if (data.size() > options_.multipart_threshold) return PutMultipart(full, data);
  S3Call call{"PUT", RequestKind::kPut, full, {}, {{"Content-MD5", Md5Base64(data)}}, data};
  COFFER_RETURN_IF_ERROR(client_->Call(call));
  return {};
}

Status S3Store::PutMultipart(const std::string& full, ByteView data) {
  S3Call create{"POST", RequestKind::kMultipartCreate, full, {{"uploads", ""}}};
  COFFER_ASSIGN_OR_RETURN(HttpResponse created, client_->Call(create));
  auto upload_id = s3xml::ParseUploadId(created.body);
  if (!upload_id) return std::unexpected(upload_id.error().WithContext(client_->Url(full)));

  auto upload = [&]() -> Status {
    std::vector<s3xml::CompletedPart> parts;
    for (uint64_t off = 0; off < data.size(); off += options_.part_size) {
      ByteView part = data.subspan(off, std::min<uint64_t>(options_.part_size, data.size() - off));
      int number = int(parts.size()) + 1;
      S3Call put{"PUT",
                 RequestKind::kMultipartPart,
                 full,
                 {{"partNumber", std::to_string(number)}, {"uploadId", *upload_id}},
                 {{"Content-MD5", Md5Base64(part)}},
                 part};
      COFFER_ASSIGN_OR_RETURN(HttpResponse resp, client_->Call(put));
      std::string etag = resp.Header("etag");
      if (etag.empty()) {
        return Internal("PUT " + client_->Url(full) + " part " + std::to_string(number) +
                        ": the answer has no ETag");
      }
      parts.push_back({number, etag});
    }
    std::string body = s3xml::BuildCompleteMultipart(parts);
    S3Call complete{"POST",
                    RequestKind::kMultipartComplete,
                    full,
                    {{"uploadId", *upload_id}},
                    {{"Content-Type", "application/xml"}},
                    AsBytes(body)};
    COFFER_ASSIGN_OR_RETURN(HttpResponse done, client_->Call(complete));
    // S3 may answer 200 and still report a failure in the body.
    if (auto err = s3xml::ParseError(done.body)) {
      return std::unexpected(S3Error("POST", client_->Url(full), 200, done.body));
    }
    return {};
  };
  Status st = upload();
  if (!st) {
    // Parts left behind cost storage until aborted; a failed abort is not
    // worth hiding the first error for.
    S3Call abort{"DELETE", RequestKind::kMultipartAbort, full, {{"uploadId", *upload_id}}};
    (void)client_->Call(abort);
  }
  return st;
}

Status S3Store::Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) {
  COFFER_ASSIGN_OR_RETURN(std::string full, FullKey(key));
  if (range && range->length == 0) {
    // HTTP cannot ask for zero bytes; check the offset against the size.
    COFFER_ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
    if (range->offset >= info.size && !(info.size == 0 && range->offset == 0)) {
      return InvalidArgument("range starts at " + std::to_string(range->offset) +
                             ", past the end of " + client_->Url(full));
    }
    out->set_size(0);
    return {};
  }
  S3Call call{"GET", RequestKind::kGet, full};
  call.sink = out;
  if (range) {
    uint64_t last = range->offset + range->length - 1;
    if (last < range->offset) last = UINT64_MAX;  // overflow: to the end
    call.headers.emplace_back("Range", "bytes=" + std::to_string(range->offset) + "-" +
                                           (last == UINT64_MAX ? "" : std::to_string(last)));
  }
  COFFER_ASSIGN_OR_RETURN(HttpResponse resp, client_->Call(call));
  if (range && resp.status == 200) {
    // The server ignored the Range header and sent the whole object.
    if (range->offset >= out->size()) {
      return InvalidArgument("range starts at " + std::to_string(range->offset) +
                             ", past the end of " + client_->Url(full));
    }
    size_t n = size_t(std::min<uint64_t>(range->length, out->size() - range->offset));
    std::memmove(out->data(), out->data() + range->offset, n);
    out->set_size(n);
  }
  return {};
}

Result<ObjectInfo> S3Store::Head(std::string_view key) {
  COFFER_ASSIGN_OR_RETURN(std::string full, FullKey(key));
  S3Call call{"HEAD", RequestKind::kHead, full};
  COFFER_ASSIGN_OR_RETURN(HttpResponse resp, client_->Call(call));
  ObjectInfo info{std::string(key), 0, 0};
  info.size = std::strtoull(resp.Header("content-length").c_str(), nullptr, 10);
  info.mtime = s3xml::ParseHttpDate(resp.Header("last-modified")).value_or(0);
  return info;
}

Status S3Store::List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) {
  std::string token;
  for (;;) {
    S3Call call{"GET",
                RequestKind::kList,
                "",
                {{"list-type", "2"}, {"prefix", root_ + std::string(prefix)}}};
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    COFFER_ASSIGN_OR_RETURN(HttpResponse resp, client_->Call(call));
    auto page = s3xml::ParseListObjectsV2(resp.body);
    if (!page) return std::unexpected(page.error().WithContext("listing " + Describe()));
    for (const s3xml::ListedObject& o : page->objects) {
      // Skip "directory" markers some tools create; they are not objects of
      // a target.
      if (!std::string_view(o.key).starts_with(root_) || o.key.ends_with('/')) continue;
      COFFER_RETURN_IF_ERROR(fn(ObjectInfo{o.key.substr(root_.size()), o.size, o.mtime}));
    }
    if (!page->truncated) return {};
    token = page->next_token;
  }
}

Status S3Store::Delete(std::string_view key) {
  COFFER_ASSIGN_OR_RETURN(std::string full, FullKey(key));
  S3Call call{"DELETE", RequestKind::kDelete, full};
  COFFER_RETURN_IF_ERROR(client_->Call(call));
  return {};
}

Result<TemporaryReport> S3Store::CleanTemporaries(const TemporaryCleanup& cleanup) {
  TemporaryReport report;
  if (!cleanup.everywhere) return report;
  const int64_t now = UnixNow();
  std::string key_marker, upload_marker;
  for (;;) {
    S3Call call{"GET", RequestKind::kList, "", {{"uploads", ""}, {"prefix", root_}}};
    if (!key_marker.empty()) {
      call.query.emplace_back("key-marker", key_marker);
      call.query.emplace_back("upload-id-marker", upload_marker);
    }
    COFFER_ASSIGN_OR_RETURN(HttpResponse resp, client_->Call(call));
    auto page = s3xml::ParseListMultipartUploads(resp.body);
    if (!page) return std::unexpected(page.error().WithContext("listing uploads in " + Describe()));
    for (const s3xml::ListedUpload& u : page->uploads) {
      if (!std::string_view(u.key).starts_with(root_)) continue;
      // An upload of unknown age (no Initiated time) is not known to be old.
      if (cleanup.min_age < 0 || u.initiated == 0 || now - u.initiated < cleanup.min_age) {
        ++report.kept;
        continue;
      }
      if (!cleanup.dry_run) {
        S3Call abort{"DELETE", RequestKind::kMultipartAbort, u.key, {{"uploadId", u.upload_id}}};
        auto st = client_->Call(abort);
        // NoSuchUpload: completed or aborted meanwhile, gone either way.
        if (!st && st.error().code() != ErrorCode::kNotFound) {
          return std::unexpected(st.error().WithContext("aborting the upload of " + u.key));
        }
      }
      ++report.removed;
    }
    if (!page->truncated) return report;
    key_marker = page->next_key_marker;
    upload_marker = page->next_upload_id_marker;
  }
}

Status S3Store::DeleteMany(std::span<const std::string> keys) {
  for (size_t start = 0; start < keys.size(); start += kDeleteBatch) {
    std::vector<std::string> batch;
    for (size_t i = start; i < std::min(keys.size(), start + kDeleteBatch); ++i) {
      COFFER_ASSIGN_OR_RETURN(std::string full, FullKey(keys[i]));
      batch.push_back(std::move(full));
    }
    std::string body = s3xml::BuildDeleteRequest(batch);
    S3Call call{"POST",
                RequestKind::kDeleteMany,
                "",
                {{"delete", ""}},
                {{"Content-MD5", Md5Base64(AsBytes(body))}, {"Content-Type", "application/xml"}},
                AsBytes(body)};
    COFFER_ASSIGN_OR_RETURN(HttpResponse resp, client_->Call(call));
    auto failures = s3xml::ParseDeleteResult(resp.body);
    if (!failures)
      return std::unexpected(failures.error().WithContext("deleting in " + Describe()));
    for (const s3xml::DeleteFailure& f : *failures) {
      if (f.code == "NoSuchKey") continue;  // already gone: what Delete promises
      std::string msg = "DELETE " + client_->Url(f.key) + ": " + f.code + ": " + f.message +
                        " (in a multi-object delete)";
      // Per-key errors have no HTTP status; classify by code alone.
      Error e = S3Error("DELETE", client_->Url(f.key), 0,
                        "<Error><Code>" + f.code + "</Code><Message></Message></Error>");
      return std::unexpected(e.Reworded(msg));
    }
  }
  return {};
}

}  // namespace coffer
