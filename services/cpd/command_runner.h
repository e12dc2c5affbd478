// CommandRunner: the one path by which every CPD silo RPC records events.
//
// For each call it:
//  1. reads the tenant (and actor, source platform, correlation id) from the
//     request metadata;
//  2. answers a retried request_id with the first call's outcome, appending
//     nothing (the event ids are derived from tenant and request_id, and the
//     first event's causation id holds a digest of the request, so a reused
//     request_id with a different request is ALREADY_EXISTS);
//  3. serializes the trust's commands: under the trust's lock it brings the
//     trust's state up to the log head, checks occurred_at, lets the RPC
//     decide what to append against that state, seals the personal data of
//     the decided events (privacy::PersonalData) and appends them durably.
// Because the trust's commands are serialized and each sees every event
// committed before it, every check an RPC makes is strict, also those that
// read other streams.

#ifndef THROUGHLINE_SERVICES_CPD_COMMAND_RUNNER_H_
#define THROUGHLINE_SERVICES_CPD_COMMAND_RUNNER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/server_context.h"
#include "projections/trust_state.h"
#include "services/privacy/personal_data.h"
#include "services/tenant.h"
#include "throughline/cpd/v1/record.pb.h"

namespace throughline::services::cpd {

namespace v1 = ::throughline::cpd::v1;
using projections::TrustState;

// What a request decided to append: events for one stream.
struct Decision {
  std::string stream;
  eventstore::ExpectedRevision expected = eventstore::ExpectedRevision::Any();
  std::vector<v1::CpdEvent> events;
};

// Metadata keys a caller may set beside its credential.
inline constexpr char kActorMetadataKey[] = "throughline-actor";
inline constexpr char kSourcePlatformMetadataKey[] =
    "throughline-source-platform";
inline constexpr char kCorrelationMetadataKey[] = "throughline-correlation-id";

// Trust-level rules that every RPC shares.
inline constexpr absl::Duration kMaxFutureSkew = absl::Hours(24);

class CommandRunner {
 public:
  // Decides what to append given the trust's current state and the time the
  // request says it happened. Returns the refusal otherwise.
  using Decide = std::function<absl::StatusOr<Decision>(
      const TrustState&, absl::Time occurred_at)>;

  // `store` and `personal_data` must outlive the runner.
  CommandRunner(eventstore::EventStore* store,
                privacy::PersonalData* personal_data);

  // Refuses the calls of tenants this server does not serve (cluster
  // placement); nullptr (the default) serves every tenant. Set before
  // serving; `gate` must outlive the service.
  void set_tenant_gate(const TenantGate* gate) { gate_ = gate; }

  // Runs one request. `request` is the whole RPC request (its bytes make the
  // idempotency digest); `occurred_at` is null when unset. Unless
  // `for_unregistered_trust`, the trust must be registered and occurred_at
  // not before its registration.
  grpc::Status Run(const grpc::ServerContextBase& context,
                   const google::protobuf::Message& request,
                   const std::string& request_id,
                   const google::protobuf::Timestamp* occurred_at,
                   const Decide& decide, v1::RecordResponse* response,
                   bool for_unregistered_trust = false);

  // Run for a request with the usual request_id and occurred_at fields.
  template <typename Request>
  grpc::Status Record(const grpc::ServerContextBase& context,
                      const Request& request, const Decide& decide,
                      v1::RecordResponse* response,
                      bool for_unregistered_trust = false) {
    return Run(context, request, request.request_id(),
               request.has_occurred_at() ? &request.occurred_at() : nullptr,
               decide, response, for_unregistered_trust);
  }

  // Runs `read` on the trust's state brought up to the log head, under the
  // trust's lock. For read-only RPCs.
  grpc::Status Read(const grpc::ServerContextBase& context,
                    const std::function<grpc::Status(const TrustState&)>& read);
  // Read for a tenant named by the caller (e.g. a server-side job).
  absl::Status ReadTenant(
      const std::string& tenant,
      const std::function<absl::Status(const TrustState&)>& read);

 private:
  struct Trust {
    absl::Mutex mu;
    TrustState state ABSL_GUARDED_BY(mu);
  };

  Trust* TrustFor(const std::string& tenant);
  absl::Status CatchUp(const std::string& tenant, TrustState* state);

  eventstore::EventStore* const store_;
  privacy::PersonalData* const personal_data_;
  const TenantGate* gate_ = nullptr;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Trust>> trusts_
      ABSL_GUARDED_BY(mu_);
};

// The id of the `index`-th event appended for `request_id` in `tenant`: a
// name-based UUID (version 5 layout over SHA-256), stable across retries.
std::string RequestEventId(const std::string& tenant,
                           const std::string& request_id, size_t index);

}  // namespace throughline::services::cpd

#endif  // THROUGHLINE_SERVICES_CPD_COMMAND_RUNNER_H_
