#include "services/bus/bus_service.h"

#include "eventstore/format.h"
#include "services/auth/gate.h"
#include "services/grpc_status.h"

namespace throughline::services::bus {
namespace {

namespace v1 = ::throughline::bus::v1;

void FillError(const LastError& error, v1::BusError* out) {
  out->set_message(error.message);
  const int64_t micros = absl::ToUnixMicros(error.time);
  out->mutable_time()->set_seconds(micros / 1000000);
  out->mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

}  // namespace

grpc::Status BusService::GetBusStatus(grpc::ServerContext* context,
                                      const v1::GetBusStatusRequest* request,
                                      v1::GetBusStatusResponse* response) {
  // Operators only (services/auth/policy.cc).
  if (absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
      !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  if (!request->tenant().empty()) {
    if (absl::Status s = eventstore::ValidateTenant(request->tenant());
        !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  v1::OutboundStatus* outbound = response->mutable_outbound();
  const Relay::Status relay = relay_->GetStatus(request->tenant());
  outbound->set_stream(relay_->options().stream);
  outbound->set_connected(relay.connected);
  if (!relay.last_error.message.empty()) {
    FillError(relay.last_error, outbound->mutable_last_error());
  }
  for (const Relay::TenantStatus& t : relay.tenants) {
    v1::TenantOutboundStatus* out = outbound->add_tenants();
    out->set_tenant(t.tenant);
    out->set_published_position(t.published);
    out->set_head_position(t.head);
    out->set_lag(t.head > t.published ? t.head - t.published : 0);
  }
  v1::InboundStatus* inbound = response->mutable_inbound();
  const Ingest::Status ingest = ingest_->GetStatus();
  inbound->set_stream(ingest_->options().inbound_stream);
  inbound->set_consumer(kIngestConsumer);
  inbound->set_dead_letter_stream(ingest_->options().dead_letter_stream);
  inbound->set_connected(ingest.connected);
  inbound->set_applied(ingest.applied);
  inbound->set_dead_lettered(ingest.dead_lettered);
  inbound->set_retried(ingest.retried);
  if (!ingest.last_error.message.empty()) {
    FillError(ingest.last_error, inbound->mutable_last_error());
  }
  return grpc::Status::OK;
}

}  // namespace throughline::services::bus
