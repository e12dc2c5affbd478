// Relay: publishes every committed event of every tenant to a NATS JetStream
// stream, in each tenant's log order, exactly once (docs/bus.md).
//
// One thread follows all tenants (EventStore::ListTenants and
// WaitForCommit). For each tenant it publishes the events after its
// checkpoint one at a time, each synchronously acknowledged by JetStream,
// and advances the checkpoint only after the acknowledgement. So:
// * order: event P+1 of a tenant is published only once P is acknowledged;
// * nothing lost: a failure (NATS down, timeout, stream missing) leaves the
//   checkpoint at the last acknowledged event; the relay reconnects with
//   exponential backoff (up to BusOptions::retry_max) and resumes after it;
// * no duplicate: each message carries Nats-Msg-Id = the event id, so
//   JetStream drops a re-publish within its duplicate window; and after
//   every (re)start or failure the relay first asks the stream for the
//   tenant's last message (subject throughline.ev.<tenant>.>) and skips the
//   positions already there, which covers a crash between the
//   acknowledgement and the checkpoint write even outside the window.
//
// Beside each event, and before it, the relay may publish a clear form of
// it (SetClearPayload) on "throughline.clear.<tenant>.<category>.<type>" of
// the stream options().clear_stream, with the same headers and Nats-Msg-Id.
// Those messages never go to the outbound stream: what it holds stays the
// stored bytes, from which a trust can be rebuilt.
//
// Checkpoints live in a small RocksDB of the relay's own (never the event
// store's): key "checkpoint/<tenant>", value the decimal position. They are
// written without fsync: after a power loss the stream check above restores
// any checkpoint that went missing.
//
// Appends never wait for the relay: with NATS down, the store keeps
// accepting events and the relay catches up when NATS returns.
//
// Thread safety: every public method is safe to call concurrently.

#ifndef THROUGHLINE_SERVICES_BUS_RELAY_H_
#define THROUGHLINE_SERVICES_BUS_RELAY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "services/bus/nats_util.h"
#include "services/tenant.h"

namespace rocksdb {
class DB;
}

namespace throughline::services::bus {

// "throughline.ev.<tenant>.<category>.<type>", each token through
// SubjectToken; the category is the stream's part before the first '-'.
std::string OutboundSubject(absl::string_view tenant, absl::string_view stream,
                            absl::string_view type);
// The same tokens under "throughline.clear.".
std::string ClearSubject(absl::string_view tenant, absl::string_view stream,
                         absl::string_view type);

class Relay {
 public:
  // Opens (creating if needed) the checkpoint database in `checkpoint_dir`.
  // Does not connect yet. `store` must outlive the relay.
  static absl::StatusOr<std::unique_ptr<Relay>> Create(
      eventstore::EventStore* store, const BusOptions& options,
      const std::string& checkpoint_dir);

  ~Relay();  // Calls Stop.
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // The payload of an event's clear form, or nullopt to publish none. On an
  // error the event is not published in clear (logged as
  // "bus_clear_form_skipped"); its outbound message is published as usual.
  using ClearPayload = std::function<absl::StatusOr<std::optional<std::string>>(
      const std::string& tenant, const eventstore::RecordedEvent& event)>;
  // Publishes clear forms as `clear` gives them. Call before Start; without
  // it nothing is published in clear and the clear stream is not set up.
  void SetClearPayload(ClearPayload clear);

  // Starts the relay thread. Call once.
  void Start();

  // Stops the thread (waiting at most for one JetStream request in flight)
  // and closes the connection. Idempotent.
  void Stop();

  struct TenantStatus {
    std::string tenant;
    uint64_t published = 0;  // Last position JetStream acknowledged.
    uint64_t head = 0;       // The tenant's committed head.
  };
  struct Status {
    bool connected = false;  // Connected and the stream is set up.
    LastError last_error;
    std::vector<TenantStatus> tenants;  // In tenant order.
  };
  // The relay's progress; `only_tenant` restricts it to one tenant.
  Status GetStatus(const std::string& only_tenant = "") const;

  const BusOptions& options() const { return options_; }

  // In a cluster, publishes only the tenants `gate` admits (those this node
  // owns), and checks a tenant against the stream again whenever it comes
  // back, so that a node never publishes a trust another node now writes.
  // Set before Start; nullptr (the default) publishes every tenant.
  void set_tenant_gate(const TenantGate* gate) { gate_ = gate; }

 private:
  Relay(eventstore::EventStore* store, const BusOptions& options,
        std::unique_ptr<rocksdb::DB> db);

  void Run();
  // Publishes what is pending, a bounded batch per tenant. Sets
  // *caught_up when no tenant has anything left.
  absl::Status PublishPending(bool* caught_up);
  // Raises the tenant's checkpoint to the position of its last message in
  // the stream, if higher.
  absl::Status Reconcile(const std::string& tenant);
  // `chain` is the tenant's chain hash at the event's position.
  absl::Status Publish(const std::string& tenant,
                       const eventstore::RecordedEvent& event,
                       const eventstore::ChainHash& chain);
  // The tenant's chain hash at `position`, recomputed from the stored event
  // there and the stored hash before it (DataLoss if they do not link).
  absl::StatusOr<eventstore::ChainHash> ChainAt(const std::string& tenant,
                                                uint64_t position) const;
  absl::Status SaveCheckpoint(const std::string& tenant, uint64_t position);
  // Publishes the event's clear form, if clear_ gives one (Publish calls it
  // first).
  absl::Status PublishClear(const std::string& tenant,
                            const eventstore::RecordedEvent& event);
  // Publishes `payload` on `subject` to the JetStream stream `stream`, with
  // the event's headers plus `extra_headers` (empty values left out), and
  // the event's id as the message id (JetStream's duplicate check).
  absl::Status PublishMessage(
      const std::string& tenant, const eventstore::RecordedEvent& event,
      const std::string& subject, absl::string_view payload,
      const std::string& stream,
      const std::vector<std::pair<const char*, std::string>>& extra_headers);
  void SetError(const absl::Status& status);
  void SetConnected(bool connected);

  eventstore::EventStore* const store_;
  const BusOptions options_;
  const TenantGate* gate_ = nullptr;
  std::unique_ptr<rocksdb::DB> db_;
  ClearPayload clear_;
  StopSignal stop_;
  std::thread thread_;

  // Owned by the relay thread.
  std::unique_ptr<NatsConnection> conn_;
  bool ready_ = false;  // The stream is set up on this connection.
  absl::flat_hash_set<std::string> reconciled_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> published_ ABSL_GUARDED_BY(mu_);
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  LastError last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace throughline::services::bus

#endif  // THROUGHLINE_SERVICES_BUS_RELAY_H_
