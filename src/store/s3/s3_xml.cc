#include "store/s3/s3_xml.h"

#include <cstdio>
#include <ctime>
#include <pugixml.hpp>
#include <sstream>

namespace coffer::s3xml {
namespace {

bool Load(pugi::xml_document& doc, std::string_view body) {
  return !body.empty() &&
         doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
}

std::string Text(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().as_string();
}

std::string Serialize(const pugi::xml_document& doc) {
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw, pugi::encoding_utf8);
  return os.str();
}

}  // namespace

std::optional<S3ErrorBody> ParseError(std::string_view body) {
  pugi::xml_document doc;
  if (!Load(doc, body)) return std::nullopt;
  pugi::xml_node err = doc.child("Error");
  if (!err) err = doc.child("ErrorResponse").child("Error");  // the IAM/STS shape
  if (!err || !err.child("Code")) return std::nullopt;
  S3ErrorBody out{Text(err, "Code"), Text(err, "Message"), ""};
  for (const char* field : {"BucketName", "Key", "Region", "Endpoint", "RequestTime", "ServerTime",
                            "MaxAllowedSkewMilliseconds"}) {
    std::string v = Text(err, field);
    if (v.empty()) continue;
    if (!out.detail.empty()) out.detail += ", ";
    out.detail += std::string(field) + " " + v;
  }
  return out;
}

Result<ListPage> ParseListObjectsV2(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  if (!Load(doc, body) || !(root = doc.child("ListBucketResult"))) {
    return Internal("ListObjectsV2 answer is not a ListBucketResult: " +
                    std::string(body.substr(0, 200)));
  }
  ListPage page;
  for (pugi::xml_node c : root.children("Contents")) {
    ListedObject o;
    o.key = Text(c, "Key");
    o.size = c.child("Size").text().as_ullong();
    o.mtime = ParseIsoTime(Text(c, "LastModified")).value_or(0);
    page.objects.push_back(std::move(o));
  }
  page.truncated = std::string_view(root.child("IsTruncated").text().as_string()) == "true";
  page.next_token = Text(root, "NextContinuationToken");
  if (page.truncated && page.next_token.empty()) {
    return Internal("ListObjectsV2 page is truncated but has no NextContinuationToken");
  }
  return page;
}

std::string BuildDeleteRequest(const std::vector<std::string>& keys) {
  pugi::xml_document doc;
  pugi::xml_node del = doc.append_child("Delete");
  del.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  del.append_child("Quiet").text().set("true");
  for (const std::string& k : keys) {
    del.append_child("Object").append_child("Key").text().set(k.c_str());
  }
  return Serialize(doc);
}

Result<std::vector<DeleteFailure>> ParseDeleteResult(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  if (!Load(doc, body) || !(root = doc.child("DeleteResult"))) {
    return Internal("DeleteObjects answer is not a DeleteResult: " +
                    std::string(body.substr(0, 200)));
  }
  std::vector<DeleteFailure> out;
  for (pugi::xml_node e : root.children("Error")) {
    out.push_back({Text(e, "Key"), Text(e, "Code"), Text(e, "Message")});
  }
  return out;
}

Result<std::string> ParseUploadId(std::string_view body) {
  pugi::xml_document doc;
  std::string id;
  if (Load(doc, body)) id = Text(doc.child("InitiateMultipartUploadResult"), "UploadId");
  if (id.empty()) {
    return Internal("CreateMultipartUpload answer has no UploadId: " +
                    std::string(body.substr(0, 200)));
  }
  return id;
}

Result<UploadsPage> ParseListMultipartUploads(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root;
  if (!Load(doc, body) || !(root = doc.child("ListMultipartUploadsResult"))) {
    return Internal("ListMultipartUploads answer is not a ListMultipartUploadsResult: " +
                    std::string(body.substr(0, 200)));
  }
  UploadsPage page;
  for (pugi::xml_node u : root.children("Upload")) {
    ListedUpload l;
    l.key = Text(u, "Key");
    l.upload_id = Text(u, "UploadId");
    l.initiated = ParseIsoTime(Text(u, "Initiated")).value_or(0);
    if (l.key.empty() || l.upload_id.empty()) {
      return Internal("ListMultipartUploads answer has an Upload without Key or UploadId");
    }
    page.uploads.push_back(std::move(l));
  }
  page.truncated = std::string_view(root.child("IsTruncated").text().as_string()) == "true";
  page.next_key_marker = Text(root, "NextKeyMarker");
  page.next_upload_id_marker = Text(root, "NextUploadIdMarker");
  if (page.truncated && page.next_key_marker.empty()) {
    return Internal("ListMultipartUploads page is truncated but has no NextKeyMarker");
  }
  return page;
}

std::string BuildCompleteMultipart(const std::vector<CompletedPart>& parts) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  for (const CompletedPart& p : parts) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text().set(p.number);
    part.append_child("ETag").text().set(p.etag.c_str());
  }
  return Serialize(doc);
}

std::optional<int64_t> ParseIsoTime(std::string_view text) {
  std::tm tm{};
  int y, mo, d, h, mi, s;
  if (std::sscanf(std::string(text).c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return int64_t(timegm(&tm));
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  std::tm tm{};
  std::string t(text);
  const char* end = strptime(t.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  return int64_t(timegm(&tm));
}

}  // namespace coffer::s3xml
