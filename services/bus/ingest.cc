#include "services/bus/ingest.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "services/grpc_status.h"
#include "throughline/cpd/v1/record.pb.h"
#include "throughline/eventstore/v1/errors.pb.h"

namespace throughline::services::bus {
namespace {

constexpr char kCpdPackage[] = "throughline.cpd.v1";
constexpr int kFetchBatch = 64;
constexpr absl::Duration kFetchWait = absl::Seconds(1);
// How long the consumer has to handle a message before JetStream
// redelivers it.
constexpr absl::Duration kAckWait = absl::Seconds(60);
constexpr absl::Duration kCallDeadline = absl::Seconds(30);

// Codes after which a retry cannot succeed: the message is dead-lettered.
bool IsPermanent(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    default:
      return false;
  }
}

// The FieldViolation.field of an error, or "".
std::string ViolatedField(const grpc::Status& status) {
  google::rpc::Status rich;
  if (status.error_details().empty() ||
      !rich.ParseFromString(status.error_details())) {
    return "";
  }
  for (const auto& any : rich.details()) {
    ::throughline::eventstore::v1::FieldViolation violation;
    if (any.UnpackTo(&violation)) return violation.field();
  }
  return "";
}

// Whether `value` can travel as ASCII gRPC metadata.
bool IsPrintableAscii(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

Ingest::Ingest(const BusOptions& options) : options_(options) {}

Ingest::~Ingest() { Stop(); }

void Ingest::Start(std::shared_ptr<grpc::Channel> channel,
                   std::string credential) {
  channel_ = std::move(channel);
  credential_ = std::move(credential);
  thread_ = std::thread([this] { Run(); });
}

void Ingest::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
  if (sub_ != nullptr) {
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
  }
  conn_.reset();
  absl::MutexLock lock(&mu_);
  status_.connected = false;
}

Ingest::Status Ingest::GetStatus() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void Ingest::SetError(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  status_.connected = false;
  status_.last_error.message = std::string(status.message());
  status_.last_error.time = absl::Now();
}

absl::Status Ingest::SetUp() {
  if (absl::Status s =
          EnsureStream(conn_->js(), options_.inbound_stream,
                       {absl::StrCat(kInboundPrefix, ">")}, options_);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          EnsureStream(conn_->js(), options_.dead_letter_stream,
                       {absl::StrCat(kDeadLetterPrefix, ">")}, options_);
      !s.ok()) {
    return s;
  }
  jsStreamInfo* info = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(
      &info, conn_->js(), options_.inbound_stream.c_str(), nullptr, &js_code);
  if (s != NATS_OK) {
    return NatsError("stream info " + options_.inbound_stream, s, js_code);
  }
  stream_created_ = absl::StrCat(info->Created);
  jsStreamInfo_Destroy(info);

  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = options_.inbound_stream.c_str();
  sub_options.Config.AckPolicy = js_AckExplicit;
  sub_options.Config.DeliverPolicy = js_DeliverAll;
  sub_options.Config.AckWait = absl::ToInt64Nanoseconds(kAckWait);
  sub_options.Config.MaxDeliver = -1;
  sub_options.Config.MaxAckPending = 4 * kFetchBatch;
  const std::string filter = absl::StrCat(kInboundPrefix, ">");
  js_code = static_cast<jsErrCode>(0);
  s = js_PullSubscribe(&sub_, conn_->js(), filter.c_str(), kIngestConsumer,
                       nullptr, &sub_options, &js_code);
  if (s != NATS_OK) {
    sub_ = nullptr;
    return NatsError(absl::StrCat("consumer ", kIngestConsumer), s, js_code);
  }
  return absl::OkStatus();
}

void Ingest::Run() {
  Backoff backoff(options_.retry_max);
  while (!stop_.stopped()) {
    absl::Status status;
    if (conn_ != nullptr && conn_->closed()) {
      if (sub_ != nullptr) natsSubscription_Destroy(sub_);
      sub_ = nullptr;
      conn_.reset();
    }
    if (conn_ == nullptr) {
      absl::StatusOr<std::unique_ptr<NatsConnection>> conn =
          NatsConnection::Connect(options_, "throughline-ingest");
      if (conn.ok()) {
        conn_ = *std::move(conn);
      } else {
        status = conn.status();
      }
    }
    if (status.ok() && !conn_->connected()) {
      status = absl::UnavailableError(absl::StrCat(
          "not connected to ", options_.nats_url, " (reconnecting)"));
    }
    if (status.ok() && sub_ == nullptr) status = SetUp();
    if (!status.ok()) {
      SetError(status);
      stop_.SleepFor(backoff.Next());
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      status_.connected = true;
    }

    natsMsgList list{nullptr, 0};
    jsErrCode js_code = static_cast<jsErrCode>(0);
    natsStatus s =
        natsSubscription_Fetch(&list, sub_, kFetchBatch,
                               absl::ToInt64Milliseconds(kFetchWait), &js_code);
    if (s == NATS_TIMEOUT) {  // Nothing to do.
      backoff.Reset();
      continue;
    }
    if (s != NATS_OK) {
      // Bind the consumer again: the stream or the consumer may be gone.
      SetError(NatsError("fetch", s, js_code));
      natsSubscription_Destroy(sub_);
      sub_ = nullptr;
      stop_.SleepFor(backoff.Next());
      continue;
    }
    bool retry = false;
    absl::Status failure;
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* msg = list.Msgs[i];
      if (!retry && failure.ok() && !stop_.stopped()) {
        absl::StatusOr<Outcome> outcome = Handle(msg);
        if (!outcome.ok()) {
          failure = outcome.status();
        } else if (*outcome == Outcome::kRetry) {
          retry = true;
        } else {
          continue;
        }
      }
      // This message and every later one of the batch go back, in order,
      // so that they are delivered again before anything newer.
      natsMsg_Nak(msg, nullptr);
    }
    natsMsgList_Destroy(&list);
    if (!failure.ok()) {
      SetError(failure);
      stop_.SleepFor(backoff.Next());
    } else if (retry) {
      {
        absl::MutexLock lock(&mu_);
        ++status_.retried;
      }
      stop_.SleepFor(backoff.Next());
    } else {
      backoff.Reset();
    }
  }
}

absl::StatusOr<Ingest::Outcome> Ingest::Handle(natsMsg* msg) {
  const std::string subject = natsMsg_GetSubject(msg);
  jsMsgMetaData* meta = nullptr;
  uint64_t sequence = 0;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    sequence = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
  // throughline.in.<trust>.<Service>.<Rpc>
  absl::string_view rest = subject;
  rest.remove_prefix(std::min(rest.size(), sizeof(kInboundPrefix) - 1));
  const std::vector<std::string> tokens = absl::StrSplit(rest, '.');
  const std::string trust = tokens.empty() ? "" : tokens[0];
  const auto dead_letter =
      [&](absl::string_view code, const std::string& error,
          const std::string& field) -> absl::StatusOr<Outcome> {
    if (absl::Status s = DeadLetter(msg, trust, code, error, field); !s.ok()) {
      return s;
    }
    jsErrCode js_code = static_cast<jsErrCode>(0);
    if (natsStatus s = natsMsg_AckSync(msg, nullptr, &js_code); s != NATS_OK) {
      return NatsError("ack", s, js_code);
    }
    absl::MutexLock lock(&mu_);
    ++status_.dead_lettered;
    return Outcome::kDone;
  };
  if (tokens.size() != 3) {
    return dead_letter(
        "INVALID_ARGUMENT",
        absl::StrCat("subject: \"", subject,
                     "\" is not throughline.in.<trust>.<Service>.<Rpc>"),
        "subject");
  }
  const std::string& service = tokens[1];
  const std::string& rpc = tokens[2];
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrCat(kCpdPackage, ".", service, ".", rpc));
  if (method == nullptr ||
      method->output_type() !=
          ::throughline::cpd::v1::RecordResponse::descriptor() ||
      method->client_streaming() || method->server_streaming()) {
    return dead_letter(
        "UNIMPLEMENTED",
        absl::StrCat("subject: ", kCpdPackage, ".", service, "/", rpc,
                     " is not a recording RPC of ", kCpdPackage),
        "subject");
  }
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          method->input_type());
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  const char* data = natsMsg_GetData(msg);
  const int size = natsMsg_GetDataLength(msg);
  if (!request->ParseFromArray(data, size)) {
    return dead_letter("INVALID_ARGUMENT",
                       absl::StrCat("payload: not a serialized ",
                                    method->input_type()->full_name()),
                       "payload");
  }
  const google::protobuf::FieldDescriptor* request_id_field =
      method->input_type()->FindFieldByName("request_id");
  if (request_id_field != nullptr &&
      request_id_field->type() ==
          google::protobuf::FieldDescriptor::TYPE_STRING &&
      !request_id_field->is_repeated()) {
    const google::protobuf::Reflection* reflection = request->GetReflection();
    if (reflection->GetString(*request, request_id_field).empty()) {
      std::string id = GetHeader(msg, kMsgIdHeader);
      if (id.empty()) {
        id = absl::StrCat("inbound-", stream_created_, "-", sequence);
      }
      reflection->SetString(request.get(), request_id_field, std::move(id));
    }
  }

  // Metadata must be printable ASCII; say which header is not.
  const std::string actor = GetHeader(msg, kActorHeader);
  const std::string correlation = GetHeader(msg, kCorrelationHeader);
  if (!IsPrintableAscii(trust)) {
    return dead_letter("INVALID_ARGUMENT",
                       "tenant: the subject's trust must be printable ASCII",
                       "tenant");
  }
  for (const auto& [header, value] :
       {std::pair<const char*, const std::string*>{kActorHeader, &actor},
        {kCorrelationHeader, &correlation}}) {
    if (!IsPrintableAscii(*value)) {
      return dead_letter(
          "INVALID_ARGUMENT",
          absl::StrCat("header ", header, ": must be printable ASCII"), header);
    }
  }

  std::string bytes;
  if (!request->SerializeToString(&bytes)) {
    return dead_letter("INVALID_ARGUMENT", "payload: cannot be re-serialized",
                       "payload");
  }
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", credential_));
  context.AddMetadata("throughline-tenant", trust);
  context.AddMetadata("throughline-source-platform", "bus");
  if (!actor.empty()) context.AddMetadata("throughline-actor", actor);
  if (!correlation.empty()) {
    context.AddMetadata("throughline-correlation-id", correlation);
  }
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  grpc::GenericStub stub(channel_);
  absl::Notification done;
  grpc::Status call_status;
  stub.UnaryCall(&context,
                 absl::StrCat("/", kCpdPackage, ".", service, "/", rpc),
                 grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&](grpc::Status s) {
                   call_status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();

  if (call_status.ok()) {
    jsErrCode js_code = static_cast<jsErrCode>(0);
    if (natsStatus s = natsMsg_AckSync(msg, nullptr, &js_code); s != NATS_OK) {
      // Redelivered later; the request id makes the retry append nothing.
      return NatsError("ack", s, js_code);
    }
    absl::MutexLock lock(&mu_);
    ++status_.applied;
    status_.last_error = LastError();
    return Outcome::kDone;
  }
  // A trust another node serves is not a bad command: left for that node
  // (which consumes the same stream) or for after a move.
  if (IsPermanent(call_status.error_code()) &&
      !OwnerFromGrpcStatus(call_status).has_value()) {
    return dead_letter(GrpcCodeName(call_status.error_code()),
                       call_status.error_message(), ViolatedField(call_status));
  }
  absl::MutexLock lock(&mu_);
  status_.last_error.message =
      absl::StrCat(subject, " (sequence ", sequence,
                   "): ", GrpcCodeName(call_status.error_code()), ": ",
                   call_status.error_message(), "; will retry");
  status_.last_error.time = absl::Now();
  return Outcome::kRetry;
}

absl::Status Ingest::DeadLetter(natsMsg* msg, const std::string& trust,
                                absl::string_view code,
                                const std::string& error,
                                const std::string& field) {
  const std::string subject = natsMsg_GetSubject(msg);
  absl::string_view rest = subject;
  rest.remove_prefix(std::min(rest.size(), sizeof(kInboundPrefix) - 1));
  if (rest.empty()) rest = "_";
  const std::string dlq_subject = absl::StrCat(kDeadLetterPrefix, rest);
  uint64_t sequence = 0;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    sequence = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }

  natsMsg* out = nullptr;
  natsStatus s =
      natsMsg_Create(&out, dlq_subject.c_str(), nullptr, natsMsg_GetData(msg),
                     natsMsg_GetDataLength(msg));
  if (s != NATS_OK) return NatsError("dead letter message", s);
  // The original headers, except JetStream's own (Nats-*), which would
  // instruct the dead-letter stream.
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK) {
    for (int i = 0; i < count && s == NATS_OK; ++i) {
      if (absl::StartsWithIgnoreCase(keys[i], "Nats-")) continue;
      const char** values = nullptr;
      int value_count = 0;
      if (natsMsgHeader_Values(msg, keys[i], &values, &value_count) !=
          NATS_OK) {
        continue;
      }
      for (int j = 0; j < value_count && s == NATS_OK; ++j) {
        s = natsMsgHeader_Add(out, keys[i], values[j]);
      }
      free(static_cast<void*>(values));
    }
    free(static_cast<void*>(keys));
  }
  const std::string original_id = GetHeader(msg, kMsgIdHeader);
  const std::pair<const char*, std::string> added[] = {
      {kErrorCodeHeader, std::string(code)},
      {kErrorHeader, error},
      {kErrorFieldHeader, field},
      {kOriginalSubjectHeader, subject},
      {kOriginalSequenceHeader, absl::StrCat(sequence)},
      {kOriginalMsgIdHeader, original_id},
      {kTenantHeader, trust},
  };
  for (const auto& [key, value] : added) {
    if (value.empty() || s != NATS_OK) continue;
    s = natsMsgHeader_Set(out, key, HeaderValue(value).c_str());
  }
  if (s != NATS_OK) {
    natsMsg_Destroy(out);
    return NatsError("dead letter headers", s);
  }
  // Idempotent if the ack below is lost and the message comes back.
  const std::string msg_id =
      absl::StrCat("inbound-", stream_created_, "-", sequence);
  jsPubOptions pub_options;
  jsPubOptions_Init(&pub_options);
  pub_options.MsgId = msg_id.c_str();
  pub_options.ExpectStream = options_.dead_letter_stream.c_str();
  pub_options.MaxWait = absl::ToInt64Milliseconds(options_.request_timeout);
  jsPubAck* ack = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  s = js_PublishMsg(&ack, conn_->js(), out, &pub_options, &js_code);
  natsMsg_Destroy(out);
  if (s != NATS_OK) {
    return NatsError("publish dead letter " + dlq_subject, s, js_code);
  }
  jsPubAck_Destroy(ack);
  return absl::OkStatus();
}

}  // namespace throughline::services::bus
