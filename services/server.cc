#include "services/server.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/bus/bus_service.h"
#include "services/bus/ingest.h"
#include "services/bus/relay.h"
#include "services/cluster/cluster_service.h"
#include "services/cluster/placement.h"
#include "services/cpd/silo_services.h"

namespace throughline::services {

Server::Server(const ServerConfig& config,
               std::unique_ptr<eventstore::EventStore> store)
    : config_(config), store_(std::move(store)) {}

Server::~Server() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerConfig& config) {
  eventstore::EventStoreOptions store_options;
  store_options.path = config.data_dir;
  store_options.max_event_data_bytes = config.max_event_bytes;
  store_options.max_events_per_append = config.max_events_per_append;
  store_options.block_cache_bytes = config.block_cache_mib << 20;
  absl::StatusOr<std::unique_ptr<eventstore::EventStore>> store =
      eventstore::EventStore::Open(store_options);
  if (!store.ok()) return store.status();

  std::unique_ptr<Server> server(new Server(config, *std::move(store)));
  server->event_store_service_ =
      std::make_unique<EventStoreService>(server->store_.get());
  server->command_runner_ =
      std::make_unique<cpd::CommandRunner>(server->store_.get());
  cpd::CommandRunner* runner = server->command_runner_.get();
  auto& silos = server->cpd_services_;
  silos.push_back(std::make_unique<cpd::OrganisationService>(runner));
  silos.push_back(std::make_unique<cpd::StaffDirectoryService>(runner));
  silos.push_back(std::make_unique<cpd::ObservationService>(runner));
  silos.push_back(std::make_unique<cpd::CoachingService>(runner));
  silos.push_back(std::make_unique<cpd::AppraisalService>(runner));
  silos.push_back(std::make_unique<cpd::CpdProgrammeService>(runner));
  silos.push_back(std::make_unique<cpd::PlanningService>(runner));

  absl::StatusOr<std::unique_ptr<projections::FactStore>> facts =
      projections::FactStore::Open(
          (std::filesystem::path(config.data_dir) / "views").string());
  if (!facts.ok()) {
    server->store_->Shutdown();
    return facts.status();
  }
  server->facts_ = *std::move(facts);
  server->projector_ = std::make_unique<projections::Projector>(
      server->store_.get(), server->facts_.get());
  server->insights_service_ = std::make_unique<InsightsService>(
      server->store_.get(), server->projector_.get());

  if (absl::Status s = server->CreateBus(); !s.ok()) {
    server->store_->Shutdown();
    return s;
  }
  if (absl::Status s = server->CreateCluster(); !s.ok()) {
    server->store_->Shutdown();
    return s;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(server->event_store_service_.get());
  for (auto& service : silos) builder.RegisterService(service.get());
  builder.RegisterService(server->insights_service_.get());
  if (server->bus_service_ != nullptr) {
    builder.RegisterService(server->bus_service_.get());
  }
  if (server->cluster_service_ != nullptr) {
    builder.RegisterService(server->cluster_service_.get());
  }
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config.max_message_bytes));
  grpc::ResourceQuota quota("throughline");
  quota.SetMaxThreads(static_cast<int>(config.max_threads));
  builder.SetResourceQuota(quota);
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    server->store_->Shutdown();
    return absl::UnavailableError(
        absl::StrCat("listen: cannot listen on ", config.listen));
  }
  grpc::HealthCheckServiceInterface* health =
      server->grpc_server_->GetHealthCheckService();
  health->SetServingStatus(v1::EventStore::service_full_name(), true);
  namespace cpd_v1 = ::throughline::cpd::v1;
  for (const char* name : {cpd_v1::OrganisationService::service_full_name(),
                           cpd_v1::StaffDirectoryService::service_full_name(),
                           cpd_v1::ObservationService::service_full_name(),
                           cpd_v1::CoachingService::service_full_name(),
                           cpd_v1::AppraisalService::service_full_name(),
                           cpd_v1::CpdProgrammeService::service_full_name(),
                           cpd_v1::PlanningService::service_full_name()}) {
    health->SetServingStatus(name, true);
  }
  health->SetServingStatus(
      ::throughline::insights::v1::Insights::service_full_name(), true);
  health->SetServingStatus(true);
  server->projector_->Start();
  server->StartCluster();
  server->StartBus();
  return server;
}

void Server::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  StopBus();
  if (grpc_server_ == nullptr) {  // Start failed before serving.
    store_->Shutdown();
    return;
  }
  grpc_server_->GetHealthCheckService()->SetServingStatus(false);
  event_store_service_->StopSubscriptions();
  insights_service_->StopWatches();
  grpc_server_->Shutdown(std::chrono::system_clock::now() +
                         std::chrono::seconds(config_.shutdown_grace_seconds));
  projector_->Stop();
  StopCluster();
  // Every append the store accepted completes before it closes.
  store_->Shutdown();
}

void Server::Wait() { grpc_server_->Wait(); }

absl::Status Server::CreateBus() {
  if (config_.nats_url.empty()) return absl::OkStatus();
  bus::BusOptions options;
  options.nats_url = config_.nats_url;
  options.stream = config_.bus_stream;
  options.inbound_stream = config_.bus_inbound_stream;
  options.dead_letter_stream = config_.bus_dead_letter_stream;
  options.replicas = static_cast<int>(config_.bus_replicas);
  options.duplicate_window =
      absl::Seconds(config_.bus_duplicate_window_seconds);
  options.retry_max = absl::Seconds(config_.bus_retry_max_seconds);
  absl::StatusOr<std::unique_ptr<bus::Relay>> relay = bus::Relay::Create(
      store_.get(), options,
      (std::filesystem::path(config_.data_dir) / "bus").string());
  if (!relay.ok()) return relay.status();
  bus_relay_ = *std::move(relay);
  bus_ingest_ = std::make_unique<bus::Ingest>(options);
  bus_service_ =
      std::make_unique<bus::BusService>(bus_relay_.get(), bus_ingest_.get());
  return absl::OkStatus();
}

void Server::StartBus() {
  if (bus_relay_ == nullptr) return;
  grpc_server_->GetHealthCheckService()->SetServingStatus(
      ::throughline::bus::v1::BusService::service_full_name(), true);
  bus_relay_->Start();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(config_.max_message_bytes));
  bus_ingest_->Start(grpc_server_->InProcessChannel(args));
}

absl::Status Server::CreateCluster() {
  if (config_.node_id.empty()) return absl::OkStatus();
  if (bus_relay_ == nullptr) {
    return absl::InvalidArgumentError(
        "node_id: a cluster node needs the bus (set nats_url)");
  }
  cluster::PlacementOptions options;
  options.node_id = config_.node_id;
  options.bucket = config_.placement_bucket;
  placement_ = std::make_unique<cluster::Placement>(
      store_.get(), bus_relay_->options(), options);
  event_store_service_->set_tenant_gate(placement_.get());
  command_runner_->set_tenant_gate(placement_.get());
  insights_service_->set_tenant_gate(placement_.get());
  bus_relay_->set_tenant_gate(placement_.get());
  cluster_service_ = std::make_unique<cluster::ClusterService>(
      store_.get(), placement_.get(), bus_relay_.get());
  return absl::OkStatus();
}

void Server::StartCluster() {
  if (placement_ == nullptr) return;
  std::string address = config_.advertise_address;
  if (address.empty()) {
    const size_t colon = config_.listen.rfind(':');
    address = absl::StrCat(config_.listen.substr(0, colon), ":", port_);
  }
  placement_->set_advertise_address(address);
  placement_->Start();
  grpc_server_->GetHealthCheckService()->SetServingStatus(
      ::throughline::cluster::v1::ClusterService::service_full_name(), true);
}

void Server::StopCluster() {
  if (placement_ != nullptr) placement_->Stop();
}

void Server::StopBus() {
  if (bus_ingest_ != nullptr) bus_ingest_->Stop();
  if (bus_relay_ != nullptr) bus_relay_->Stop();
}

}  // namespace throughline::services
