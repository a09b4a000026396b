#include "volume/iscsi/iscsi_volume.h"

// libiscsi's headers are C and declare these before use.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <stdint.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "base/shared_library.h"
#include "volume/connection_pool.h"

namespace coffer {
namespace {

// The libiscsi functions this file calls, bound on first use: the library
// is loaded then, not at start-up (base/shared_library.h says why), by the
// soname of the one these headers came with (cmake/LoadedLibrary.cmake).
// clang-format off
#define COFFER_ISCSI_FUNCTIONS(X)     \
  X(iscsi_create_context)             \
  X(iscsi_destroy_context)            \
  X(iscsi_destroy_url)                \
  X(iscsi_full_connect_sync)          \
  X(iscsi_get_error)                  \
  X(iscsi_get_lba_status_sync)        \
  X(iscsi_logout_sync)                \
  X(iscsi_parse_full_url)             \
  X(iscsi_read16_sync)                \
  X(iscsi_readcapacity16_sync)        \
  X(iscsi_set_header_digest)          \
  X(iscsi_set_initiator_username_pwd) \
  X(iscsi_set_session_type)           \
  X(iscsi_set_targetname)             \
  X(iscsi_set_timeout)                \
  X(iscsi_synchronizecache16_sync)    \
  X(iscsi_write16_sync)               \
  X(iscsi_writesame16_sync)           \
  X(scsi_datain_unmarshall)           \
  X(scsi_free_scsi_task)              \
  X(scsi_sense_ascq_str)              \
  X(scsi_sense_key_str)
// clang-format on

COFFER_LIBRARY_FUNCTIONS(Iscsi, COFFER_ISCSI_FUNCTIONS);

LibraryTable<Iscsi> libiscsi(COFFER_LIBISCSI_SONAME, COFFER_LIBISCSI_PACKAGE, "iSCSI volumes");

constexpr uint64_t kMaxRequest = uint64_t(4) << 20;
constexpr uint32_t kMaxWriteSameBlocks = 65535;

struct IscsiConn {
  iscsi_context* ctx = nullptr;
  int lun = 0;
  ~IscsiConn() {
    if (ctx != nullptr) {
      libiscsi->iscsi_logout_sync(ctx);
      libiscsi->iscsi_destroy_context(ctx);
    }
  }
};

// Owns a scsi_task.
struct Task {
  scsi_task* t = nullptr;
  ~Task() {
    if (t != nullptr) libiscsi->scsi_free_scsi_task(t);
  }
};

// Parsed once to validate; each connection parses again into its own context.
struct UrlParts {
  std::string portal, target, user, password;
  int lun = 0;
};

Result<UrlParts> ParseUrl(const std::string& url) {
  COFFER_RETURN_IF_ERROR(libiscsi.Load());
  iscsi_context* ctx = libiscsi->iscsi_create_context("iqn.2026-11.dev.coffer:parse");
  if (ctx == nullptr) return Internal("cannot create an iSCSI context");
  iscsi_url* u = libiscsi->iscsi_parse_full_url(ctx, url.c_str());
  if (u == nullptr) {
    std::string why = libiscsi->iscsi_get_error(ctx);
    libiscsi->iscsi_destroy_context(ctx);
    return InvalidArgument("iSCSI locator " + RedactIscsiUrl(url) + " is malformed (" + why +
                           "); the form is iscsi://HOST[:PORT]/TARGET-IQN/LUN");
  }
  UrlParts p{u->portal, u->target, u->user, u->passwd, u->lun};
  libiscsi->iscsi_destroy_url(u);
  libiscsi->iscsi_destroy_context(ctx);
  return p;
}

Result<std::unique_ptr<IscsiConn>> Connect(const UrlParts& p, const std::string& name,
                                           const std::string& initiator) {
  COFFER_RETURN_IF_ERROR(libiscsi.Load());
  auto c = std::make_unique<IscsiConn>();
  c->lun = p.lun;
  c->ctx = libiscsi->iscsi_create_context(initiator.c_str());
  if (c->ctx == nullptr) return Internal("cannot create an iSCSI context");
  libiscsi->iscsi_set_targetname(c->ctx, p.target.c_str());
  libiscsi->iscsi_set_session_type(c->ctx, ISCSI_SESSION_NORMAL);
  libiscsi->iscsi_set_header_digest(c->ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
  libiscsi->iscsi_set_timeout(c->ctx, 30);
  if (!p.user.empty()) {
    libiscsi->iscsi_set_initiator_username_pwd(c->ctx, p.user.c_str(), p.password.c_str());
  }
  if (libiscsi->iscsi_full_connect_sync(c->ctx, p.portal.c_str(), p.lun) != 0) {
    return Unavailable("logging in to " + name + ": " + libiscsi->iscsi_get_error(c->ctx));
  }
  return c;
}

// Runs the check every SCSI command needs: a task came back, with GOOD status.
Status CheckTask(IscsiConn& c, const Task& task, const std::string& what) {
  if (task.t == nullptr) return Unavailable(what + ": " + libiscsi->iscsi_get_error(c.ctx));
  if (task.t->status != SCSI_STATUS_GOOD) {
    ErrorCode code = task.t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST ? ErrorCode::kInvalidArgument
                                                                     : ErrorCode::kInternal;
    if (task.t->sense.key == SCSI_SENSE_DATA_PROTECTION) code = ErrorCode::kPermissionDenied;
    return MakeError(code, what + ": " + libiscsi->scsi_sense_key_str(task.t->sense.key) + " (" +
                               libiscsi->scsi_sense_ascq_str(task.t->sense.ascq) + ")");
  }
  return {};
}

class IscsiVolume {
 public:
  IscsiVolume(std::string name, UrlParts parts, const IscsiOptions& options,
              std::unique_ptr<IscsiConn> first, uint32_t block, uint64_t blocks, bool thin)
      : name_(std::move(name)), block_(block), size_(blocks * block), thin_(thin) {
    std::string n = name_, init = options.initiator_name;
    pool_ = std::make_unique<ConnectionPool<IscsiConn>>(
        [parts, n, init] { return Connect(parts, n, init); }, options.max_connections,
        std::move(first));
  }

  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }

  // Any byte range: the covering blocks are read and the range copied out.
  Status Read(uint64_t offset, uint8_t* out, size_t len) {
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    while (len > 0) {
      uint64_t lba = offset / block_;
      uint64_t skip = offset - lba * block_;
      uint64_t span = std::min<uint64_t>(kMaxRequest, RoundUp(skip + len));
      Task task{libiscsi->iscsi_read16_sync(lease->ctx, lease->lun, lba, uint32_t(span),
                                            int(block_), 0, 0, 0, 0, 0)};
      if (auto st = CheckTask(*lease, task, "reading " + Where(offset)); !st) {
        lease.Discard();
        return st;
      }
      if (uint64_t(task.t->datain.size) < span) {
        return Internal("reading " + Where(offset) + ": the target sent fewer bytes");
      }
      size_t n = size_t(std::min<uint64_t>(len, span - skip));
      std::memcpy(out, task.t->datain.data + skip, n);
      offset += n, out += n, len -= n;
    }
    return {};
  }

  // Any byte range: whole blocks are written directly, partial blocks at
  // the edges by Patch. No lease is held across a Patch (which takes its
  // own), so callers cannot exhaust the pool waiting on each other.
  Status Write(uint64_t offset, ByteView data) {
    const uint64_t end = offset + data.size();
    const uint64_t first = RoundUp(offset), last = end / block_ * block_;
    if (first >= last) {  // no whole block: one or two partial ones
      for (uint64_t pos = offset; pos < end;) {
        uint64_t stop = std::min(end, (pos / block_ + 1) * block_);
        COFFER_RETURN_IF_ERROR(Patch(pos, data.subspan(size_t(pos - offset), size_t(stop - pos))));
        pos = stop;
      }
      return {};
    }
    if (offset < first) COFFER_RETURN_IF_ERROR(Patch(offset, data.first(size_t(first - offset))));
    {
      COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
      for (uint64_t pos = first; pos < last;) {
        uint64_t n = std::min<uint64_t>(kMaxRequest, last - pos);
        COFFER_RETURN_IF_ERROR(WriteBlocks(lease, pos, data.data() + (pos - offset), n));
        pos += n;
      }
    }
    if (last < end) COFFER_RETURN_IF_ERROR(Patch(last, data.subspan(size_t(last - offset))));
    return {};
  }

  Status Zero(uint64_t offset, uint64_t len) {
    const uint64_t end = offset + len;
    const uint64_t first = RoundUp(offset), last = end / block_ * block_;
    if (first >= last) return WriteZerosSlow(offset, len);
    if (offset < first) COFFER_RETURN_IF_ERROR(WriteZerosSlow(offset, first - offset));
    {
      COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
      std::vector<uint8_t> zero_block(block_, 0);
      for (uint64_t pos = first; pos < last;) {
        uint32_t blocks = uint32_t(std::min<uint64_t>(kMaxWriteSameBlocks, (last - pos) / block_));
        if (write_same_ok_) {
          Task task{libiscsi->iscsi_writesame16_sync(
              lease->ctx, lease->lun, pos / block_, zero_block.data(), block_, blocks, 0, 0, 0, 0)};
          auto st = CheckTask(*lease, task, "zeroing " + Where(pos));
          if (st) {
            pos += uint64_t(blocks) * block_;
            continue;
          }
          if (st.error().code() != ErrorCode::kInvalidArgument) return st;
          write_same_ok_ = false;  // the target has no WRITE SAME: plain writes from now on
        }
        uint64_t n = std::min<uint64_t>(uint64_t(blocks) * block_, kZeroBytes);
        COFFER_RETURN_IF_ERROR(WriteBlocks(lease, pos, Zeros().data(), n));
        pos += n;
      }
    }
    if (last < end) COFFER_RETURN_IF_ERROR(WriteZerosSlow(last, end - last));
    return {};
  }

  Status Flush() {
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    Task task{libiscsi->iscsi_synchronizecache16_sync(lease->ctx, lease->lun, 0, 0, 0, 0)};
    return CheckTask(*lease, task, "synchronizing the cache of " + name_);
  }

  // GET LBA STATUS: the first mapped block at or after `offset`.
  Result<Extent> NextData(uint64_t offset) {
    if (offset >= size_) return Extent{size_, 0};
    if (!thin_) return Extent{offset, size_ - offset};
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    uint64_t lba = offset / block_;
    std::optional<uint64_t> data_start;
    while (lba * block_ < size_) {
      Task task{libiscsi->iscsi_get_lba_status_sync(lease->ctx, lease->lun, lba, 8 + 16 * 64)};
      COFFER_RETURN_IF_ERROR(CheckTask(*lease, task, "GET LBA STATUS on " + Where(lba * block_)));
      auto* status = static_cast<scsi_get_lba_status*>(libiscsi->scsi_datain_unmarshall(task.t));
      if (status == nullptr || status->num_descriptors == 0) break;
      uint64_t next = lba;
      for (uint32_t i = 0; i < status->num_descriptors; ++i) {
        const scsi_lba_status_descriptor& d = status->descriptors[i];
        uint64_t d_start = std::max<uint64_t>(d.lba, lba) * block_;
        uint64_t d_end = std::min<uint64_t>((d.lba + d.num_blocks) * block_, size_);
        bool mapped = d.provisioning == SCSI_PROVISIONING_TYPE_MAPPED;
        if (data_start && !mapped) return Clip(offset, *data_start, d_start);
        if (!data_start && mapped) data_start = d_start;
        next = std::max<uint64_t>(next, d.lba + d.num_blocks);
        if (d_end >= size_) break;
      }
      if (data_start) return Clip(offset, *data_start, std::min(next * block_, size_));
      if (next <= lba) break;  // no progress: read the rest
      lba = next;
    }
    if (lba * block_ >= size_) return Extent{size_, 0};
    return Extent{std::max(offset, lba * block_), size_ - std::max(offset, lba * block_)};
  }

 private:
  // 1 MiB of zeros, made on first use: a static vector would be allocated
  // and zeroed at every start of the binary, whatever the command.
  static constexpr size_t kZeroBytes = size_t(1) << 20;
  static const std::vector<uint8_t>& Zeros() {
    static const std::vector<uint8_t> zeros(kZeroBytes, 0);
    return zeros;
  }

  uint64_t RoundUp(uint64_t n) const { return (n + block_ - 1) / block_ * block_; }
  std::string Where(uint64_t offset) const {
    return name_ + " at offset " + std::to_string(offset);
  }
  static Extent Clip(uint64_t offset, uint64_t start, uint64_t end) {
    start = std::max(start, offset);
    return Extent{start, end > start ? end - start : 0};
  }

  using Lease = ConnectionPool<IscsiConn>::Lease;

  Status WriteBlocks(Lease& lease, uint64_t offset, const uint8_t* data, uint64_t len) {
    Task task{libiscsi->iscsi_write16_sync(lease->ctx, lease->lun, offset / block_,
                                           const_cast<uint8_t*>(data), uint32_t(len), int(block_),
                                           0, 0, 0, 0, 0)};
    auto st = CheckTask(*lease, task, "writing " + Where(offset));
    if (!st) lease.Discard();
    return st;
  }

  // Read-modify-write of one partial block; serialized so that two writes
  // sharing the block cannot both read the old contents.
  Status Patch(uint64_t offset, ByteView data) {
    std::lock_guard lock(patch_mu_);
    uint64_t start = offset / block_ * block_;
    std::vector<uint8_t> block(block_);
    COFFER_RETURN_IF_ERROR(Read(start, block.data(), block_));
    std::memcpy(block.data() + (offset - start), data.data(), data.size());
    COFFER_ASSIGN_OR_RETURN(auto lease, pool_->Acquire());
    return WriteBlocks(lease, start, block.data(), block_);
  }

  Status WriteZerosSlow(uint64_t offset, uint64_t len) {
    std::vector<uint8_t> zeros(size_t(std::min<uint64_t>(len, kZeroBytes)), 0);
    for (uint64_t done = 0; done < len;) {
      size_t n = size_t(std::min<uint64_t>(len - done, zeros.size()));
      COFFER_RETURN_IF_ERROR(Write(offset + done, ByteView(zeros.data(), n)));
      done += n;
    }
    return {};
  }

  std::string name_;
  uint32_t block_;
  uint64_t size_;
  bool thin_;
  std::atomic<bool> write_same_ok_{true};
  std::mutex patch_mu_;
  std::unique_ptr<ConnectionPool<IscsiConn>> pool_;
};

Result<std::unique_ptr<IscsiVolume>> OpenVolume(const std::string& url,
                                                const IscsiOptions& options) {
  std::string name = RedactIscsiUrl(url);
  COFFER_ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(url));
  COFFER_ASSIGN_OR_RETURN(auto first, Connect(parts, name, options.initiator_name));
  Task task{libiscsi->iscsi_readcapacity16_sync(first->ctx, first->lun)};
  COFFER_RETURN_IF_ERROR(CheckTask(*first, task, "reading the capacity of " + name));
  auto* rc = static_cast<scsi_readcapacity16*>(libiscsi->scsi_datain_unmarshall(task.t));
  if (rc == nullptr || rc->block_length == 0) {
    return Internal("the target sent an unreadable capacity for " + name);
  }
  bool thin = rc->lbpme != 0 && rc->lbprz != 0;
  return std::make_unique<IscsiVolume>(name, parts, options, std::move(first), rc->block_length,
                                       rc->returned_lba + 1, thin);
}

class IscsiReader final : public VolumeReader {
 public:
  explicit IscsiReader(std::unique_ptr<IscsiVolume> v) : v_(std::move(v)) {}
  const std::string& name() const override { return v_->name(); }
  uint64_t size() const override { return v_->size(); }
  Status ReadAt(uint64_t offset, uint8_t* out, size_t len) override {
    return v_->Read(offset, out, len);
  }
  Result<Extent> NextData(uint64_t offset) override { return v_->NextData(offset); }

 private:
  std::unique_ptr<IscsiVolume> v_;
};

class IscsiWriter final : public VolumeWriter {
 public:
  explicit IscsiWriter(std::unique_ptr<IscsiVolume> v) : v_(std::move(v)) {}
  const std::string& name() const override { return v_->name(); }
  Status WriteAt(uint64_t offset, ByteView data) override { return v_->Write(offset, data); }
  Status WriteZeros(uint64_t offset, uint64_t len) override { return v_->Zero(offset, len); }
  Status Commit() override { return v_->Flush(); }

 private:
  std::unique_ptr<IscsiVolume> v_;
};

}  // namespace

std::string RedactIscsiUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t at = url.find('@', scheme + 3);
  size_t slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  size_t pct = url.find('%', scheme + 3);
  if (pct == std::string::npos || pct > at) return url;
  return url.substr(0, pct + 1) + "***" + url.substr(at);
}

Result<std::unique_ptr<VolumeReader>> OpenIscsiVolume(const std::string& url,
                                                      const IscsiOptions& options) {
  COFFER_ASSIGN_OR_RETURN(auto v, OpenVolume(url, options));
  return std::unique_ptr<VolumeReader>(new IscsiReader(std::move(v)));
}

Result<std::unique_ptr<VolumeWriter>> OpenIscsiVolumeForRestore(const std::string& url,
                                                                uint64_t size,
                                                                const IscsiOptions& options) {
  COFFER_ASSIGN_OR_RETURN(auto v, OpenVolume(url, options));
  if (v->size() < size) {
    return InvalidArgument("LUN " + v->name() + " holds " + std::to_string(v->size()) +
                           " bytes, less than the backup's " + std::to_string(size));
  }
  return std::unique_ptr<VolumeWriter>(new IscsiWriter(std::move(v)));
}

}  // namespace coffer
