#include "services/auth/auth_store.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "services/timestamps.h"

namespace throughline::services::auth {
namespace {

constexpr char kTokenPrefix[] = "t/";
constexpr char kAccessPrefix[] = "a/";
constexpr char kBearerVersion[] = "tl1";
constexpr char kUnauthenticated[] = "a valid credential is required";

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError(kUnauthenticated);
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("auth store: ", what, ": ", s.ToString()));
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  // RAND_bytes fails only when the system has no entropy source; a server
  // that cannot make secrets must not hand out guessable ones.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

std::string Sha256(absl::string_view bytes) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

bool IsLowerHex(absl::string_view text, size_t size) {
  if (text.size() != size) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool Live(const v1::Token& token, absl::Time now) {
  if (token.has_revoked_at()) return false;
  if (token.has_expires_at()) {
    absl::StatusOr<absl::Time> expires =
        TimeFromProto(token.expires_at(), "expires_at");
    if (!expires.ok() || now >= *expires) return false;
  }
  return true;
}

// Access keys: "a/<trust>\0<16 hex digits of unix nanos><16 of sequence>",
// so that one trust's entries are contiguous and in time order.
std::string AccessKeyPrefix(absl::string_view trust) {
  return absl::StrCat(kAccessPrefix, trust, absl::string_view("\0", 1));
}

}  // namespace

std::string Sha256Hex(absl::string_view bytes) {
  return absl::BytesToHexString(Sha256(bytes));
}

std::string CanonicalFingerprint(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return IsLowerHex(out, 64) ? out : "";
}

AuthStore::AuthStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

AuthStore::~AuthStore() {
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::unique_ptr<AuthStore>> AuthStore::Open(
    const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (absl::Status s = FromRocks(rocksdb::DB::Open(options, path, &raw),
                                 absl::StrCat("open ", path));
      !s.ok()) {
    return s;
  }
  std::unique_ptr<AuthStore> store(
      new AuthStore(std::unique_ptr<rocksdb::DB>(raw)));
  std::unique_ptr<rocksdb::Iterator> it(
      store->db_->NewIterator(rocksdb::ReadOptions()));
  absl::MutexLock lock(&store->mu_);
  for (it->Seek(kTokenPrefix);
       it->Valid() && it->key().starts_with(kTokenPrefix); it->Next()) {
    storage::StoredToken record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat(
          "auth store: unreadable token record ", it->key().ToString()));
    }
    if (!record.token().certificate_sha256().empty()) {
      store->certificates_[record.token().certificate_sha256()] =
          record.token().token_id();
    }
    store->tokens_[record.token().token_id()] = std::move(record);
  }
  if (absl::Status s = FromRocks(it->status(), "load tokens"); !s.ok()) {
    return s;
  }
  return store;
}

bool AuthStore::Empty() const {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, record] : tokens_) {
    if (id != kInternalTokenId) return false;
  }
  return true;
}

absl::Status AuthStore::Put(const storage::StoredToken& record) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(
      db_->Put(options, absl::StrCat(kTokenPrefix, record.token().token_id()),
               record.SerializeAsString()),
      "write token");
}

absl::StatusOr<IssuedToken> AuthStore::Create(
    const v1::CreateTokenRequest& request, absl::string_view scope,
    absl::string_view created_by, absl::Time now) {
  // The id is derived from who asks and the request_id, so that a retry
  // finds the first call's record.
  const std::string token_id =
      Sha256Hex(
          absl::StrCat(scope, absl::string_view("\0", 1), request.request_id()))
          .substr(0, 32);
  const std::string digest = Sha256(absl::StrCat(
      scope, absl::string_view("\0", 1), request.SerializeAsString()));
  absl::MutexLock lock(&mu_);
  if (auto it = tokens_.find(token_id); it != tokens_.end()) {
    if (it->second.request_digest() != digest) {
      return absl::AlreadyExistsError(
          "request_id: already used for a different request");
    }
    IssuedToken retry;
    retry.token = it->second.token();
    retry.already_applied = true;
    return retry;
  }
  const std::string fingerprint =
      CanonicalFingerprint(request.certificate_sha256());
  if (!fingerprint.empty() && certificates_.contains(fingerprint)) {
    return absl::AlreadyExistsError(
        "certificate_sha256: this certificate is registered already");
  }
  storage::StoredToken record;
  v1::Token& token = *record.mutable_token();
  token.set_token_id(token_id);
  *token.mutable_principal() = request.principal();
  TimeToProto(now, token.mutable_created_at());
  if (request.has_expires_at())
    *token.mutable_expires_at() = request.expires_at();
  token.set_created_by(std::string(created_by));
  record.set_request_digest(digest);
  IssuedToken issued;
  if (!fingerprint.empty()) {
    token.set_certificate_sha256(fingerprint);
  } else {
    const std::string secret = absl::BytesToHexString(RandomBytes(32));
    record.set_salt(RandomBytes(16));
    record.set_secret_sha256(Sha256(absl::StrCat(record.salt(), secret)));
    issued.secret = absl::StrCat(kBearerVersion, "_", token_id, "_", secret);
  }
  if (absl::Status s = Put(record); !s.ok()) return s;
  if (!fingerprint.empty()) certificates_[fingerprint] = token_id;
  issued.token = token;
  tokens_[token_id] = std::move(record);
  return issued;
}

absl::StatusOr<IssuedToken> AuthStore::Revoke(absl::string_view token_id,
                                              absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(token_id);
  if (it == tokens_.end() || token_id == kInternalTokenId) {
    return absl::NotFoundError(
        absl::StrCat("token_id: no token \"", token_id, "\""));
  }
  IssuedToken out;
  if (it->second.token().has_revoked_at()) {
    out.token = it->second.token();
    out.already_applied = true;
    return out;
  }
  storage::StoredToken record = it->second;
  TimeToProto(now, record.mutable_token()->mutable_revoked_at());
  if (absl::Status s = Put(record); !s.ok()) return s;
  out.token = record.token();
  it->second = std::move(record);
  return out;
}

absl::optional<v1::Token> AuthStore::Get(absl::string_view token_id) const {
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(token_id);
  if (it == tokens_.end() || token_id == kInternalTokenId) {
    return absl::nullopt;
  }
  return it->second.token();
}

std::vector<v1::Token> AuthStore::List(
    const absl::optional<std::string>& trust) const {
  std::vector<v1::Token> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, record] : tokens_) {
      if (id == kInternalTokenId) continue;
      if (trust.has_value() && record.token().principal().trust() != *trust) {
        continue;
      }
      out.push_back(record.token());
    }
  }
  std::sort(out.begin(), out.end(), [](const v1::Token& a, const v1::Token& b) {
    if (a.created_at().seconds() != b.created_at().seconds()) {
      return a.created_at().seconds() > b.created_at().seconds();
    }
    if (a.created_at().nanos() != b.created_at().nanos()) {
      return a.created_at().nanos() > b.created_at().nanos();
    }
    return a.token_id() < b.token_id();
  });
  return out;
}

absl::StatusOr<v1::Token> AuthStore::AuthenticateBearer(absl::string_view text,
                                                        absl::Time now) const {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '_');
  if (parts.size() != 3 || parts[0] != kBearerVersion ||
      (!IsLowerHex(parts[1], 32) && parts[1] != kInternalTokenId) ||
      !IsLowerHex(parts[2], 64)) {
    return Unauthenticated();
  }
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(parts[1]);
  if (it == tokens_.end() || it->second.salt().empty()) {
    return Unauthenticated();
  }
  const std::string digest = Sha256(absl::StrCat(it->second.salt(), parts[2]));
  const std::string& expected = it->second.secret_sha256();
  if (expected.size() != digest.size() ||
      CRYPTO_memcmp(digest.data(), expected.data(), digest.size()) != 0) {
    return Unauthenticated();
  }
  if (!Live(it->second.token(), now)) return Unauthenticated();
  return it->second.token();
}

absl::StatusOr<v1::Token> AuthStore::AuthenticateCertificate(
    absl::string_view sha256_hex, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = certificates_.find(sha256_hex);
  if (it == certificates_.end()) return Unauthenticated();
  auto token = tokens_.find(it->second);
  if (token == tokens_.end() || !Live(token->second.token(), now)) {
    return Unauthenticated();
  }
  return token->second.token();
}

std::string AuthStore::CreateInternalCredential() {
  storage::StoredToken record;
  v1::Token& token = *record.mutable_token();
  token.set_token_id(kInternalTokenId);
  token.mutable_principal()->set_name("bus ingest");
  token.mutable_principal()->set_role(v1::ROLE_INTERNAL);
  token.set_created_by("server");
  const std::string secret = absl::BytesToHexString(RandomBytes(32));
  record.set_salt(RandomBytes(16));
  record.set_secret_sha256(Sha256(absl::StrCat(record.salt(), secret)));
  // The internal id is not hex, so it is looked up by a fixed name.
  absl::MutexLock lock(&mu_);
  tokens_[kInternalTokenId] = std::move(record);
  return absl::StrCat(kBearerVersion, "_", kInternalTokenId, "_", secret);
}

absl::Status AuthStore::RecordAccess(absl::string_view trust,
                                     const v1::AccessEntry& entry) {
  uint64_t sequence;
  {
    absl::MutexLock lock(&mu_);
    sequence = ++access_sequence_;
  }
  const int64_t nanos = absl::ToUnixNanos(
      TimeFromProto(entry.time(), "time").value_or(absl::UnixEpoch()));
  const std::string key = absl::StrCat(
      AccessKeyPrefix(trust),
      absl::StrFormat("%016x%016x", static_cast<uint64_t>(nanos), sequence));
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Put(options, key, entry.SerializeAsString()),
                   "write access log");
}

absl::StatusOr<std::vector<v1::AccessEntry>> AuthStore::ListAccess(
    absl::string_view trust, absl::string_view staff_id, absl::Time after,
    size_t limit) const {
  const std::string prefix = AccessKeyPrefix(trust);
  std::vector<v1::AccessEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  const int64_t after_nanos =
      after <= absl::UnixEpoch() ? 0 : absl::ToUnixNanos(after) + 1;
  it->Seek(absl::StrCat(prefix, absl::StrFormat("%016x", after_nanos)));
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Next()) {
    v1::AccessEntry entry;
    if (!entry.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError("auth store: unreadable access log entry");
    }
    if (!staff_id.empty() && !entry.subject_staff_id().empty() &&
        entry.subject_staff_id() != staff_id) {
      continue;
    }
    out.push_back(std::move(entry));
  }
  if (absl::Status s = FromRocks(it->status(), "read access log"); !s.ok()) {
    return s;
  }
  return out;
}

absl::StatusOr<eventstore::BackupOutcome> AuthStore::Backup(
    const std::string& backup_dir, const std::string& metadata) {
  return eventstore::BackupRocksDb(db_.get(), backup_dir, metadata);
}

}  // namespace throughline::services::auth
