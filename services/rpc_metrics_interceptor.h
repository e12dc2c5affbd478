// A gRPC server interceptor that records every RPC's method, status code and
// duration in Metrics (throughline_rpc_duration_seconds).

#ifndef THROUGHLINE_SERVICES_RPC_METRICS_INTERCEPTOR_H_
#define THROUGHLINE_SERVICES_RPC_METRICS_INTERCEPTOR_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "services/metrics.h"

namespace throughline::services {

// `metrics` must outlive every call of the server the factory is given to.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcMetricsInterceptorFactory(Metrics* metrics);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_RPC_METRICS_INTERCEPTOR_H_
