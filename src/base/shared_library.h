// Libraries that only some commands need, loaded when one first does.
//
// libcurl (S3), libpq (PostgreSQL), libnbd and libiscsi each pull in a
// dozen more (GnuTLS, Kerberos, LDAP, ICU, RDMA). Linked the usual way, all
// of them were mapped and relocated at every start: about 6 MiB of every
// command's resident memory and 4 ms of its start-up, spent by a backup to
// a local directory that uses none of them. Loaded on first use instead,
// they cost only the commands that need them, and a machine without them
// can still run everything else (a restore from a directory on a rescue
// system, say), with an error naming the missing package for the rest.
//
// Each user lists the functions it calls once, as an X-macro, and gets a
// table of pointers to them:
//
//   #define COFFER_NBD_FUNCTIONS(X) X(nbd_create) X(nbd_close)
//   COFFER_LIBRARY_FUNCTIONS(Nbd, COFFER_NBD_FUNCTIONS);
//   LibraryTable<Nbd> libnbd("libnbd.so.0", "libnbd0", "NBD volumes");
//
// (The real users take the soname and the package from the build's
// configuration, cmake/LoadedLibrary.cmake: the soname of the library whose
// headers they were compiled against, as a linker would have recorded it.)
//   ... COFFER_RETURN_IF_ERROR(libnbd.Load()); ... libnbd->nbd_create() ...
//
// A library, once opened, stays loaded for the life of the process.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

#include "base/error.h"

namespace coffer {

class SharedLibrary {
 public:
  // Opens `soname` (e.g. "libnbd.so.0"), needed for `purpose` (e.g. "NBD
  // volumes"); the error names the Debian package that provides it, unless
  // `package` is empty (unknown).
  static Result<SharedLibrary> Open(const std::string& soname, const std::string& package,
                                    const std::string& purpose);

  // Points *fn at the library's function `name`.
  template <typename F>
  Status Find(const char* name, F** fn) const {
    COFFER_ASSIGN_OR_RETURN(void* symbol, Symbol(name));
    *fn = reinterpret_cast<F*>(symbol);
    return {};
  }

 private:
  SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
  Result<void*> Symbol(const char* name) const;

  void* handle_;
  std::string soname_;
};

// A table of a library's functions, bound by the first Load that succeeds
// with `Table::Bind(lib, table)` (which COFFER_LIBRARY_FUNCTIONS declares).
// A failed Load is not remembered: a running agent or manager finds a
// library installed after it started. Thread-safe; after a successful
// Load, reading the table takes no lock.
template <typename Table>
class LibraryTable {
 public:
  LibraryTable(const char* soname, const char* package, const char* purpose)
      : soname_(soname), package_(package), purpose_(purpose) {}

  Status Load() {
    if (ready_.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(mu_);
    if (ready_.load(std::memory_order_relaxed)) return {};
    COFFER_ASSIGN_OR_RETURN(SharedLibrary lib, SharedLibrary::Open(soname_, package_, purpose_));
    COFFER_RETURN_IF_ERROR(Table::Bind(lib, table_));
    ready_.store(true, std::memory_order_release);
    return {};
  }

  // The table; only after a successful Load.
  const Table* operator->() const { return &table_; }

 private:
  const char* const soname_;
  const char* const package_;
  const char* const purpose_;
  std::mutex mu_;
  std::atomic<bool> ready_{false};
  Table table_;
};

// Declares `struct Name`, with a pointer of its own type for each C function
// that LIST (an X-macro) names, and the Bind that LibraryTable<Name> calls
// to point them at the library's functions.
#define COFFER_LIBRARY_FUNCTIONS(Name, LIST)                    \
  struct Name {                                                 \
    LIST(COFFER_LIBRARY_MEMBER)                                 \
    static Status Bind(const SharedLibrary& lib, Name& table) { \
      LIST(COFFER_LIBRARY_FIND)                                 \
      return {};                                                \
    }                                                           \
  }
// Its parts: one member, and one binding of it.
#define COFFER_LIBRARY_MEMBER(name) decltype(&::name) name = nullptr;
#define COFFER_LIBRARY_FIND(name) COFFER_RETURN_IF_ERROR(lib.Find(#name, &table.name));

}  // namespace coffer
