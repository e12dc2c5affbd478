// PersonalData: encryption of personal data at rest, per person and kind of
// record, so that erasure is the destruction of a key (crypto-shredding).
//
// Personal data lives only in throughline.cpd.v1.PersonalDetails and
// PrivateText messages. Before a CPD event is appended, Seal replaces each
// of them by its Sealed form: the plain message serialized and encrypted
// with AES-256-GCM under the data key of (trust, subject, kind), with a
// random 96-bit nonce and additional data binding trust, subject, kind and
// message type. Stored events, the views' fact store, the bus and backups
// therefore only ever hold ciphertext. Reveal, applied to any outgoing
// message, walks every PersonalDetails / PrivateText in it and decrypts it,
// or marks it erased when its key is gone.
//
// Data keys are 32 random bytes, stored wrapped (AES-256-GCM under the
// master key, bound to trust, subject and kind) as EventStore secrets named
// "data-key" 0x00 subject 0x00 kind-name. The master key is never stored
// in the database. Erase destroys keys through EventStore::DestroySecrets,
// which makes the deletion physical before returning.
//
// Thread safety: all methods are safe to call concurrently.

#ifndef THROUGHLINE_SERVICES_PRIVACY_PERSONAL_DATA_H_
#define THROUGHLINE_SERVICES_PRIVACY_PERSONAL_DATA_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "google/protobuf/message.h"
#include "projections/trust_state.h"
#include "throughline/cpd/v1/events.pb.h"

namespace throughline::services::privacy {

namespace cpd = ::throughline::cpd::v1;

// Size of the master key and of data keys, in bytes (AES-256).
inline constexpr size_t kKeyBytes = 32;
// What a reply shows in place of erased personal data.
inline constexpr char kErasedText[] = "[erased]";
// Prefix of every data key's secret name.
inline constexpr char kDataKeySecretPrefix[] = "data-key";

// Reads the master key: a file holding exactly 32 bytes, or 64 hex digits
// (surrounding whitespace ignored). When the file is missing and
// `create_if_missing`, writes a new random key there (hex, mode 0600,
// creating the directory) and returns it. FailedPrecondition for a file of
// another size or with permissions wider than 0600 on group/other write;
// NotFound when it is missing and not to be created.
absl::StatusOr<std::string> LoadMasterKey(const std::string& path,
                                          bool create_if_missing);

class PersonalData {
 public:
  // `store` must outlive this object. REQUIRES: master_key.size() ==
  // kKeyBytes.
  PersonalData(eventstore::EventStore* store, std::string master_key);

  // Seals every PersonalDetails / PrivateText of `event` in place, for
  // `tenant`, whose state before the event is `state` (used to find whom a
  // review note is about). Creates the data key on first use. Returns
  // InvalidArgument when the request itself set a server-only field
  // (sealed, erased), naming it.
  absl::Status Seal(const std::string& tenant,
                    const projections::TrustState& state, cpd::CpdEvent* event);

  // Replaces every sealed PersonalDetails / PrivateText in `message` (at
  // any depth) by its plain form, or by the erased form when its key was
  // destroyed. Fields that are not sealed are left as they are. When
  // `revealed` is given, adds to it the subject (staff id) of every field
  // it decrypted, once each, so that the caller can log whose data it read.
  absl::Status Reveal(const std::string& tenant,
                      google::protobuf::Message* message,
                      std::vector<std::string>* revealed = nullptr) const;

  // Reveal for one stored event given as its type, content type and data:
  // when it is a CPD event as the CPD services store them (its content type
  // names the throughline.cpd.v1 message of its type) and its data parses,
  // decodes `*data`, reveals it and encodes it again. Any other event, e.g.
  // one a client appended through the generic API, is left as it is.
  absl::Status RevealStoredEvent(
      const std::string& tenant, const std::string& type,
      const std::string& content_type, std::string* data,
      std::vector<std::string>* revealed = nullptr) const;

  // Whether stored events of CPD type `type` can hold personal data, i.e.
  // whether RevealStoredEvent may change them. Readers send every other
  // event as stored, without decoding it.
  static bool MayHoldPersonalData(absl::string_view type);

  // Destroys `subject`'s data keys of the given kinds (all kinds when
  // empty) and makes the deletion physical. Returns the kinds that had a
  // key.
  absl::StatusOr<std::vector<cpd::PersonalDataKind>> Erase(
      const std::string& tenant, const std::string& subject,
      const std::vector<cpd::PersonalDataKind>& kinds);

  // Destroys every data key of `tenant` whose secret name is not in `kept`
  // and makes the deletion physical, as Erase does. For a trust handed back
  // by a node that erased people meanwhile (ClusterService). Returns how
  // many keys were destroyed.
  absl::StatusOr<size_t> DestroyKeysNotIn(
      const std::string& tenant, const absl::flat_hash_set<std::string>& kept);

  // The kinds for which `subject` has a data key.
  absl::StatusOr<std::vector<cpd::PersonalDataKind>> KindsHeld(
      const std::string& tenant, const std::string& subject) const;

  // Checks a data key as another node stores it, secret `name` with wrapped
  // `value` of `tenant` (carried by a trust move), before it is stored here:
  // OK when it unwraps under this node's master key; InvalidArgument when
  // `name` is not a data key's name or `value` not a wrapped key;
  // FailedPrecondition when it does not unwrap (the master keys differ, or
  // the key was wrapped for another trust, subject or kind). Reads and
  // changes nothing.
  absl::Status CheckWrappedKey(const std::string& tenant,
                               const std::string& name,
                               const std::string& value) const;

  // The secret name of a data key (for tests that look for its bytes).
  static std::string SecretName(const std::string& subject,
                                cpd::PersonalDataKind kind);

 private:
  // The data key, unwrapped; nullopt when it does not exist (and
  // `create` is false).
  absl::StatusOr<std::optional<std::string>> DataKey(const std::string& tenant,
                                                     const std::string& subject,
                                                     cpd::PersonalDataKind kind,
                                                     bool create) const;
  absl::Status SealOne(const std::string& tenant, const std::string& subject,
                       cpd::PersonalDataKind kind,
                       google::protobuf::Message* message);

  eventstore::EventStore* const store_;
  const std::string master_key_;
  mutable absl::Mutex mu_;
  // Unwrapped keys by (tenant, secret name).
  mutable absl::flat_hash_map<std::string, std::string> cache_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace throughline::services::privacy

#endif  // THROUGHLINE_SERVICES_PRIVACY_PERSONAL_DATA_H_
