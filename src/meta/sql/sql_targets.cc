// SqlMetaStore: backup targets and their leases (DESIGN §5).
#include "base/text.h"
#include "meta/sql/sql_meta_store.h"

namespace coffer::meta::sql {

#define COFFER_TARGET_COLUMNS                                                  \
  "id, name, address, s3_endpoint, s3_region, s3_access_key_id,"               \
  " CASE WHEN s3_secret_access_key_sealed IS NULL THEN 0 ELSE 1 END, gc_hour," \
  " gc_grace_seconds, created_at_us, updated_at_us"

namespace {

Result<BackupTarget> DecodeTarget(const SqlRow& row) {
  RowReader r(row);
  BackupTarget t;
  t.id = r.Text();
  t.name = r.Text();
  t.address = r.Text();
  t.s3_endpoint = r.Text();
  t.s3_region = r.Text();
  t.s3_access_key_id = r.Text();
  t.has_s3_secret_access_key = r.Int() != 0;
  t.gc_hour = int(r.Int());
  t.gc_grace_seconds = r.Int();
  t.created_at_us = r.Int();
  t.updated_at_us = r.Int();
  if (!r.ok()) return Corruption("malformed backup_target row " + t.id);
  return t;
}

Status CheckGc(int gc_hour, int64_t grace) {
  if (gc_hour < 0 || gc_hour > 23) {
    return InvalidArgument("gc_hour " + std::to_string(gc_hour) + " is not in 0..23");
  }
  if (grace < 0) return InvalidArgument("gc_grace_seconds is negative");
  return {};
}

std::string DescribeLease(const TargetLease& l) {
  return std::string(ToString(l.kind)) + " lease of '" + l.holder + "' until " +
         FormatRfc3339(l.expires_at_us / 1'000'000);
}

#define COFFER_LEASE_COLUMNS "target_id, holder, kind, acquired_at_us, expires_at_us"

Result<TargetLease> DecodeLease(const SqlRow& row) {
  RowReader r(row);
  TargetLease l;
  l.target_id = r.Text();
  l.holder = r.Text();
  std::string kind = r.Text();
  l.acquired_at_us = r.Int();
  l.expires_at_us = r.Int();
  if (!r.ok()) return Corruption("malformed target_lease row of " + l.target_id);
  COFFER_ASSIGN_OR_RETURN(l.kind, ParseLeaseKind(kind));
  return l;
}

Result<std::vector<TargetLease>> DecodeLeases(const SqlResult& res) {
  std::vector<TargetLease> out;
  for (const auto& row : res.rows) {
    COFFER_ASSIGN_OR_RETURN(auto l, DecodeLease(row));
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

Result<BackupTarget> SqlMetaStore::LoadTarget(SqlConn& c, const std::string& id) {
  COFFER_ASSIGN_OR_RETURN(
      auto res, c.Exec("SELECT " COFFER_TARGET_COLUMNS " FROM backup_target WHERE id = $1", {id}));
  if (res.rows.empty()) return NotFound("no backup target " + id);
  return DecodeTarget(res.rows[0]);
}

Status SqlMetaStore::LockTarget(SqlConn& c, const std::string& id) {
  COFFER_ASSIGN_OR_RETURN(
      auto res, c.Exec("UPDATE backup_target SET lease_seq = lease_seq + 1 WHERE id = $1", {id}));
  if (res.affected == 0) return NotFound("no backup target " + id);
  return {};
}

Result<BackupTarget> SqlMetaStore::CreateBackupTarget(const NewBackupTarget& in) {
  COFFER_RETURN_IF_ERROR(CheckName(in.name, "backup target"));
  if (in.address.empty()) return InvalidArgument("backup target address is empty");
  COFFER_RETURN_IF_ERROR(CheckGc(in.gc_hour, in.gc_grace_seconds));
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForCreate(in.id, "backup target"));
  const int64_t now = Now();
  BackupTarget t{id,
                 in.name,
                 in.address,
                 in.s3_endpoint,
                 in.s3_region,
                 in.s3_access_key_id,
                 !in.s3_secret_access_key.empty(),
                 in.gc_hour,
                 in.gc_grace_seconds,
                 now,
                 now};
  const std::string tk_sealed =
      box_.Seal(ByteView(in.target_key.data(), kKeyLen), id, kTargetKeyField);
  std::optional<std::string> s3_sealed;
  if (!in.s3_secret_access_key.empty()) {
    s3_sealed = box_.Seal(AsBytes(in.s3_secret_access_key.Reveal()), id, kTargetS3SecretField);
  }
  COFFER_RETURN_IF_ERROR(Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        auto taken,
        c.Exec("SELECT id FROM backup_target WHERE id = $1 OR name = $2", {id, t.name}));
    if (!taken.rows.empty()) {
      if (taken.rows[0][0] == id) return AlreadyExists("backup target " + id + " already exists");
      return AlreadyExists("a backup target named '" + t.name + "' already exists");
    }
    SqlParam s3 = s3_sealed ? SqlParam(std::string_view(*s3_sealed)) : SqlParam();
    return Done(c.Exec(
        "INSERT INTO backup_target (id, name, address, s3_endpoint, s3_region, s3_access_key_id,"
        " s3_secret_access_key_sealed, target_key_sealed, gc_hour, gc_grace_seconds,"
        " created_at_us, updated_at_us)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        {id, t.name, t.address, t.s3_endpoint, t.s3_region, t.s3_access_key_id, s3, tk_sealed,
         int64_t(t.gc_hour), t.gc_grace_seconds, now}));
  }));
  return t;
}

Result<BackupTarget> SqlMetaStore::GetBackupTarget(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup target"));
  return Tx<BackupTarget>(TxKind::kRead, [&](SqlConn& c) { return LoadTarget(c, id); });
}

Result<std::vector<BackupTarget>> SqlMetaStore::ListBackupTargets() {
  return Tx<std::vector<BackupTarget>>(
      TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<BackupTarget>> {
        COFFER_ASSIGN_OR_RETURN(
            auto res,
            c.Exec("SELECT " COFFER_TARGET_COLUMNS " FROM backup_target ORDER BY name, id", {}));
        std::vector<BackupTarget> out;
        for (const auto& row : res.rows) {
          COFFER_ASSIGN_OR_RETURN(auto t, DecodeTarget(row));
          out.push_back(std::move(t));
        }
        return out;
      });
}

Result<BackupTarget> SqlMetaStore::UpdateBackupTarget(std::string_view id_in,
                                                      const BackupTargetPatch& p) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup target"));
  if (p.name) COFFER_RETURN_IF_ERROR(CheckName(*p.name, "backup target"));
  return Tx<BackupTarget>(TxKind::kWrite, [&](SqlConn& c) -> Result<BackupTarget> {
    COFFER_ASSIGN_OR_RETURN(BackupTarget t, LoadTarget(c, id));
    if (p.name && *p.name != t.name) {
      COFFER_ASSIGN_OR_RETURN(bool taken, Exists(c, "SELECT id FROM backup_target WHERE name = $1",
                                                 {std::string_view(*p.name)}));
      if (taken) return AlreadyExists("a backup target named '" + *p.name + "' already exists");
      t.name = *p.name;
    }
    if (p.s3_endpoint) t.s3_endpoint = *p.s3_endpoint;
    if (p.s3_region) t.s3_region = *p.s3_region;
    if (p.s3_access_key_id) t.s3_access_key_id = *p.s3_access_key_id;
    if (p.gc_hour) t.gc_hour = *p.gc_hour;
    if (p.gc_grace_seconds) t.gc_grace_seconds = *p.gc_grace_seconds;
    COFFER_RETURN_IF_ERROR(CheckGc(t.gc_hour, t.gc_grace_seconds));
    t.updated_at_us = Now();
    COFFER_RETURN_IF_ERROR(
        c.Exec("UPDATE backup_target SET name = $2, s3_endpoint = $3, s3_region = $4,"
               " s3_access_key_id = $5, gc_hour = $6, gc_grace_seconds = $7, updated_at_us = $8"
               " WHERE id = $1",
               {id, t.name, t.s3_endpoint, t.s3_region, t.s3_access_key_id, int64_t(t.gc_hour),
                t.gc_grace_seconds, t.updated_at_us}));
    if (p.s3_secret_access_key) {
      // An empty key removes it (a target that moved to instance credentials).
      std::optional<std::string> sealed;
      if (!p.s3_secret_access_key->empty()) {
        sealed = box_.Seal(AsBytes(p.s3_secret_access_key->Reveal()), id, kTargetS3SecretField);
      }
      SqlParam s3 = sealed ? SqlParam(std::string_view(*sealed)) : SqlParam();
      COFFER_RETURN_IF_ERROR(c.Exec(
          "UPDATE backup_target SET s3_secret_access_key_sealed = $2 WHERE id = $1", {id, s3}));
      t.has_s3_secret_access_key = sealed.has_value();
    }
    return t;
  });
}

Status SqlMetaStore::DeleteBackupTarget(std::string_view id_in, bool force) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup target"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    COFFER_RETURN_IF_ERROR(LockTarget(c, id));
    const std::string what = "backup target " + id;
    COFFER_ASSIGN_OR_RETURN(
        int64_t running,
        QueryInt(c, "SELECT count(*) FROM backup WHERE target_id = $1 AND status = 'running'",
                 {id}));
    if (running > 0)
      return Conflict(what + " has " + std::to_string(running) + " running backup(s)");
    COFFER_ASSIGN_OR_RETURN(auto leases,
                            c.Exec("SELECT " COFFER_LEASE_COLUMNS
                                   " FROM target_lease WHERE target_id = $1 AND expires_at_us > $2"
                                   " ORDER BY holder",
                                   {id, Now()}));
    if (!leases.rows.empty()) {
      COFFER_ASSIGN_OR_RETURN(auto l, DecodeLease(leases.rows[0]));
      return Conflict(what + " is in use: " + DescribeLease(l));
    }
    COFFER_ASSIGN_OR_RETURN(int64_t backups,
                            QueryInt(c, "SELECT count(*) FROM backup WHERE target_id = $1", {id}));
    COFFER_ASSIGN_OR_RETURN(
        int64_t volumes,
        QueryInt(c, "SELECT count(*) FROM volume WHERE backup_target_id = $1", {id}));
    if (!force && (backups > 0 || volumes > 0)) {
      return Conflict(what + " is referenced by " + std::to_string(backups) + " backup(s) and " +
                      std::to_string(volumes) + " volume schedule(s); delete them or force");
    }
    COFFER_RETURN_IF_ERROR(c.Exec("DELETE FROM backup WHERE target_id = $1", {id}));
    COFFER_RETURN_IF_ERROR(
        c.Exec("UPDATE volume SET backup_target_id = NULL WHERE backup_target_id = $1", {id}));
    COFFER_RETURN_IF_ERROR(c.Exec("DELETE FROM backup_gc_run WHERE target_id = $1", {id}));
    COFFER_RETURN_IF_ERROR(c.Exec("DELETE FROM target_lease WHERE target_id = $1", {id}));
    return Done(c.Exec("DELETE FROM backup_target WHERE id = $1", {id}));
  });
}

Result<TargetSecrets> SqlMetaStore::GetTargetSecrets(std::string_view id_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(id_in, "backup target"));
  COFFER_ASSIGN_OR_RETURN(SqlRow row, Tx<SqlRow>(TxKind::kRead, [&](SqlConn& c) -> Result<SqlRow> {
                            COFFER_ASSIGN_OR_RETURN(auto res,
                                                    c.Exec("SELECT s3_secret_access_key_sealed,"
                                                           " target_key_sealed FROM backup_target"
                                                           " WHERE id = $1",
                                                           {id}));
                            if (res.rows.empty()) return NotFound("no backup target " + id);
                            return std::move(res.rows[0]);
                          }));
  RowReader r(row);
  std::optional<std::string> s3_sealed = r.OptText();
  std::string tk_sealed = r.Text();
  TargetSecrets out;
  if (s3_sealed) {
    COFFER_ASSIGN_OR_RETURN(out.s3_secret_access_key,
                            box_.Open(*s3_sealed, id, kTargetS3SecretField));
  }
  COFFER_ASSIGN_OR_RETURN(SecretString tk, box_.Open(tk_sealed, id, kTargetKeyField));
  if (tk.Reveal().size() != kKeyLen) {
    return Corruption("the target key of backup target " + id + " is not " +
                      std::to_string(kKeyLen) + " bytes");
  }
  out.target_key = SecretKey(reinterpret_cast<const uint8_t*>(tk.Reveal().data()));
  return out;
}

// ---- leases -----------------------------------------------------------------

Result<TargetLease> SqlMetaStore::AcquireTargetLease(std::string_view target_in, LeaseKind kind,
                                                     std::string_view holder,
                                                     std::chrono::milliseconds ttl) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(target_in, "backup target"));
  if (holder.empty()) return InvalidArgument("lease holder is empty");
  if (ttl.count() <= 0) return InvalidArgument("lease ttl must be positive");
  return Tx<TargetLease>(TxKind::kWrite, [&](SqlConn& c) -> Result<TargetLease> {
    COFFER_RETURN_IF_ERROR(LockTarget(c, id));
    const int64_t now = Now();
    const std::string what = "backup target " + id;
    COFFER_RETURN_IF_ERROR(
        c.Exec("DELETE FROM target_lease WHERE target_id = $1 AND expires_at_us <= $2", {id, now}));
    // Other holders that exclude this lease: for GC every one, for a backup
    // only GC.
    COFFER_ASSIGN_OR_RETURN(auto others,
                            c.Exec("SELECT " COFFER_LEASE_COLUMNS
                                   " FROM target_lease WHERE target_id = $1 AND holder <> $2"
                                   " AND (kind = 'gc' OR $3 = 1) ORDER BY holder",
                                   {id, holder, int64_t(kind == LeaseKind::kGc ? 1 : 0)}));
    if (!others.rows.empty()) {
      COFFER_ASSIGN_OR_RETURN(auto l, DecodeLease(others.rows[0]));
      return Conflict(what + " is in use: " + DescribeLease(l));
    }
    if (kind == LeaseKind::kGc) {
      COFFER_ASSIGN_OR_RETURN(
          auto running,
          c.Exec("SELECT id FROM backup WHERE target_id = $1 AND status = 'running' ORDER BY id",
                 {id}));
      if (!running.rows.empty()) {
        return Conflict(what + " has a running backup, " + RowReader(running.rows[0]).Text());
      }
    }
    const int64_t expires = now + int64_t(ttl.count()) * 1000;
    COFFER_RETURN_IF_ERROR(
        c.Exec("INSERT INTO target_lease (target_id, holder, kind, acquired_at_us, expires_at_us)"
               " VALUES ($1, $2, $3, $4, $5)"
               " ON CONFLICT (target_id, holder) DO UPDATE"
               " SET kind = excluded.kind, expires_at_us = excluded.expires_at_us",
               {id, holder, ToString(kind), now, expires}));
    COFFER_ASSIGN_OR_RETURN(
        auto res, c.Exec("SELECT " COFFER_LEASE_COLUMNS " FROM target_lease WHERE target_id = $1"
                         " AND holder = $2",
                         {id, holder}));
    if (res.rows.empty()) return Internal("the lease just written is missing");
    return DecodeLease(res.rows[0]);
  });
}

Result<TargetLease> SqlMetaStore::RenewTargetLease(std::string_view target_in,
                                                   std::string_view holder,
                                                   std::chrono::milliseconds ttl) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(target_in, "backup target"));
  if (ttl.count() <= 0) return InvalidArgument("lease ttl must be positive");
  return Tx<TargetLease>(TxKind::kWrite, [&](SqlConn& c) -> Result<TargetLease> {
    const int64_t now = Now();
    COFFER_ASSIGN_OR_RETURN(auto upd,
                            c.Exec("UPDATE target_lease SET expires_at_us = $3"
                                   " WHERE target_id = $1 AND holder = $2 AND expires_at_us > $4",
                                   {id, holder, now + int64_t(ttl.count()) * 1000, now}));
    if (upd.affected == 0) {
      return Conflict("the lease of '" + std::string(holder) + "' on backup target " + id +
                      " has expired or was released");
    }
    COFFER_ASSIGN_OR_RETURN(
        auto res, c.Exec("SELECT " COFFER_LEASE_COLUMNS " FROM target_lease WHERE target_id = $1"
                         " AND holder = $2",
                         {id, holder}));
    if (res.rows.empty()) return Internal("the lease just renewed is missing");
    return DecodeLease(res.rows[0]);
  });
}

Status SqlMetaStore::ReleaseTargetLease(std::string_view target_in, std::string_view holder) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(target_in, "backup target"));
  return Tx(TxKind::kWrite, [&](SqlConn& c) -> Status {
    return Done(
        c.Exec("DELETE FROM target_lease WHERE target_id = $1 AND holder = $2", {id, holder}));
  });
}

Result<std::vector<TargetLease>> SqlMetaStore::ListTargetLeases(std::string_view target_in) {
  COFFER_ASSIGN_OR_RETURN(std::string id, IdForLookup(target_in, "backup target"));
  return Tx<std::vector<TargetLease>>(
      TxKind::kRead, [&](SqlConn& c) -> Result<std::vector<TargetLease>> {
        COFFER_RETURN_IF_ERROR(LoadTarget(c, id));
        COFFER_ASSIGN_OR_RETURN(
            auto res, c.Exec("SELECT " COFFER_LEASE_COLUMNS
                             " FROM target_lease WHERE target_id = $1 AND expires_at_us > $2"
                             " ORDER BY holder",
                             {id, Now()}));
        return DecodeLeases(res);
      });
}

}  // namespace coffer::meta::sql
