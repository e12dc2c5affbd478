// Server: the event store and the gRPC services over it, started and stopped
// as one. Used by throughline-server's main and by tests that want a real
// server on loopback.

#ifndef THROUGHLINE_SERVICES_SERVER_H_
#define THROUGHLINE_SERVICES_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "grpcpp/server.h"
#include "projections/fact_store.h"
#include "projections/projector.h"
#include "services/auth/auth_service.h"
#include "services/auth/auth_store.h"
#include "services/auth/gate.h"
#include "services/backup.h"
#include "services/cpd/command_runner.h"
#include "services/event_store_service.h"
#include "services/insights_service.h"
#include "services/metrics.h"
#include "services/privacy/personal_data.h"
#include "services/privacy/privacy_service.h"
#include "services/server_config.h"

namespace throughline::services {

namespace bus {
class Relay;
class Ingest;
}  // namespace bus
class MetricsHttpServer;
namespace cluster {
class Placement;
}  // namespace cluster

class Server {
 public:
  // Opens the store in config.data_dir and starts serving on config.listen
  // with health checking (grpc.health.v1, status SERVING) and reflection.
  // Every other RPC needs a credential (docs/security.md). With an empty
  // credential store (the first start) it issues an operator token into
  // <data_dir>/operator-token, readable by its owner only. Refuses a
  // non-loopback listen address without TLS unless
  // config.allow_insecure_listen.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerConfig& config);

  ~Server();  // Calls Shutdown.

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  eventstore::EventStore* store() { return store_.get(); }
  // The credentials and access log; tests mint tokens with it.
  auth::AuthStore* auth_store() { return auth_store_.get(); }
  // The file the first start wrote the operator token to; empty when this
  // start found credentials already.
  const std::string& bootstrap_token_file() const {
    return bootstrap_token_file_;
  }
  // Seals and reveals personal data (docs/audit-and-privacy.md).
  privacy::PersonalData* personal_data() { return personal_data_.get(); }

  // Stops cleanly: reports NOT_SERVING, ends subscriptions, lets in-flight
  // calls finish for up to config.shutdown_grace_seconds (appends already
  // accepted by the store always complete), then closes the store.
  // Idempotent.
  void Shutdown();

  // Blocks until Shutdown has completed.
  void Wait();

  // Operations (docs/operations.md); the code is in server_ops.cc.
  // The metrics endpoint's port; 0 when metrics_listen is empty.
  int metrics_port() const;
  // Every metric, in the Prometheus text format (what GET /metrics serves).
  std::string ScrapeMetrics();
  // One backup of every durable store into config.backup_dir, logged and
  // counted in metrics. FailedPrecondition without a backup_dir.
  absl::StatusOr<BackupSetOutcome> TakeBackup();

 private:
  Server(const ServerConfig& config, std::unique_ptr<Metrics> metrics,
         std::unique_ptr<eventstore::EventStore> store);
  // The metrics, slow-commit log and store options that feed them.
  static std::unique_ptr<Metrics> NewMetrics();
  static void ObserveCommits(const ServerConfig& config, Metrics* metrics,
                             eventstore::EventStoreOptions* options);
  // Admin service and backups: before the gRPC server is built. Metrics
  // endpoint and backup schedule: once it serves; stopped first.
  void CreateOps();
  absl::Status StartOps();
  void StopOps();
  void ScheduleBackups();
  // The message bus (docs/bus.md), when config.nats_url is set: CreateBus
  // before the gRPC server is built (it registers BusService), StartBus
  // after it is up, StopBus first thing on Shutdown.
  absl::Status CreateBus();
  // Opens the credential store (bootstrapping it when empty) and makes the
  // gate and the auth services.
  absl::Status StartAuth();
  void StartBus();
  void StopBus();
  // Trusts across nodes (docs/operations.md), when config.node_id is set:
  // CreateCluster after CreateBus (it gates the services and registers
  // ClusterService), StartCluster once the port is bound, StopCluster after
  // the gRPC server has stopped.
  absl::Status CreateCluster();
  void StartCluster();
  void StopCluster();

  const ServerConfig config_;
  // Before the store: its commits are recorded here until it closes.
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<auth::AuthStore> auth_store_;
  std::unique_ptr<auth::Gate> gate_;
  std::unique_ptr<auth::AuthService> auth_service_;
  std::unique_ptr<auth::AccessLogService> access_log_service_;
  std::string internal_credential_;
  std::string bootstrap_token_file_;
  // Personal data: sealed at append, revealed in replies
  // (docs/audit-and-privacy.md).
  std::unique_ptr<privacy::PersonalData> personal_data_;
  // Each trust's switch for clear personal data on the bus.
  std::unique_ptr<privacy::BusDisclosure> bus_disclosure_;
  std::unique_ptr<privacy::PrivacyService> privacy_service_;
  std::unique_ptr<EventStoreService> event_store_service_;
  std::unique_ptr<cpd::CommandRunner> command_runner_;
  // The CPD silo services.
  std::vector<std::unique_ptr<grpc::Service>> cpd_services_;
  // The views: their state, the projector that keeps it up with the log,
  // and the Insights service that answers from it.
  std::unique_ptr<projections::FactStore> facts_;
  std::unique_ptr<projections::Projector> projector_;
  std::unique_ptr<InsightsService> insights_service_;
  std::unique_ptr<bus::Relay> bus_relay_;
  std::unique_ptr<bus::Ingest> bus_ingest_;
  std::unique_ptr<grpc::Service> bus_service_;
  std::unique_ptr<cluster::Placement> placement_;
  std::unique_ptr<grpc::Service> cluster_service_;
  std::unique_ptr<BackupSet> backups_;
  std::unique_ptr<grpc::Service> admin_service_;
  std::unique_ptr<MetricsHttpServer> metrics_http_;
  absl::Mutex schedule_mu_;
  bool schedule_stop_ ABSL_GUARDED_BY(schedule_mu_) = false;
  std::thread backup_schedule_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_SERVER_H_
