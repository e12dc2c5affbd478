#include "services/cpd/command_runner.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "projections/cpd_codec.h"
#include "services/grpc_status.h"
#include "services/tenant.h"
#include "services/timestamps.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr size_t kMaxRequestIdLength = 128;
constexpr size_t kCatchUpPage = 1000;

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

// "request:" and a digest of the request's deterministic bytes.
std::string RequestCausation(const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  const std::string name = request.GetDescriptor()->full_name();
  return absl::StrCat("request:", absl::BytesToHexString(
                                      Sha256(absl::StrCat(name, "\n", bytes)))
                                      .substr(0, 32));
}

std::string MetadataValue(const grpc::ServerContextBase& context,
                          const char* key) {
  auto it = context.client_metadata().find(key);
  if (it == context.client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

absl::Status CheckRequestId(const std::string& request_id) {
  if (request_id.empty()) {
    return InvalidField("request_id", "must not be empty");
  }
  if (request_id.size() > kMaxRequestIdLength) {
    return InvalidField(
        "request_id",
        absl::StrCat("longer than ", kMaxRequestIdLength, " characters"));
  }
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidField("request_id",
                          "must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string RequestEventId(const std::string& tenant,
                           const std::string& request_id, size_t index) {
  const std::string digest = Sha256(absl::StrCat(
      "throughline-request", std::string(1, '\0'), tenant, std::string(1, '\0'),
      request_id, std::string(1, '\0'), index));
  eventstore::Uuid id;
  std::copy_n(digest.begin(), id.size(), id.begin());
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x50);  // version 5 layout
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return eventstore::FormatUuid(id);
}

CommandRunner::CommandRunner(eventstore::EventStore* store,
                             privacy::PersonalData* personal_data)
    : store_(store), personal_data_(personal_data) {}

CommandRunner::Trust* CommandRunner::TrustFor(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Trust>& trust = trusts_[tenant];
  if (trust == nullptr) trust = std::make_unique<Trust>();
  return trust.get();
}

absl::Status CommandRunner::CatchUp(const std::string& tenant,
                                    TrustState* state) {
  for (;;) {
    absl::StatusOr<eventstore::LogPage> page = store_->ReadLog(
        tenant, state->position() + 1, eventstore::LogFilter(), kCatchUpPage);
    if (!page.ok()) return page.status();
    for (const eventstore::RecordedEvent& event : page->events) {
      absl::StatusOr<v1::CpdEvent> decoded =
          projections::DecodeCpdEvent(event.record);
      if (decoded.ok()) {
        state->Apply(event.position,
                     absl::FromUnixMicros(event.record.occurred_at_micros()),
                     *decoded);
      } else {
        state->Skip(event.position);  // Not a CPD event.
      }
    }
    if (page->next_position > page->head_position) return absl::OkStatus();
    if (page->events.empty()) state->Skip(page->next_position - 1);
  }
}

grpc::Status CommandRunner::Read(
    const grpc::ServerContextBase& context,
    const std::function<grpc::Status(const TrustState&)>& read) {
  absl::StatusOr<std::string> tenant = TenantOf(context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  Trust* trust = TrustFor(*tenant);
  absl::MutexLock lock(&trust->mu);
  if (absl::Status s = CatchUp(*tenant, &trust->state); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return read(trust->state);
}

absl::Status CommandRunner::ReadTenant(
    const std::string& tenant,
    const std::function<absl::Status(const TrustState&)>& read) {
  Trust* trust = TrustFor(tenant);
  absl::MutexLock lock(&trust->mu);
  if (absl::Status s = CatchUp(tenant, &trust->state); !s.ok()) return s;
  return read(trust->state);
}

grpc::Status CommandRunner::Run(const grpc::ServerContextBase& context,
                                const google::protobuf::Message& request,
                                const std::string& request_id,
                                const google::protobuf::Timestamp* occurred_at,
                                const Decide& decide,
                                v1::RecordResponse* response,
                                bool for_unregistered_trust) {
  absl::StatusOr<std::string> tenant = TenantOf(context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (absl::Status s = CheckRequestId(request_id); !s.ok()) {
    return ToGrpcStatus(s);
  }
  const std::string causation = RequestCausation(request);

  // A retry: answer with what the first call appended.
  const auto answer_retry =
      [&](const eventstore::RecordedEvent& first) -> grpc::Status {
    if (first.record.causation_id() != causation) {
      return ToGrpcStatus(FieldError(
          absl::StatusCode::kAlreadyExists, "request_id",
          absl::StrCat("\"", request_id,
                       "\" was already used for a different request")));
    }
    response->Clear();
    response->set_already_applied(true);
    response->set_first_position(first.position);
    response->set_last_position(first.position);
    for (size_t i = 0;; ++i) {
      const std::string id = RequestEventId(*tenant, request_id, i);
      absl::StatusOr<std::optional<eventstore::RecordedEvent>> found =
          i == 0 ? std::optional<eventstore::RecordedEvent>(first)
                 : store_->FindEvent(*tenant, id);
      if (!found.ok()) return ToGrpcStatus(found.status());
      if (!found->has_value()) break;
      response->add_event_ids(id);
      response->set_last_position((*found)->position);
    }
    return grpc::Status::OK;
  };
  const absl::Time now = absl::Now();
  absl::Time when = now;
  if (occurred_at != nullptr) {
    absl::StatusOr<absl::Time> parsed =
        TimeFromProto(*occurred_at, "occurred_at");
    if (!parsed.ok()) return ToGrpcStatus(parsed.status());
    when = *parsed;
    if (when > now + kMaxFutureSkew) {
      return ToGrpcStatus(InvalidField(
          "occurred_at", absl::StrCat("more than a day in the future (",
                                      absl::FormatTime(when), ")")));
    }
  }

  Trust* trust = TrustFor(*tenant);
  absl::MutexLock lock(&trust->mu);
  // Checked under the lock, so that concurrent retries see each other.
  absl::StatusOr<std::optional<eventstore::RecordedEvent>> earlier =
      store_->FindEvent(*tenant, RequestEventId(*tenant, request_id, 0));
  if (!earlier.ok()) return ToGrpcStatus(earlier.status());
  if (earlier->has_value()) return answer_retry(**earlier);
  if (absl::Status s = CatchUp(*tenant, &trust->state); !s.ok()) {
    return ToGrpcStatus(s);
  }
  const TrustState& state = trust->state;
  if (!for_unregistered_trust) {
    if (!state.registered()) {
      return ToGrpcStatus(
          FieldError(absl::StatusCode::kFailedPrecondition, "tenant",
                     absl::StrCat("trust \"", *tenant,
                                  "\" is not registered; call "
                                  "OrganisationService.RegisterTrust first")));
    }
    if (when < state.registered_at()) {
      return ToGrpcStatus(InvalidField(
          "occurred_at",
          absl::StrCat("before the trust was registered (",
                       absl::FormatTime(state.registered_at()), ")")));
    }
  }
  absl::StatusOr<Decision> decision = decide(state, when);
  if (!decision.ok()) return ToGrpcStatus(decision.status());
  // Personal data is stored only in its sealed form.
  for (v1::CpdEvent& event : decision->events) {
    if (absl::Status s = personal_data_->Seal(*tenant, state, &event);
        !s.ok()) {
      return ToGrpcStatus(s);
    }
  }

  eventstore::AppendRequest append;
  append.tenant = *tenant;
  append.stream = decision->stream;
  append.expected = decision->expected;
  const std::string actor = MetadataValue(context, kActorMetadataKey);
  const std::string source = MetadataValue(context, kSourcePlatformMetadataKey);
  std::string correlation = MetadataValue(context, kCorrelationMetadataKey);
  if (correlation.empty()) correlation = request_id;
  for (size_t i = 0; i < decision->events.size(); ++i) {
    eventstore::ProposedEvent event;
    projections::EncodeCpdEvent(decision->events[i], &event);
    event.event_id = RequestEventId(*tenant, request_id, i);
    event.causation_id = causation;
    event.correlation_id = correlation;
    event.actor = actor;
    event.source_platform = source;
    event.occurred_at = when;
    append.events.push_back(std::move(event));
  }
  absl::StatusOr<eventstore::AppendResult> result =
      store_->Append(std::move(append));
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->Clear();
  for (size_t i = 0; i < decision->events.size(); ++i) {
    response->add_event_ids(RequestEventId(*tenant, request_id, i));
  }
  response->set_first_position(result->first_position);
  response->set_last_position(result->last_position);
  response->set_already_applied(result->already_stored);
  return grpc::Status::OK;
}

}  // namespace throughline::services::cpd
