// Ingest: applies CPD commands other platforms publish on the bus
// (docs/bus.md, "Inbound").
//
// A platform publishes the serialized request message of a recording RPC of
// throughline.cpd.v1 on subject `throughline.in.<trust>.<Service>.<Rpc>`
// (e.g. throughline.in.northfield.ObservationService.RecordObservation).
// One thread fetches from a durable pull consumer on the inbound stream, in
// stream order, and for each message calls that RPC on the server itself,
// through its in-process channel: the very code path of a gRPC client, so
// validation and idempotency are the silo services' own. The call carries
// * the server's in-memory internal credential (role ROLE_INTERNAL, see
//   services/auth/gate.h) and metadata throughline-tenant = the subject's
//   <trust>, which only that credential may name (never a header or the
//   payload: a trust can only write through its own subjects),
//   throughline-source-platform = "bus", and throughline-actor /
//   throughline-correlation-id from the Throughline-Actor /
//   Throughline-Correlation-Id headers when present;
// * the request's request_id as published or, when empty, the message's
//   Nats-Msg-Id, or else "inbound-<stream created ns>-<stream sequence>";
//   so a redelivered or re-published message appends nothing.
// Outcome of the call:
// * OK: the events are durable; the message is acknowledged.
// * INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, NOT_FOUND,
//   OUT_OF_RANGE, PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED (no such
//   recording RPC), and a payload or subject that cannot be parsed: the
//   message is published to `throughline.dlq.<trust>.<Service>.<Rpc>` on
//   the dead-letter stream with its payload and headers plus
//   Throughline-Error-Code, Throughline-Error (the message, naming the
//   field) and Throughline-Error-Field, and only then acknowledged.
// * Anything else (UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, ...): the message
//   and the rest of its batch are negatively acknowledged, in order, and the
//   consumer pauses with exponential backoff before fetching again, so a
//   trust's commands are still applied in the order they were published.
//
// Thread safety: every public method is safe to call concurrently.

#ifndef THROUGHLINE_SERVICES_BUS_INGEST_H_
#define THROUGHLINE_SERVICES_BUS_INGEST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/channel.h"
#include "services/bus/nats_util.h"

namespace throughline::services::bus {

// The durable consumer's name on the inbound stream.
inline constexpr char kIngestConsumer[] = "THROUGHLINE_INGEST";

class Ingest {
 public:
  explicit Ingest(const BusOptions& options);
  ~Ingest();  // Calls Stop.
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // Starts the consumer thread. `channel` reaches the server whose silo
  // services apply the commands (its in-process channel). Call once.
  // `credential` is the internal bearer token the calls carry.
  void Start(std::shared_ptr<grpc::Channel> channel, std::string credential);
  // Stops the thread, returning any message fetched but not yet handled to
  // the stream, and closes the connection. Idempotent. Call before the
  // server the channel reaches shuts down.
  void Stop();

  struct Status {
    bool connected = false;
    uint64_t applied = 0;
    uint64_t dead_lettered = 0;
    uint64_t retried = 0;
    LastError last_error;
  };
  Status GetStatus() const;

  const BusOptions& options() const { return options_; }

 private:
  enum class Outcome { kDone, kRetry };

  void Run();
  absl::Status SetUp();
  // Handles one message; kRetry when it should come back later. A non-OK
  // status means NATS itself failed.
  absl::StatusOr<Outcome> Handle(natsMsg* msg);
  absl::Status DeadLetter(natsMsg* msg, const std::string& trust,
                          absl::string_view code, const std::string& error,
                          const std::string& field);
  void SetError(const absl::Status& status);

  std::shared_ptr<grpc::Channel> channel_;
  std::string credential_;
  const BusOptions options_;
  StopSignal stop_;
  std::thread thread_;

  // Owned by the consumer thread.
  std::unique_ptr<NatsConnection> conn_;
  natsSubscription* sub_ = nullptr;
  std::string stream_created_;  // The inbound stream's creation time, ns.

  mutable absl::Mutex mu_;
  Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace throughline::services::bus

#endif  // THROUGHLINE_SERVICES_BUS_INGEST_H_
