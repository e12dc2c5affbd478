// ClusterService (proto/throughline/cluster/v1/cluster.proto): trust
// placement for operators, restoring a trust from the bus, and moving a
// trust between nodes. Served only on a cluster node (the node_id option).

#ifndef THROUGHLINE_SERVICES_CLUSTER_CLUSTER_SERVICE_H_
#define THROUGHLINE_SERVICES_CLUSTER_CLUSTER_SERVICE_H_

#include "eventstore/event_store.h"
#include "services/bus/relay.h"
#include "services/cluster/placement.h"
#include "services/privacy/personal_data.h"
#include "throughline/cluster/v1/cluster.grpc.pb.h"

namespace throughline::services::cluster {

class ClusterService final
    : public ::throughline::cluster::v1::ClusterService::Service {
 public:
  // Every argument must outlive the service. `personal_data` checks the
  // data keys a move carries in against this node's master key, and
  // destroys those held here that the owner no longer has.
  ClusterService(eventstore::EventStore* store, Placement* placement,
                 const bus::Relay* relay, privacy::PersonalData* personal_data)
      : store_(store),
        placement_(placement),
        relay_(relay),
        personal_data_(personal_data) {}

  grpc::Status GetTrustOwner(
      grpc::ServerContext* context,
      const ::throughline::cluster::v1::GetTrustOwnerRequest* request,
      ::throughline::cluster::v1::TrustOwner* response) override;
  grpc::Status RestoreTrust(
      grpc::ServerContext* context,
      const ::throughline::cluster::v1::RestoreTrustRequest* request,
      ::throughline::cluster::v1::RestoreTrustResponse* response) override;
  grpc::Status MoveTrust(
      grpc::ServerContext* context,
      const ::throughline::cluster::v1::MoveTrustRequest* request,
      ::throughline::cluster::v1::MoveTrustResponse* response) override;

 private:
  // Serializes restores and moves on this node.
  absl::Mutex mu_;
  eventstore::EventStore* const store_;
  Placement* const placement_;
  const bus::Relay* const relay_;
  privacy::PersonalData* const personal_data_;
};

}  // namespace throughline::services::cluster

#endif  // THROUGHLINE_SERVICES_CLUSTER_CLUSTER_SERVICE_H_
