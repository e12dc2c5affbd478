#include "services/event_store_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"
#include "services/auth/auth_service.h"
#include "services/auth/confidential.h"
#include "services/auth/gate.h"
#include "services/grpc_status.h"
#include "services/read_encoding.h"
#include "services/tenant.h"
#include "services/timestamps.h"

namespace throughline::services {
namespace {

using eventstore::InvalidField;

constexpr uint32_t kDefaultStreamReadCount = 100;
constexpr uint32_t kDefaultLogReadCount = 1000;
constexpr uint32_t kMaxReadCount = 10000;
// Event data one log read collects at most (ReadLog's default).
constexpr size_t kMaxLogReadBytes = 3 << 20;
// Subscriptions wake at least this often to notice a cancelled call.
constexpr absl::Duration kSubscriptionPoll = absl::Milliseconds(100);
absl::StatusOr<eventstore::ExpectedRevision> FromProto(
    const v1::AppendRequest& request) {
  if (!request.has_expected_revision()) {
    return eventstore::ExpectedRevision::Any();
  }
  const v1::ExpectedRevision& expected = request.expected_revision();
  switch (expected.kind_case()) {
    case v1::ExpectedRevision::kRevision:
      return eventstore::ExpectedRevision::Exact(expected.revision());
    case v1::ExpectedRevision::kState:
      switch (expected.state()) {
        case v1::ExpectedRevision::STATE_UNSPECIFIED:
        case v1::ExpectedRevision::STATE_ANY:
          return eventstore::ExpectedRevision::Any();
        case v1::ExpectedRevision::STATE_NO_STREAM:
          return eventstore::ExpectedRevision::NoStream();
        case v1::ExpectedRevision::STATE_STREAM_EXISTS:
          return eventstore::ExpectedRevision::StreamExists();
        default:
          return InvalidField("expected_revision.state",
                              absl::StrCat("unknown state ", expected.state()));
      }
    case v1::ExpectedRevision::KIND_NOT_SET:
      break;
  }
  return eventstore::ExpectedRevision::Any();
}

absl::StatusOr<eventstore::AppendRequest> FromProto(
    const std::string& tenant, const v1::AppendRequest& request) {
  eventstore::AppendRequest append;
  append.tenant = tenant;
  append.stream = request.stream();
  absl::StatusOr<eventstore::ExpectedRevision> expected = FromProto(request);
  if (!expected.ok()) return expected.status();
  append.expected = *expected;
  append.events.reserve(request.events_size());
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::ProposedEvent& proposed = request.events(i);
    eventstore::ProposedEvent event;
    event.event_id = proposed.event_id();
    event.type = proposed.type();
    event.content_type = proposed.content_type();
    event.data = proposed.data();
    event.correlation_id = proposed.metadata().correlation_id();
    event.causation_id = proposed.metadata().causation_id();
    event.actor = proposed.metadata().actor();
    event.source_platform = proposed.metadata().source_platform();
    if (proposed.has_occurred_at()) {
      absl::StatusOr<absl::Time> occurred = TimeFromProto(
          proposed.occurred_at(), absl::StrCat("events[", i, "].occurred_at"));
      if (!occurred.ok()) return occurred.status();
      event.occurred_at = *occurred;
    }
    append.events.push_back(std::move(event));
  }
  return append;
}

absl::StatusOr<uint32_t> ReadCount(uint32_t requested, uint32_t fallback) {
  if (requested == 0) return fallback;
  if (requested > kMaxReadCount) {
    return InvalidField(
        "max_count",
        absl::StrCat(requested, " is more than the limit of ", kMaxReadCount));
  }
  return requested;
}

constexpr uint32_t kDefaultVerifyEvents = 100000;
constexpr uint32_t kMaxVerifyEvents = 1000000;

std::string HashBytes(const eventstore::ChainHash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

absl::StatusOr<eventstore::ChainHash> HashFromBytes(const std::string& bytes,
                                                    absl::string_view field) {
  std::optional<eventstore::ChainHash> hash =
      eventstore::DecodeChainHash(bytes);
  if (!hash) {
    return InvalidField(field,
                        absl::StrCat("must be 32 bytes, not ", bytes.size()));
  }
  return *hash;
}

absl::Time TimeFromChrono(std::chrono::system_clock::time_point time) {
  if (time == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(time);
}

v1::ChainFault ToProto(eventstore::ChainFault fault) {
  switch (fault) {
    case eventstore::ChainFault::kContentChanged:
      return v1::CHAIN_FAULT_CONTENT_CHANGED;
    case eventstore::ChainFault::kHashChanged:
      return v1::CHAIN_FAULT_HASH_CHANGED;
    case eventstore::ChainFault::kChanged:
      return v1::CHAIN_FAULT_CHANGED;
    case eventstore::ChainFault::kMissingEvent:
      return v1::CHAIN_FAULT_MISSING_EVENT;
    case eventstore::ChainFault::kMissingHash:
      return v1::CHAIN_FAULT_MISSING_HASH;
  }
  return v1::CHAIN_FAULT_UNSPECIFIED;
}

eventstore::LogFilter FromProto(const v1::LogFilter& filter) {
  eventstore::LogFilter result;
  result.categories.assign(filter.categories().begin(),
                           filter.categories().end());
  result.types.assign(filter.types().begin(), filter.types().end());
  return result;
}

}  // namespace

void ToProto(const eventstore::RecordedEvent& event, v1::RecordedEvent* proto) {
  const eventstore::EventRecord& record = event.record;
  eventstore::Uuid id{};
  std::copy_n(record.event_id().begin(),
              std::min(record.event_id().size(), id.size()), id.begin());
  proto->set_event_id(eventstore::FormatUuid(id));
  proto->set_type(record.type());
  proto->set_content_type(record.content_type());
  proto->set_data(record.data());
  v1::EventMetadata* metadata = proto->mutable_metadata();
  metadata->set_correlation_id(record.correlation_id());
  metadata->set_causation_id(record.causation_id());
  metadata->set_actor(record.actor());
  metadata->set_source_platform(record.source_platform());
  TimeToProto(absl::FromUnixMicros(record.occurred_at_micros()),
              proto->mutable_occurred_at());
  TimeToProto(absl::FromUnixMicros(record.recorded_at_micros()),
              proto->mutable_recorded_at());
  proto->set_stream(record.stream());
  const absl::string_view category =
      eventstore::StreamCategory(record.stream());
  proto->set_category(category.data(), category.size());
  proto->set_revision(record.revision());
  proto->set_position(event.position);
}

EventStoreService::EventStoreService(eventstore::EventStore* store,
                                     auth::AuthStore* access_log, Reveal reveal)
    : store_(store), access_log_(access_log), reveal_(std::move(reveal)) {}

absl::Status EventStoreService::Out(const std::string& tenant,
                                    const eventstore::RecordedEvent& event,
                                    v1::RecordedEvent* proto,
                                    std::vector<std::string>* revealed) const {
  ToProto(event, proto);
  if (reveal_.apply == nullptr) return absl::OkStatus();
  return reveal_.apply(tenant, proto, revealed);
}

bool EventStoreService::MustDecode(absl::string_view type) const {
  return auth::MayHoldConfidentialText(type) ||
         (reveal_.apply != nullptr &&
          (reveal_.may_change == nullptr || reveal_.may_change(type)));
}

absl::Status EventStoreService::RecordRawRead(
    const grpc::ServerContextBase& context, absl::string_view stream,
    uint64_t from_position) {
  absl::StatusOr<auth::Caller> caller = auth::Admit(context);
  if (!caller.ok()) return caller.status();
  if (stream.empty()) {
    // The whole log holds everyone's data.
    return auth::RecordRead(access_log_, *caller, "",
                            absl::StrCat("log from position ", from_position));
  }
  // A person's stream: "staff-<staff_id>".
  if (absl::StartsWith(stream, kPersonStreamPrefix)) {
    return auth::RecordRead(access_log_, *caller,
                            stream.substr(sizeof(kPersonStreamPrefix) - 1),
                            absl::StrCat("stream ", stream));
  }
  return absl::OkStatus();
}

void EventStoreService::StopSubscriptions() { stopping_ = true; }

grpc::ServerUnaryReactor* EventStoreService::Append(
    grpc::CallbackServerContext* context, const v1::AppendRequest* request,
    v1::AppendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) {
    reactor->Finish(ToGrpcStatus(tenant.status()));
    return reactor;
  }
  absl::StatusOr<eventstore::AppendRequest> append =
      FromProto(*tenant, *request);
  if (!append.ok()) {
    reactor->Finish(ToGrpcStatus(append.status()));
    return reactor;
  }
  store_->AppendAsync(
      *std::move(append),
      [reactor, response](absl::StatusOr<eventstore::AppendResult> result) {
        if (!result.ok()) {
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        response->set_first_revision(result->first_revision);
        response->set_last_revision(result->last_revision);
        response->set_first_position(result->first_position);
        response->set_last_position(result->last_position);
        response->set_already_stored(result->already_stored);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::Status EventStoreService::ReadStream(grpc::ServerContext* context,
                                           const v1::ReadStreamRequest* request,
                                           v1::ReadStreamResponse* response) {
  absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<uint32_t> count =
      ReadCount(request->max_count(), kDefaultStreamReadCount);
  if (!count.ok()) return ToGrpcStatus(count.status());
  const bool backwards = request->direction() == v1::DIRECTION_BACKWARDS;
  if (request->direction() != v1::DIRECTION_UNSPECIFIED &&
      request->direction() != v1::DIRECTION_FORWARDS && !backwards) {
    return ToGrpcStatus(InvalidField(
        "direction", absl::StrCat("unknown direction ", request->direction())));
  }
  absl::StatusOr<eventstore::StreamInfo> info =
      store_->GetStreamInfo(*tenant, request->stream());
  if (!info.ok()) return ToGrpcStatus(info.status());
  const uint64_t from = backwards && request->from_end()
                            ? info->revision
                            : request->from_revision();
  absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
      store_->ReadStream(*tenant, request->stream(), from, backwards, *count);
  if (!events.ok()) return ToGrpcStatus(events.status());
  if (absl::Status s = RecordRawRead(*context, request->stream(), 0); !s.ok()) {
    return ToGrpcStatus(s);
  }
  std::vector<std::string> revealed;
  for (const eventstore::RecordedEvent& event : *events) {
    v1::RecordedEvent* out = response->add_events();
    if (absl::Status s = Out(*tenant, event, out, &revealed); !s.ok()) {
      return ToGrpcStatus(s);
    }
    auth::RedactForCaller(*caller, out);
  }
  // A person's stream was entered above; any other stream, once for each
  // person whose data it returns.
  if (!absl::StartsWith(request->stream(), kPersonStreamPrefix)) {
    for (const std::string& subject : revealed) {
      if (absl::Status s =
              auth::RecordRead(access_log_, *caller, subject,
                               absl::StrCat("stream ", request->stream()));
          !s.ok()) {
        return ToGrpcStatus(s);
      }
    }
  }
  // Events appended since GetStreamInfo may have been read too.
  const uint64_t revision = std::max(
      info->revision, events->empty() ? 0 : events->back().record.revision());
  response->set_stream_revision(revision);
  response->set_end_of_stream(events->empty() ||
                              events->back().record.revision() ==
                                  (backwards ? 0 : revision));
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* EventStoreService::ReadAll(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) {
    reactor->Finish(ToGrpcStatus(tenant.status()));
    return reactor;
  }
  v1::ReadAllRequest request;
  grpc::ByteBuffer request_copy(*request_bytes);  // Deserialize consumes it.
  if (!grpc::SerializationTraits<v1::ReadAllRequest>::Deserialize(&request_copy,
                                                                  &request)
           .ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the request is not a ReadAllRequest"));
    return reactor;
  }
  absl::StatusOr<uint32_t> count =
      ReadCount(request.max_count(), kDefaultLogReadCount);
  if (!count.ok()) {
    reactor->Finish(ToGrpcStatus(count.status()));
    return reactor;
  }
  // The ReadAllResponse wire form, written as the log is read. An event is
  // written from its stored bytes unless it must be decoded (MustDecode):
  // such an event is revealed and has the text this caller may not read
  // removed (auth::RedactForCaller), exactly as ReadStream and Subscribe do,
  // so the raw path never sends what the decoding path would change.
  auto* body = new std::string();
  v1::RecordedEvent decoded;
  absl::Status revealed;
  absl::StatusOr<eventstore::LogScan> scan = store_->ScanLog(
      *tenant, request.from_position(), FromProto(request.filter()), *count,
      kMaxLogReadBytes,
      [this, &tenant, &caller, &decoded, body](
          uint64_t position, const eventstore::EventRecordView& record) {
        if (!MustDecode(record.type)) {
          AppendRecordedEventField(1, position, record, body);
          return absl::OkStatus();
        }
        SetRecordedEvent(position, record, &decoded);
        if (reveal_.apply != nullptr) {
          if (absl::Status s = reveal_.apply(*tenant, &decoded, nullptr);
              !s.ok()) {
            return s;
          }
        }
        auth::RedactForCaller(*caller, &decoded);
        AppendBytesField(1, decoded.SerializeAsString(), body);
        return absl::OkStatus();
      });
  if (!scan.ok()) {
    delete body;
    reactor->Finish(ToGrpcStatus(scan.status()));
    return reactor;
  }
  if (absl::Status s = RecordRawRead(*context, "", request.from_position());
      !s.ok()) {
    delete body;
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  AppendVarintField(2, scan->next_position, body);
  AppendVarintField(3, scan->head_position, body);
  grpc::Slice slice(
      body->data(), body->size(),
      [](void* owned) { delete static_cast<std::string*>(owned); }, body);
  *response = grpc::ByteBuffer(&slice, 1);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::Status EventStoreService::Subscribe(
    grpc::ServerContext* context, const v1::SubscribeRequest* request,
    grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  const eventstore::LogFilter filter = FromProto(request->filter());
  if (absl::Status s = RecordRawRead(*context, "", request->from_position());
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  const grpc::Status stopping(grpc::StatusCode::UNAVAILABLE,
                              "the server is shutting down; resubscribe from "
                              "the position after the last one received");
  uint64_t next = std::max<uint64_t>(request->from_position(), 1);
  bool caught_up = false;
  v1::SubscribeResponse message;
  // Each page's events, set in place from the stored records; reused from
  // page to page (every field is set each time, so nothing stale remains).
  std::vector<v1::SubscribeResponse> events;
  while (!context->IsCancelled()) {
    if (stopping_) return stopping;
    size_t count = 0;
    absl::StatusOr<eventstore::LogScan> page = store_->ScanLog(
        *tenant, next, filter, kDefaultLogReadCount, kMaxLogReadBytes,
        [&](uint64_t position, const eventstore::EventRecordView& record) {
          if (count == events.size()) events.emplace_back();
          v1::RecordedEvent* event = events[count++].mutable_event();
          SetRecordedEvent(position, record, event);
          if (reveal_.apply != nullptr) {
            if (absl::Status s = reveal_.apply(*tenant, event, nullptr);
                !s.ok()) {
              return s;
            }
          }
          auth::RedactForCaller(*caller, event);
          return absl::OkStatus();
        });
    if (!page.ok()) return ToGrpcStatus(page.status());
    uint64_t delivered = next - 1;
    for (size_t i = 0; i < count; ++i) {
      if (!writer->Write(events[i])) return grpc::Status::CANCELLED;
      delivered = events[i].event().position();
    }
    next = page->next_position;
    if (next - 1 > delivered) {
      // The filter skipped events after the last one delivered.
      message.Clear();
      message.mutable_checkpoint()->set_position(next - 1);
      if (!writer->Write(message)) return grpc::Status::CANCELLED;
    }
    if (next <= page->head_position) continue;  // More history to read.
    if (!caught_up) {
      caught_up = true;
      message.Clear();
      message.mutable_caught_up()->set_position(page->head_position);
      if (!writer->Write(message)) return grpc::Status::CANCELLED;
    }
    absl::Time deadline = absl::Now() + kSubscriptionPoll;
    absl::StatusOr<uint64_t> head =
        store_->WaitForPosition(*tenant, next, deadline);
    if (!head.ok()) {
      return head.status().code() == absl::StatusCode::kUnavailable
                 ? stopping
                 : ToGrpcStatus(head.status());
    }
  }
  return grpc::Status::CANCELLED;
}

grpc::Status EventStoreService::GetStream(grpc::ServerContext* context,
                                          const v1::GetStreamRequest* request,
                                          v1::GetStreamResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<eventstore::StreamInfo> info =
      store_->GetStreamInfo(*tenant, request->stream());
  if (!info.ok()) return ToGrpcStatus(info.status());
  response->set_stream(request->stream());
  response->set_revision(info->revision);
  response->set_last_position(info->last_position);
  return grpc::Status::OK;
}

grpc::Status EventStoreService::GetLogInfo(grpc::ServerContext* context,
                                           const v1::GetLogInfoRequest* request,
                                           v1::GetLogInfoResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<uint64_t> head = store_->HeadPosition(*tenant);
  if (!head.ok()) return ToGrpcStatus(head.status());
  response->set_head_position(*head);
  // Read after the position, so the hash may belong to a later head; take
  // both from one ChainHead call.
  absl::StatusOr<std::pair<uint64_t, eventstore::ChainHash>> chain =
      store_->ChainHead(*tenant);
  if (chain.ok()) {
    response->set_head_position(chain->first);
    response->set_head_hash(HashBytes(chain->second));
  }
  return grpc::Status::OK;
}

grpc::Status EventStoreService::Verify(grpc::ServerContext* context,
                                       const v1::VerifyRequest* request,
                                       v1::VerifyResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  eventstore::VerifyOptions options;
  options.tenant = *tenant;
  options.from_position = request->from_position();
  options.to_position = request->to_position();
  if (!request->start_hash().empty()) {
    absl::StatusOr<eventstore::ChainHash> start =
        HashFromBytes(request->start_hash(), "start_hash");
    if (!start.ok()) return ToGrpcStatus(start.status());
    options.start_hash = *start;
  }
  if (request->has_expected_head()) {
    absl::StatusOr<eventstore::ChainHash> expected =
        HashFromBytes(request->expected_head().hash(), "expected_head.hash");
    if (!expected.ok()) return ToGrpcStatus(expected.status());
    options.expected_hash = *expected;
    options.expected_position = request->expected_head().position();
  }
  if (request->max_events() > kMaxVerifyEvents) {
    return ToGrpcStatus(InvalidField(
        "max_events",
        absl::StrCat(request->max_events(), " is more than the limit of ",
                     kMaxVerifyEvents)));
  }
  options.max_events =
      request->max_events() == 0 ? kDefaultVerifyEvents : request->max_events();
  // Leave time to send the page before the caller gives up.
  const absl::Time deadline = TimeFromChrono(context->deadline());
  if (deadline != absl::InfiniteFuture()) {
    const absl::Duration left = deadline - absl::Now();
    options.deadline = absl::Now() + left * 3 / 4;
  }
  absl::StatusOr<eventstore::VerifyReport> report = store_->Verify(options);
  if (!report.ok()) return ToGrpcStatus(report.status());
  response->set_first_position(report->first_position);
  response->set_last_position(report->last_position);
  response->set_events_checked(report->events_checked);
  response->set_chain_hash(HashBytes(report->chain_hash));
  response->set_head_position(report->head_position);
  response->set_head_hash(HashBytes(report->head_hash));
  if (report->mismatch.has_value()) {
    v1::ChainMismatch* mismatch = response->mutable_mismatch();
    mismatch->set_position(report->mismatch->position);
    mismatch->set_fault(ToProto(report->mismatch->fault));
    mismatch->set_detail(report->mismatch->detail);
  }
  response->set_expected_head_found_at(report->expected_found_at);
  response->set_expected_head_differs(report->expected_differs);
  response->set_next_position(report->next_position);
  return grpc::Status::OK;
}

}  // namespace throughline::services
