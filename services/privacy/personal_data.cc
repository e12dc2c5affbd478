#include "services/privacy/personal_data.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "projections/cpd_codec.h"
#include "throughline/cpd/v1/common.pb.h"

namespace throughline::services::privacy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
// First byte of a wrapped data key: the wrapping format.
constexpr char kWrapFormat = 1;

std::string Random(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()),
                 static_cast<int>(n)) != 1) {
    // OpenSSL's generator failing leaves nothing safe to do.
    std::abort();
  }
  return bytes;
}

// AES-256-GCM: returns ciphertext followed by the tag.
absl::StatusOr<std::string> Encrypt(absl::string_view key,
                                    absl::string_view nonce,
                                    absl::string_view aad,
                                    absl::string_view plain) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(
      EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(plain.size() + kTagBytes, '\0');
  int len = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(
          ctx.get(), EVP_aes_256_gcm(), nullptr,
          reinterpret_cast<const unsigned char*>(key.data()),
          reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len,
                        reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          o + plain.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return out;
}

// The public id of a data key (Sealed.key_id): which key sealed a field,
// without revealing the key.
std::string KeyId(absl::string_view key) {
  static constexpr char kLabel[] = "throughline data key id";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
  if (ctx == nullptr ||
      EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), kLabel, sizeof(kLabel) - 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), key.data(), key.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1 || size < 8) {
    std::abort();  // SHA-256 cannot fail on valid input.
  }
  return std::string(reinterpret_cast<const char*>(digest), 8);
}

// The inverse of Encrypt; DataLoss when the tag does not verify.
absl::StatusOr<std::string> Decrypt(absl::string_view key,
                                    absl::string_view nonce,
                                    absl::string_view aad,
                                    absl::string_view sealed) {
  if (sealed.size() < kTagBytes || nonce.size() != kNonceBytes) {
    return absl::DataLossError("sealed data too short");
  }
  const size_t n = sealed.size() - kTagBytes;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(
      EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(n, '\0');
  std::string tag(sealed.substr(n));
  int len = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(
          ctx.get(), EVP_aes_256_gcm(), nullptr,
          reinterpret_cast<const unsigned char*>(key.data()),
          reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len,
                        reinterpret_cast<const unsigned char*>(sealed.data()),
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &len) != 1) {
    return absl::DataLossError(
        "sealed data does not authenticate (wrong key or altered bytes)");
  }
  return out;
}

std::string Joined(std::initializer_list<absl::string_view> parts) {
  std::string out;
  for (absl::string_view part : parts) {
    out.append(part.data(), part.size());
    out.push_back('\0');
  }
  return out;
}

std::string KindName(cpd::PersonalDataKind kind) {
  return cpd::PersonalDataKind_Name(kind);
}

std::string KeyAad(absl::string_view tenant, absl::string_view subject,
                   cpd::PersonalDataKind kind) {
  return Joined({"throughline-data-key", tenant, subject, KindName(kind)});
}

std::string FieldAad(absl::string_view tenant, absl::string_view subject,
                     cpd::PersonalDataKind kind, absl::string_view type) {
  return Joined({"throughline-sealed", tenant, subject, KindName(kind), type});
}

bool IsPersonal(const Descriptor* d) {
  return d == cpd::PersonalDetails::descriptor() ||
         d == cpd::PrivateText::descriptor();
}

// Whether a message of type `d` can hold a PersonalDetails / PrivateText at
// any depth. `seen` stops recursive message types.
bool CanHoldPersonal(const Descriptor* d,
                     std::vector<const Descriptor*>* seen) {
  if (IsPersonal(d)) return true;
  if (std::find(seen->begin(), seen->end(), d) != seen->end()) return false;
  seen->push_back(d);
  for (int i = 0; i < d->field_count(); ++i) {
    const Descriptor* child = d->field(i)->message_type();
    if (child != nullptr && CanHoldPersonal(child, seen)) return true;
  }
  return false;
}

const FieldDescriptor* Field(const Message& m, const char* name) {
  return m.GetDescriptor()->FindFieldByName(name);
}

// Calls visit(message, path) for every PersonalDetails / PrivateText set
// in `message`, at any depth.
template <typename Visit>
absl::Status VisitPersonal(Message* message, const std::string& path,
                           const Visit& visit) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string here =
        path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (field->is_repeated()) {
      const int n = reflection->FieldSize(*message, field);
      for (int i = 0; i < n; ++i) {
        Message* child = reflection->MutableRepeatedMessage(message, field, i);
        const std::string at = absl::StrCat(here, "[", i, "]");
        absl::Status s = IsPersonal(child->GetDescriptor())
                             ? visit(child, at)
                             : VisitPersonal(child, at, visit);
        if (!s.ok()) return s;
      }
    } else {
      Message* child = reflection->MutableMessage(message, field);
      absl::Status s = IsPersonal(child->GetDescriptor())
                           ? visit(child, here)
                           : VisitPersonal(child, here, visit);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// The message's sealed form, or null when it has none.
const cpd::Sealed* SealedOf(const Message& m) {
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* f = Field(m, "sealed");
  if (!r->HasField(m, f)) return nullptr;
  return static_cast<const cpd::Sealed*>(&r->GetMessage(m, f));
}

bool ErasedOf(const Message& m) {
  return m.GetReflection()->GetBool(m, Field(m, "erased"));
}

void MarkErased(Message* m) {
  m->Clear();
  const Reflection* r = m->GetReflection();
  r->SetBool(m, Field(*m, "erased"), true);
  const FieldDescriptor* text = m->GetDescriptor()->field(0);  // name/text
  r->SetString(m, text, kErasedText);
}

}  // namespace

absl::StatusOr<std::string> LoadMasterKey(const std::string& path,
                                          bool create_if_missing) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    if (!create_if_missing) {
      return eventstore::FieldError(absl::StatusCode::kNotFound,
                                    "master_key_file",
                                    absl::StrCat("no master key at ", path));
    }
    const std::filesystem::path parent =
        std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, error);
    const std::string key = Random(kKeyBytes);
    const std::string temp = path + ".tmp";
    {
      std::ofstream out(temp, std::ios::trunc);
      out << absl::BytesToHexString(key) << "\n";
      if (!out.flush()) {
        return absl::UnavailableError(
            absl::StrCat("master_key_file: cannot write ", temp));
      }
    }
    chmod(temp.c_str(), 0600);
    std::filesystem::rename(temp, path, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat(
          "master_key_file: cannot create ", path, ": ", error.message()));
    }
    return key;
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    return eventstore::FieldError(
        absl::StatusCode::kFailedPrecondition, "master_key_file",
        absl::StrCat(path,
                     " is readable or writable by group or others; "
                     "chmod 600 it"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in) {
    return absl::UnavailableError(
        absl::StrCat("master_key_file: cannot read ", path));
  }
  std::string contents = buffer.str();
  if (contents.size() == kKeyBytes) return contents;
  const std::string text(absl::StripAsciiWhitespace(contents));
  if (text.size() == 2 * kKeyBytes &&
      std::all_of(text.begin(), text.end(),
                  [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::HexStringToBytes(text);
  }
  return eventstore::FieldError(
      absl::StatusCode::kFailedPrecondition, "master_key_file",
      absl::StrCat(path, " must hold 32 bytes or 64 hex digits"));
}

PersonalData::PersonalData(eventstore::EventStore* store,
                           std::string master_key)
    : store_(store), master_key_(std::move(master_key)) {}

std::string PersonalData::SecretName(const std::string& subject,
                                     cpd::PersonalDataKind kind) {
  return Joined({kDataKeySecretPrefix, subject}) + KindName(kind);
}

absl::Status PersonalData::CheckWrappedKey(const std::string& tenant,
                                           const std::string& name,
                                           const std::string& value) const {
  const std::string prefix = Joined({kDataKeySecretPrefix});
  const size_t end = name.find('\0', prefix.size());
  cpd::PersonalDataKind kind;
  if (!absl::StartsWith(name, prefix) || end == std::string::npos ||
      !cpd::PersonalDataKind_Parse(name.substr(end + 1), &kind)) {
    return absl::InvalidArgumentError("is not the name of a data key");
  }
  const std::string subject = name.substr(prefix.size(), end - prefix.size());
  if (value.size() != 1 + kNonceBytes + kKeyBytes + kTagBytes ||
      value[0] != kWrapFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("data key ", KindName(kind), " of \"", subject,
                     "\" is not a wrapped key of a known format"));
  }
  absl::StatusOr<std::string> unwrapped =
      Decrypt(master_key_, absl::string_view(value).substr(1, kNonceBytes),
              KeyAad(tenant, subject, kind),
              absl::string_view(value).substr(1 + kNonceBytes));
  if (!unwrapped.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("data key ", KindName(kind), " of \"", subject,
                     "\" does not unwrap under this node's master key"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> PersonalData::DataKey(
    const std::string& tenant, const std::string& subject,
    cpd::PersonalDataKind kind, bool create) const {
  const std::string name = SecretName(subject, kind);
  const std::string cache_key = Joined({tenant, name});
  absl::MutexLock lock(&mu_);
  if (auto it = cache_.find(cache_key); it != cache_.end()) return it->second;
  absl::StatusOr<std::optional<std::string>> wrapped =
      store_->GetSecret(tenant, name);
  if (!wrapped.ok()) return wrapped.status();
  const std::string aad = KeyAad(tenant, subject, kind);
  std::string key;
  if (wrapped->has_value()) {
    const std::string& w = **wrapped;
    if (w.size() != 1 + kNonceBytes + kKeyBytes + kTagBytes ||
        w[0] != kWrapFormat) {
      return absl::DataLossError(absl::StrCat("data key ", KindName(kind),
                                              " of \"", subject,
                                              "\" has an unknown format"));
    }
    absl::StatusOr<std::string> unwrapped =
        Decrypt(master_key_, absl::string_view(w).substr(1, kNonceBytes), aad,
                absl::string_view(w).substr(1 + kNonceBytes));
    if (!unwrapped.ok()) {
      return absl::DataLossError(
          absl::StrCat("cannot unwrap the data key ", KindName(kind), " of \"",
                       subject, "\": is master_key_file the right key?"));
    }
    key = *std::move(unwrapped);
  } else {
    if (!create) return std::nullopt;
    key = Random(kKeyBytes);
    const std::string nonce = Random(kNonceBytes);
    absl::StatusOr<std::string> sealed = Encrypt(master_key_, nonce, aad, key);
    if (!sealed.ok()) return sealed.status();
    if (absl::Status s = store_->PutSecret(
            tenant, name,
            absl::StrCat(std::string(1, kWrapFormat), nonce, *sealed));
        !s.ok()) {
      return s;
    }
  }
  cache_[cache_key] = key;
  return key;
}

absl::Status PersonalData::SealOne(const std::string& tenant,
                                   const std::string& subject,
                                   cpd::PersonalDataKind kind,
                                   Message* message) {
  if (message->ByteSizeLong() == 0) return absl::OkStatus();  // Nothing set.
  if (subject.empty()) {
    return absl::InternalError(absl::StrCat(
        "personal data in ", message->GetTypeName(), " without a subject"));
  }
  absl::StatusOr<std::optional<std::string>> key =
      DataKey(tenant, subject, kind, /*create=*/true);
  if (!key.ok()) return key.status();
  const std::string nonce = Random(kNonceBytes);
  absl::StatusOr<std::string> ciphertext = Encrypt(
      **key, nonce, FieldAad(tenant, subject, kind, message->GetTypeName()),
      message->SerializeAsString());
  if (!ciphertext.ok()) return ciphertext.status();
  cpd::Sealed sealed;
  sealed.set_subject_id(subject);
  sealed.set_kind(kind);
  sealed.set_nonce(nonce);
  sealed.set_ciphertext(*std::move(ciphertext));
  sealed.set_key_id(KeyId(**key));
  message->Clear();
  message->GetReflection()
      ->MutableMessage(message, Field(*message, "sealed"))
      ->CopyFrom(sealed);
  return absl::OkStatus();
}

absl::Status PersonalData::Seal(const std::string& tenant,
                                const projections::TrustState& state,
                                cpd::CpdEvent* event) {
  // Server-only fields may not come from a request.
  if (absl::Status s = VisitPersonal(
          event, "",
          [](Message* m, const std::string& path) -> absl::Status {
            if (SealedOf(*m) != nullptr) {
              return eventstore::InvalidField(absl::StrCat(path, ".sealed"),
                                              "is set by the server only");
            }
            if (ErasedOf(*m)) {
              return eventstore::InvalidField(absl::StrCat(path, ".erased"),
                                              "is set by the server only");
            }
            return absl::OkStatus();
          });
      !s.ok()) {
    return s;
  }
  absl::Status sealed = absl::OkStatus();
  switch (event->event_case()) {
    case cpd::CpdEvent::kStaffMemberJoined: {
      auto* e = event->mutable_staff_member_joined();
      if (e->has_personal()) {
        sealed = SealOne(tenant, e->staff_id(),
                         cpd::PERSONAL_DATA_KIND_STAFF_DETAILS,
                         e->mutable_personal());
      }
      break;
    }
    case cpd::CpdEvent::kObservationRecorded: {
      auto* e = event->mutable_observation_recorded();
      if (e->has_notes()) {
        sealed =
            SealOne(tenant, e->observed_staff_id(),
                    cpd::PERSONAL_DATA_KIND_OBSERVATION, e->mutable_notes());
      }
      break;
    }
    case cpd::CpdEvent::kCoachingConversationHeld: {
      auto* e = event->mutable_coaching_conversation_held();
      if (e->has_agreed_next_step()) {
        sealed = SealOne(tenant, e->coachee_staff_id(),
                         cpd::PERSONAL_DATA_KIND_COACHING,
                         e->mutable_agreed_next_step());
      }
      break;
    }
    case cpd::CpdEvent::kAppraisalGoalSet: {
      auto* e = event->mutable_appraisal_goal_set();
      if (e->has_description()) {
        sealed =
            SealOne(tenant, e->staff_id(), cpd::PERSONAL_DATA_KIND_APPRAISAL,
                    e->mutable_description());
      }
      break;
    }
    case cpd::CpdEvent::kAppraisalGoalReviewed: {
      auto* e = event->mutable_appraisal_goal_reviewed();
      if (e->has_note()) {
        const projections::Goal* goal = state.FindGoal(e->goal_id());
        sealed = SealOne(tenant, goal == nullptr ? "" : goal->staff_id,
                         cpd::PERSONAL_DATA_KIND_APPRAISAL, e->mutable_note());
      }
      break;
    }
    case cpd::CpdEvent::kFollowUpEvidenced: {
      auto* e = event->mutable_follow_up_evidenced();
      if (e->has_description()) {
        sealed =
            SealOne(tenant, e->staff_id(), cpd::PERSONAL_DATA_KIND_FOLLOW_UP,
                    e->mutable_description());
      }
      break;
    }
    default:
      break;
  }
  if (!sealed.ok()) return sealed;
  // A personal field added to an event without a rule above must not be
  // stored in clear.
  return VisitPersonal(
      event, "", [](Message* m, const std::string& path) -> absl::Status {
        if (SealedOf(*m) == nullptr && m->ByteSizeLong() != 0) {
          return absl::InternalError(
              absl::StrCat(path, ": personal data without a sealing rule"));
        }
        return absl::OkStatus();
      });
}

absl::Status PersonalData::Reveal(const std::string& tenant, Message* message,
                                  std::vector<std::string>* revealed) const {
  return VisitPersonal(
      message, "", [&](Message* m, const std::string& path) -> absl::Status {
        const cpd::Sealed* sealed = SealedOf(*m);
        if (sealed == nullptr) return absl::OkStatus();
        absl::StatusOr<std::optional<std::string>> key =
            DataKey(tenant, sealed->subject_id(), sealed->kind(),
                    /*create=*/false);
        if (!key.ok()) return key.status();
        // No key, or a newer key than the one that sealed this field: the
        // key it was sealed under no longer exists here.
        if (!key->has_value() ||
            (!sealed->key_id().empty() && sealed->key_id() != KeyId(**key))) {
          MarkErased(m);
          return absl::OkStatus();
        }
        absl::StatusOr<std::string> plain =
            Decrypt(**key, sealed->nonce(),
                    FieldAad(tenant, sealed->subject_id(), sealed->kind(),
                             m->GetTypeName()),
                    sealed->ciphertext());
        if (!plain.ok()) {
          return absl::DataLossError(
              absl::StrCat(path, ": ", plain.status().message()));
        }
        const std::string subject = sealed->subject_id();
        m->Clear();
        if (!m->ParseFromString(*plain)) {
          return absl::DataLossError(
              absl::StrCat(path, ": decrypted data does not parse"));
        }
        if (revealed != nullptr && std::find(revealed->begin(), revealed->end(),
                                             subject) == revealed->end()) {
          revealed->push_back(subject);
        }
        return absl::OkStatus();
      });
}

absl::Status PersonalData::RevealStoredEvent(
    const std::string& tenant, const std::string& type,
    const std::string& content_type, std::string* data,
    std::vector<std::string>* revealed) const {
  if (content_type != projections::CpdContentType(type)) {
    return absl::OkStatus();  // Not written by the CPD services.
  }
  eventstore::EventRecord record;
  record.set_type(type);
  record.set_data(*data);
  absl::StatusOr<cpd::CpdEvent> event = projections::DecodeCpdEvent(record);
  if (!event.ok()) return absl::OkStatus();  // Not a CPD event after all.
  if (absl::Status s = Reveal(tenant, &*event, revealed); !s.ok()) return s;
  eventstore::ProposedEvent encoded;
  projections::EncodeCpdEvent(*event, &encoded);
  *data = std::move(encoded.data);
  return absl::OkStatus();
}

bool PersonalData::MayHoldPersonalData(absl::string_view type) {
  // The CPD event types whose messages can hold personal data, found once
  // from the CpdEvent descriptor.
  static const auto* const kTypes = [] {
    auto* types = new absl::flat_hash_set<std::string>();
    const Descriptor* event = cpd::CpdEvent::descriptor();
    for (int i = 0; i < event->field_count(); ++i) {
      const Descriptor* message = event->field(i)->message_type();
      std::vector<const Descriptor*> seen;
      if (message != nullptr && CanHoldPersonal(message, &seen)) {
        types->insert(message->name());
      }
    }
    return types;
  }();
  return kTypes->contains(type);
}

absl::StatusOr<std::vector<cpd::PersonalDataKind>> PersonalData::KindsHeld(
    const std::string& tenant, const std::string& subject) const {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> secrets =
      store_->ListSecrets(tenant, Joined({kDataKeySecretPrefix, subject}));
  if (!secrets.ok()) return secrets.status();
  std::vector<cpd::PersonalDataKind> kinds;
  for (const auto& [name, value] : *secrets) {
    cpd::PersonalDataKind kind;
    const std::string kind_name =
        name.substr(Joined({kDataKeySecretPrefix, subject}).size());
    if (cpd::PersonalDataKind_Parse(kind_name, &kind)) kinds.push_back(kind);
  }
  return kinds;
}

absl::StatusOr<std::vector<cpd::PersonalDataKind>> PersonalData::Erase(
    const std::string& tenant, const std::string& subject,
    const std::vector<cpd::PersonalDataKind>& kinds) {
  absl::StatusOr<std::vector<cpd::PersonalDataKind>> held =
      KindsHeld(tenant, subject);
  if (!held.ok()) return held.status();
  std::vector<cpd::PersonalDataKind> erased;
  absl::MutexLock lock(&mu_);
  if (kinds.empty()) {
    // One physical deletion for all of the subject's keys.
    absl::StatusOr<size_t> destroyed =
        store_->DestroySecrets(tenant, Joined({kDataKeySecretPrefix, subject}));
    if (!destroyed.ok()) return destroyed.status();
    erased = *held;
  } else {
    for (cpd::PersonalDataKind kind : *held) {
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
        continue;
      }
      // The exact name: kind names are never a prefix of one another.
      absl::StatusOr<size_t> destroyed =
          store_->DestroySecrets(tenant, SecretName(subject, kind));
      if (!destroyed.ok()) return destroyed.status();
      erased.push_back(kind);
    }
  }
  for (cpd::PersonalDataKind kind : erased) {
    cache_.erase(Joined({tenant, SecretName(subject, kind)}));
  }
  return erased;
}

absl::StatusOr<size_t> PersonalData::DestroyKeysNotIn(
    const std::string& tenant, const absl::flat_hash_set<std::string>& kept) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> held =
      store_->ListSecrets(tenant, Joined({kDataKeySecretPrefix}));
  if (!held.ok()) return held.status();
  size_t destroyed = 0;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, value] : *held) {
    if (kept.contains(name)) continue;
    // The exact name: it is the prefix of no other secret.
    absl::StatusOr<size_t> gone = store_->DestroySecrets(tenant, name);
    if (!gone.ok()) return gone.status();
    cache_.erase(Joined({tenant, name}));
    destroyed += *gone;
  }
  return destroyed;
}

}  // namespace throughline::services::privacy
