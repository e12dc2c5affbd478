// The gRPC EventStore service (proto/throughline/eventstore/v1/
// eventstore.proto) over an eventstore::EventStore.
//
// Append uses the callback API so that thousands of appends can wait for the
// group commit without holding a thread each. ReadAll, the catch-up read,
// is a raw callback method: its reply is written as wire bytes straight from
// the stored records, with no message object per event. The other reads are
// short and use the synchronous API; Subscribe holds one server thread per
// subscriber.

#ifndef THROUGHLINE_SERVICES_EVENT_STORE_SERVICE_H_
#define THROUGHLINE_SERVICES_EVENT_STORE_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "eventstore/event_store.h"
#include "services/auth/auth_store.h"
#include "services/tenant.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"

namespace throughline::services {

namespace v1 = ::throughline::eventstore::v1;

class EventStoreService final
    : public v1::EventStore::WithRawCallbackMethod_ReadAll<
          v1::EventStore::WithCallbackMethod_Append<v1::EventStore::Service>> {
 public:
  // Turns a stored event into what a reader may see (e.g. decrypts its
  // personal data), in place, adding to `revealed` (when not null) the staff
  // id of each person whose personal data it decrypted. Runs on every event
  // ReadStream, ReadAll and Subscribe return, before confidential text is
  // redacted; an error fails the read.
  struct Reveal {
    // Whether `apply` may change events of this type. Events of other types
    // (and confidential-free ones) are sent as stored, without decoding.
    std::function<bool(absl::string_view type)> may_change;
    std::function<absl::Status(const std::string& tenant,
                               v1::RecordedEvent* event,
                               std::vector<std::string>* revealed)>
        apply;
  };

  // `store` and `access_log` must outlive the service. Raw reads of a
  // person's stream ("staff-<id>") and of the whole log are recorded in the
  // caller's trust's access log, and so is a ReadStream of any other stream
  // once for each person whose personal data it decrypted (an observation's
  // notes are the observed teacher's). An empty `reveal` returns events as
  // stored.
  EventStoreService(eventstore::EventStore* store, auth::AuthStore* access_log,
                    Reveal reveal = {});

  // Refuses the calls of tenants this server does not serve (cluster
  // placement); nullptr (the default) serves every tenant. Set before
  // serving; `gate` must outlive the service.
  void set_tenant_gate(const TenantGate* gate) { gate_ = gate; }

  // Ends every open subscription (with UNAVAILABLE) and refuses new ones, so
  // that the server can shut down without waiting for them.
  void StopSubscriptions();

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const v1::AppendRequest* request,
                                   v1::AppendResponse* response) override;
  grpc::Status ReadStream(grpc::ServerContext* context,
                          const v1::ReadStreamRequest* request,
                          v1::ReadStreamResponse* response) override;
  // A v1::ReadAllRequest in, a v1::ReadAllResponse out, as wire bytes.
  grpc::ServerUnaryReactor* ReadAll(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::Status Subscribe(
      grpc::ServerContext* context, const v1::SubscribeRequest* request,
      grpc::ServerWriter<v1::SubscribeResponse>* writer) override;
  grpc::Status GetStream(grpc::ServerContext* context,
                         const v1::GetStreamRequest* request,
                         v1::GetStreamResponse* response) override;
  grpc::Status GetLogInfo(grpc::ServerContext* context,
                          const v1::GetLogInfoRequest* request,
                          v1::GetLogInfoResponse* response) override;
  grpc::Status Verify(grpc::ServerContext* context,
                      const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override;

 private:
  static constexpr char kPersonStreamPrefix[] = "staff-";

  // Records a raw read in the access log (see the constructor).
  absl::Status RecordRawRead(const grpc::ServerContextBase& context,
                             absl::string_view stream, uint64_t from_position);

  eventstore::EventStore* const store_;
  const TenantGate* gate_ = nullptr;
  auth::AuthStore* const access_log_;
  const Reveal reveal_;

  // ToProto, then reveal_.
  absl::Status Out(const std::string& tenant,
                   const eventstore::RecordedEvent& event,
                   v1::RecordedEvent* proto,
                   std::vector<std::string>* revealed = nullptr) const;
  // Whether an event of `type` must be decoded for reveal_ or for
  // confidential-text redaction before it is sent.
  bool MustDecode(absl::string_view type) const;
  std::atomic<bool> stopping_{false};
};

// Copies a stored event into its API form.
void ToProto(const eventstore::RecordedEvent& event, v1::RecordedEvent* proto);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_EVENT_STORE_SERVICE_H_
