// The checks and the probe behind TargetService (targets.h): field
// validation that names the field, where a target lives (to tell two rows
// naming one location apart), and the probe that writes, reads back and
// deletes an object with a short retry budget. Internal to the services;
// the REST layer uses the Validate* functions that targets.h declares.
//
// Thread safety: pure functions, apart from the store calls of ProbeObjects.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "manager/services/targets.h"
#include "store/object_store.h"
#include "store/open_store.h"

namespace coffer::manager {

// kInvalidArgument "<field>: <why>".
std::unexpected<Error> FieldError(std::string_view field, const std::string& why);

// An endpoint is empty (AWS) or http(s)://host[:port], nothing after.
Status ValidateEndpoint(std::string_view endpoint);
// S3 targets need both credentials; local targets take no S3 field.
Status ValidateConnection(std::string_view address, std::string_view endpoint,
                          std::string_view region, std::string_view access_key_id, bool has_secret);
// "s3://bucket[/prefix]", "file:///abs" or "/abs".
Status ValidateAddress(std::string_view address);
// Whether `places` lets a target live there: a directory not in or under a
// refused one (links in the part that exists resolved), under a root when
// roots are set; an S3 endpoint whose host is not link-local (unless
// allowed) and is one host's address. kInvalidArgument naming "address" or
// "s3_endpoint".
Status ValidatePlace(std::string_view address, std::string_view endpoint,
                     const TargetPlaces& places);
// Every field of a create request, in the order the API documents them.
Status ValidateCreateRequest(const CreateTargetRequest& request);

// Where a target lives, normalised: "<endpoint or aws> s3://bucket/prefix"
// without trailing slashes, or the lexically normal directory path.
std::string Location(std::string_view address, std::string_view endpoint);

// Every failure while talking to the target during a probe is either "it
// refuses us" (kPermissionDenied) or "it cannot be reached or used"
// (kUnavailable); both are 422 (targets.h). kAlreadyExists and kAuthFailed
// keep their meaning. The message starts with "target <address>: ".
Error ProbeError(const Error& e, std::string_view address);

// Writes, reads back and deletes a probe object "probe-<uuid>" at the root.
Status ProbeObjects(ObjectStore& store);

// Store options for a probe: create a missing directory, and give up within
// `timeout` instead of the usual retry budget.
StoreOptions ForProbe(StoreOptions options, std::chrono::milliseconds timeout);

// Opens the store for a probe: a malformed address is a field error
// ("address: ..."), any other failure a ProbeError.
Result<std::unique_ptr<ObjectStore>> OpenForProbe(std::string_view address,
                                                  const StoreOptions& options);

}  // namespace coffer::manager
