// AuthStore: the server's credentials and access log, in their own RocksDB
// at <data_dir>/auth (docs/storage-format.md).
//
// A bearer token is "tl1_<token_id>_<secret>": token_id is 32 hex digits
// naming the record, secret is 64 hex digits (256 random bits). Only a
// random 16-byte salt and SHA-256(salt || secret) are stored; the check
// compares digests in constant time. A client certificate is registered by
// the SHA-256 of its DER encoding instead.
//
// Tokens are also held in memory (there are few), so that authenticating a
// call reads no disk; every change is written through, synced, before it is
// acknowledged. Thread-safe.

#ifndef THROUGHLINE_SERVICES_AUTH_AUTH_STORE_H_
#define THROUGHLINE_SERVICES_AUTH_AUTH_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "eventstore/rocksdb_backup.h"
#include "rocksdb/db.h"
#include "services/auth/auth_record.pb.h"
#include "throughline/auth/v1/auth.pb.h"

namespace throughline::services::auth {

namespace v1 = ::throughline::auth::v1;
namespace storage = ::throughline::auth::storage;

// The token_id of the credential the server creates for its own
// in-process bus ingestion; never stored.
inline constexpr char kInternalTokenId[] = "internal";

struct IssuedToken {
  v1::Token token;
  // The bearer token text; empty on a retry and for a certificate.
  std::string secret;
  bool already_applied = false;
};

class AuthStore {
 public:
  // Opens (creating if missing) the store at `path`.
  static absl::StatusOr<std::unique_ptr<AuthStore>> Open(
      const std::string& path);
  ~AuthStore();

  // True when no credential was ever created (the bootstrap case).
  bool Empty() const;

  // Creates the credential `request` asks for. `scope` names who asks
  // ("operator" or the admin's trust): the request_id is unique within it.
  // The caller has validated the request. ALREADY_EXISTS when the
  // request_id was used for a different request, or the certificate is
  // registered already.
  absl::StatusOr<IssuedToken> Create(const v1::CreateTokenRequest& request,
                                     absl::string_view scope,
                                     absl::string_view created_by,
                                     absl::Time now);

  // Revokes `token_id` at `now`. NOT_FOUND when unknown.
  absl::StatusOr<IssuedToken> Revoke(absl::string_view token_id,
                                     absl::Time now);

  // The token, if it exists.
  absl::optional<v1::Token> Get(absl::string_view token_id) const;

  // Every token of `trust` (every token when nullopt), newest first.
  std::vector<v1::Token> List(const absl::optional<std::string>& trust) const;

  // The live token a bearer token text or a certificate fingerprint stands
  // for; UNAUTHENTICATED (with the same bland message) when malformed,
  // unknown, wrong, revoked or expired.
  absl::StatusOr<v1::Token> AuthenticateBearer(absl::string_view text,
                                               absl::Time now) const;
  absl::StatusOr<v1::Token> AuthenticateCertificate(
      absl::string_view sha256_hex, absl::Time now) const;

  // Makes the in-memory credential of the server's own bus ingestion (role
  // ROLE_INTERNAL, token id kInternalTokenId) and returns its bearer text.
  // Lives until the store is closed; never written to disk.
  std::string CreateInternalCredential();

  // An online backup of the store into the BackupEngine directory
  // `backup_dir` (see eventstore/rocksdb_backup.h), tagged with `metadata`.
  absl::StatusOr<eventstore::BackupOutcome> Backup(
      const std::string& backup_dir, const std::string& metadata);

  // Appends one entry to the access log of `trust`, synced.
  absl::Status RecordAccess(absl::string_view trust,
                            const v1::AccessEntry& entry);

  // The access log of `trust`, oldest first: at most `limit` entries after
  // `after` whose subject is `staff_id` or empty (a read of the whole
  // trust's log, which holds everyone's data). Every entry when staff_id is
  // empty.
  absl::StatusOr<std::vector<v1::AccessEntry>> ListAccess(
      absl::string_view trust, absl::string_view staff_id, absl::Time after,
      size_t limit) const;

 private:
  explicit AuthStore(std::unique_ptr<rocksdb::DB> db);
  absl::Status Put(const storage::StoredToken& record);

  std::unique_ptr<rocksdb::DB> db_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, storage::StoredToken> tokens_
      ABSL_GUARDED_BY(mu_);
  // Certificate fingerprint → token_id.
  absl::flat_hash_map<std::string, std::string> certificates_
      ABSL_GUARDED_BY(mu_);
  uint64_t access_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

// Lowercase hex of SHA-256 over `bytes`.
std::string Sha256Hex(absl::string_view bytes);

// "AB:cd:..." → "abcd...": the canonical form of a certificate fingerprint,
// or "" unless it is 64 hex digits.
std::string CanonicalFingerprint(absl::string_view text);

}  // namespace throughline::services::auth

#endif  // THROUGHLINE_SERVICES_AUTH_AUTH_STORE_H_
