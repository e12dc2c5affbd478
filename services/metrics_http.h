// The metrics endpoint: a small HTTP server answering GET /metrics with the
// Prometheus text format, on its own address (metrics_listen), apart from
// the gRPC port.

#ifndef THROUGHLINE_SERVICES_METRICS_HTTP_H_
#define THROUGHLINE_SERVICES_METRICS_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace throughline::services {

class MetricsHttpServer {
 public:
  // Serves on `listen` (host:port, "[v6]:port"; port 0 picks a free port),
  // calling `render` for each scrape. Unavailable if it cannot listen.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, std::function<std::string()> render);

  ~MetricsHttpServer();  // Stops serving.

  int port() const { return port_; }

 private:
  MetricsHttpServer() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_METRICS_HTTP_H_
