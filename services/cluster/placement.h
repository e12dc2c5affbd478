// Placement: which node serves each trust, kept in a NATS JetStream
// key-value bucket and cached in memory through a watch, so that deciding
// whether this node serves a call costs no NATS round trip.
//
// Bucket layout (docs/operations.md):
//   trust.<trust>  -> the owner's node id
//   node.<node>    -> that node's advertised gRPC address
// Each node puts its own node.<id> entry when it connects. A trust without
// an entry is claimed by the first node that gets one of its calls (an
// atomic create, so two nodes cannot both claim it); at start a node also
// claims every unplaced trust its own store holds. Moving a trust is a
// compare-and-set on its entry (SetOwner).
//
// Until the bucket's current state has been loaded (NATS unreachable at
// start), Admit refuses with Unavailable rather than guess.
//
// Thread safety: every public method is safe to call concurrently.

#ifndef THROUGHLINE_SERVICES_CLUSTER_PLACEMENT_H_
#define THROUGHLINE_SERVICES_CLUSTER_PLACEMENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "services/bus/nats_util.h"
#include "services/tenant.h"

namespace throughline::services::cluster {

struct PlacementOptions {
  std::string node_id;            // This node; [a-z0-9-], 1-63.
  std::string advertise_address;  // Where clients reach this node.
  std::string bucket = "THROUGHLINE_PLACEMENT";
};

class Placement final : public TenantGate {
 public:
  // `store` (this node's log, whose trusts are claimed at start) must
  // outlive the placement. Does not connect yet.
  Placement(eventstore::EventStore* store, const bus::BusOptions& bus,
            const PlacementOptions& options);
  ~Placement() override;  // Calls Stop.
  Placement(const Placement&) = delete;
  Placement& operator=(const Placement&) = delete;

  // Starts the thread that connects (retrying with backoff), sets up the
  // bucket (the bus's replicas), registers this node and watches the
  // bucket. Call once.
  void Start();
  void Stop();

  // TenantGate: OK when this node owns `tenant`, claiming it if nobody does;
  // NotOwnerError naming the owner otherwise; Unavailable while the
  // placement is not loaded or NATS cannot be reached for a claim.
  absl::Status Admit(const std::string& tenant) const override;

  struct Owner {
    std::string node;
    std::string address;
    uint64_t revision = 0;  // Of the trust's entry; 0 when it has none.
  };
  // The cached owner of `tenant` (node empty when it has none). Unavailable
  // while the placement is not loaded.
  absl::StatusOr<Owner> OwnerOf(const std::string& tenant) const;
  // The advertised address of `node` ("" if it never registered).
  std::string AddressOf(const std::string& node) const;

  // Compare-and-set of `tenant`'s owner to `node`: succeeds only while the
  // entry's revision is still `expected_revision` (0: no entry). Updates the
  // cache at once. Aborted when the entry moved on; Unavailable when NATS
  // cannot be reached.
  absl::StatusOr<Owner> SetOwner(const std::string& tenant,
                                 const std::string& node,
                                 uint64_t expected_revision);

  // Records an owner learned from elsewhere (the target of a move), ahead
  // of the watch.
  void NoteOwner(const std::string& tenant, const std::string& node,
                 uint64_t revision) const;

  // Where this node is reached; set before Start.
  void set_advertise_address(const std::string& address) {
    options_.advertise_address = address;
  }
  const PlacementOptions& options() const { return options_; }
  // The connection, once Start has connected (nullptr before); for the
  // restore's replay. Owned by the placement.
  bus::NatsConnection* connection() const;

 private:
  void Run();
  absl::Status Connect();
  absl::Status ClaimStoredTrusts();
  // Applies one watched or read entry to the cache.
  void Apply(absl::string_view key, absl::string_view value, uint64_t revision,
             bool deleted) const;
  absl::StatusOr<Owner> Claim(const std::string& tenant) const;
  // The placement bucket, once connected (Unavailable before).
  absl::StatusOr<kvStore*> Bucket() const;

  eventstore::EventStore* const store_;
  const bus::BusOptions bus_;
  PlacementOptions options_;
  bus::StopSignal stop_;
  std::thread thread_;

  // Set once by the thread (under mu_), then used by any thread.
  std::unique_ptr<bus::NatsConnection> conn_;
  kvStore* kv_ = nullptr;

  mutable absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;  // conn_ and kv_ are set.
  // The cache; mutable because Admit's claim records what it learned.
  mutable absl::flat_hash_map<std::string, Owner> owners_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, std::string> addresses_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace throughline::services::cluster

#endif  // THROUGHLINE_SERVICES_CLUSTER_PLACEMENT_H_
