// BusService (proto/throughline/bus/v1/bus.proto): the bus's state for
// operators. Served only when the bus is on.

#ifndef THROUGHLINE_SERVICES_BUS_BUS_SERVICE_H_
#define THROUGHLINE_SERVICES_BUS_BUS_SERVICE_H_

#include "services/bus/ingest.h"
#include "services/bus/relay.h"
#include "throughline/bus/v1/bus.grpc.pb.h"

namespace throughline::services::bus {

class BusService final : public ::throughline::bus::v1::BusService::Service {
 public:
  // `relay` and `ingest` must outlive the service.
  BusService(const Relay* relay, const Ingest* ingest)
      : relay_(relay), ingest_(ingest) {}

  grpc::Status GetBusStatus(
      grpc::ServerContext* context,
      const ::throughline::bus::v1::GetBusStatusRequest* request,
      ::throughline::bus::v1::GetBusStatusResponse* response) override;

 private:
  const Relay* const relay_;
  const Ingest* const ingest_;
};

}  // namespace throughline::services::bus

#endif  // THROUGHLINE_SERVICES_BUS_BUS_SERVICE_H_
