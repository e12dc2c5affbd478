// Restoring a trust from the bus: the relay's outbound messages (docs/bus.md)
// carry everything of each stored event, so replaying a trust's subjects
// from the (R3) event stream rebuilds its log exactly, on any node.

#ifndef THROUGHLINE_SERVICES_CLUSTER_RESTORE_H_
#define THROUGHLINE_SERVICES_CLUSTER_RESTORE_H_

#include <nats/nats.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "eventstore/event_store.h"
#include "services/bus/nats_util.h"

namespace throughline::services::cluster {

// The stored record one outbound message was published from, rebuilt from
// its headers and payload, at the message's position. DataLoss when a
// header is missing or malformed, or when the rebuilt bytes do not have the
// digest of the Throughline-Record-Sha256 header (a value the headers could
// not carry exactly). Messages published before that header existed are
// rebuilt unchecked.
absl::StatusOr<eventstore::ImportedEvent> StoredEventFromMessage(natsMsg* msg);

// The position of `tenant`'s last message in the outbound stream; 0 when
// it has none.
absl::StatusOr<uint64_t> LastPublishedPosition(bus::NatsConnection* conn,
                                               const bus::BusOptions& bus,
                                               const std::string& tenant);

struct ReplayResult {
  uint64_t previous_head = 0;  // The store's head before.
  uint64_t head = 0;           // After: the stream's last position.
  uint64_t restored = 0;       // Events written.
  // The store's chain hash at `head`, equal to the source's (the
  // Throughline-Chain-Hash of the message at that position).
  eventstore::ChainHash chain_head{};
};

// Replays `tenant`'s events after the store's head from the outbound stream
// into `store` (EventStore::ImportEvents, in batches), up to the last
// position the stream held when the replay began. The store's event at its
// head must be the stream's event at that position (same id), or the logs
// have diverged (FailedPrecondition). After each batch the store's chain
// head must equal the source's chain hash carried by the batch's last
// message, and at the end the store's whole chain for the tenant is
// verified. DataLoss when the stream lacks a position, a message does not
// rebuild its record, or the chains differ; Unavailable when NATS does not
// answer.
absl::StatusOr<ReplayResult> ReplayFromBus(eventstore::EventStore* store,
                                           bus::NatsConnection* conn,
                                           const bus::BusOptions& bus,
                                           const std::string& tenant);

}  // namespace throughline::services::cluster

#endif  // THROUGHLINE_SERVICES_CLUSTER_RESTORE_H_
