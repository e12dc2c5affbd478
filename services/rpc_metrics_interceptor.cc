#include "services/rpc_metrics_interceptor.h"

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/grpc_status.h"

namespace throughline::services {
namespace {

class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(Metrics* metrics, const char* method)
      : metrics_(metrics),
        method_(method == nullptr ? "" : method),
        start_(absl::Now()) {}

  // A call that ends without the server sending a status (the client went
  // away) is counted as CANCELLED.
  ~RpcMetricsInterceptor() override {
    if (!recorded_) Record("CANCELLED");
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(GrpcCodeName(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  void Record(const std::string& code) {
    recorded_ = true;
    metrics_->RecordRpc(method_, code,
                        absl::ToDoubleSeconds(absl::Now() - start_));
  }

  Metrics* const metrics_;
  const std::string method_;
  const absl::Time start_;
  bool recorded_ = false;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(metrics_, info->method());
  }

 private:
  Metrics* const metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcMetricsInterceptorFactory(Metrics* metrics) {
  return std::make_unique<Factory>(metrics);
}

}  // namespace throughline::services
