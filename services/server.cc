#include "services/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
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
#include "services/log.h"
#include "services/metrics_http.h"
#include "services/rpc_metrics_interceptor.h"

namespace throughline::services {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view option) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": cannot read \"", path, "\""));
  }
  return text.str();
}

// True for an address only this machine can reach.
bool IsLoopback(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  absl::string_view host = listen;
  if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  absl::ConsumePrefix(&host, "[");
  absl::ConsumeSuffix(&host, "]");
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

// TLS (and mTLS) as configured; plaintext only on loopback unless allowed.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenCredentials(
    const ServerConfig& config) {
  if (config.tls_cert_file.empty()) {
    if (!IsLoopback(config.listen) && !config.allow_insecure_listen) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listen: ", config.listen,
          " is not a loopback address; set tls_cert_file and tls_key_file, "
          "or allow_insecure_listen=true to serve it without TLS"));
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options;
  absl::StatusOr<std::string> cert =
      ReadFile(config.tls_cert_file, "tls_cert_file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key =
      ReadFile(config.tls_key_file, "tls_key_file");
  if (!key.ok()) return key.status();
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadFile(config.tls_client_ca_file, "tls_client_ca_file");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    // A client may still come with a bearer token instead; a certificate it
    // does present must verify.
    options.client_certificate_request =
        GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

Server::Server(const ServerConfig& config, std::unique_ptr<Metrics> metrics,
               std::unique_ptr<eventstore::EventStore> store)
    : config_(config), metrics_(std::move(metrics)), store_(std::move(store)) {}

Server::~Server() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerConfig& config) {
  eventstore::EventStoreOptions store_options;
  store_options.path = config.data_dir;
  store_options.max_event_data_bytes = config.max_event_bytes;
  store_options.max_events_per_append = config.max_events_per_append;
  // One memory budget bounds both RocksDB databases.
  store_options.memory = eventstore::NewStorageMemory(
      config.block_cache_mib << 20, config.write_buffer_mib << 20);
  std::unique_ptr<Metrics> metrics = NewMetrics();
  ObserveCommits(config, metrics.get(), &store_options);
  absl::StatusOr<std::unique_ptr<eventstore::EventStore>> store =
      eventstore::EventStore::Open(store_options);
  if (!store.ok()) return store.status();

  std::unique_ptr<Server> server(
      new Server(config, std::move(metrics), *std::move(store)));
  if (absl::Status s = server->StartAuth(); !s.ok()) {
    server->store_->Shutdown();
    return s;
  }
  const bool default_key = config.master_key_file.empty();
  const std::string key_file =
      default_key
          ? (std::filesystem::path(config.data_dir) / "master.key").string()
          : config.master_key_file;
  if (default_key && !std::filesystem::exists(key_file)) {
    Log(LogLevel::kWarn, "master_key_created",
        {{"msg",
          "created a master key for personal data in data_dir: fine for "
          "trying Throughline out; in production set master_key_file to a "
          "file kept outside data_dir and its backups "
          "(docs/audit-and-privacy.md)"},
         {"path", key_file}});
  }
  absl::StatusOr<std::string> master_key =
      privacy::LoadMasterKey(key_file, /*create_if_missing=*/default_key);
  if (!master_key.ok()) {
    server->store_->Shutdown();
    return master_key.status();
  }
  server->personal_data_ = std::make_unique<privacy::PersonalData>(
      server->store_.get(), *std::move(master_key));
  server->event_store_service_ = std::make_unique<EventStoreService>(
      server->store_.get(), server->auth_store_.get(),
      EventStoreService::Reveal{
          .may_change = &privacy::PersonalData::MayHoldPersonalData,
          .apply = [personal_data = server->personal_data_.get()](
                       const std::string& tenant, v1::RecordedEvent* event,
                       std::vector<std::string>* revealed) {
            return personal_data->RevealStoredEvent(
                tenant, event->type(), event->content_type(),
                event->mutable_data(), revealed);
          }});
  server->command_runner_ = std::make_unique<cpd::CommandRunner>(
      server->store_.get(), server->personal_data_.get());
  server->bus_disclosure_ = std::make_unique<privacy::BusDisclosure>(
      server->store_.get(), server->personal_data_.get());
  server->privacy_service_ = std::make_unique<privacy::PrivacyService>(
      server->store_.get(), server->command_runner_.get(),
      server->personal_data_.get(), server->auth_store_.get(),
      server->bus_disclosure_.get());
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
          (std::filesystem::path(config.data_dir) / "views").string(),
          store_options.memory);
  if (!facts.ok()) {
    server->store_->Shutdown();
    return facts.status();
  }
  server->facts_ = *std::move(facts);
  server->projector_ = std::make_unique<projections::Projector>(
      server->store_.get(), server->facts_.get());
  server->insights_service_ = std::make_unique<InsightsService>(
      server->store_.get(), server->projector_.get(), server->auth_store_.get(),
      server->personal_data_.get(), config.views_cached_facts);

  if (absl::Status s = server->CreateBus(); !s.ok()) {
    server->store_->Shutdown();
    return s;
  }
  if (absl::Status s = server->CreateCluster(); !s.ok()) {
    server->store_->Shutdown();
    return s;
  }

  server->CreateOps();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ListenCredentials(config);
  if (!credentials.ok()) {
    server->store_->Shutdown();
    return credentials.status();
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &server->port_);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  // One list: gRPC keeps only the last one set. Metrics first, so refused
  // calls are counted too.
  interceptors.push_back(
      NewRpcMetricsInterceptorFactory(server->metrics_.get()));
  interceptors.push_back(server->gate_->NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(server->auth_service_.get());
  builder.RegisterService(server->access_log_service_.get());
  builder.RegisterService(server->event_store_service_.get());
  for (auto& service : silos) builder.RegisterService(service.get());
  builder.RegisterService(server->insights_service_.get());
  builder.RegisterService(server->privacy_service_.get());
  if (server->bus_service_ != nullptr) {
    builder.RegisterService(server->bus_service_.get());
  }
  builder.RegisterService(server->admin_service_.get());
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
  health->SetServingStatus(auth::v1::AuthService::service_full_name(), true);
  health->SetServingStatus(auth::v1::AccessLogService::service_full_name(),
                           true);
  health->SetServingStatus(
      ::throughline::privacy::v1::PrivacyService::service_full_name(), true);
  health->SetServingStatus(true);
  server->projector_->Start();
  server->StartCluster();
  server->StartBus();
  if (absl::Status s = server->StartOps(); !s.ok()) {
    server->Shutdown();
    return s;
  }
  if (config.retention_interval_seconds > 0) {
    server->privacy_service_->StartSchedule(
        absl::Seconds(config.retention_interval_seconds));
  }
  return server;
}

void Server::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  StopOps();
  StopBus();
  if (grpc_server_ == nullptr) {  // Start failed before serving.
    store_->Shutdown();
    return;
  }
  grpc_server_->GetHealthCheckService()->SetServingStatus(false);
  privacy_service_->StopSchedule();
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

absl::Status Server::StartAuth() {
  const std::filesystem::path data_dir(config_.data_dir);
  absl::StatusOr<std::unique_ptr<auth::AuthStore>> auth_store =
      auth::AuthStore::Open((data_dir / "auth").string());
  if (!auth_store.ok()) return auth_store.status();
  auth_store_ = *std::move(auth_store);
  if (auth_store_->Empty()) {
    // The first start: one operator token, so that the installation can be
    // administered at all. Only its owner may read the file.
    auth::v1::CreateTokenRequest request;
    request.set_request_id("bootstrap");
    request.mutable_principal()->set_name("bootstrap operator");
    request.mutable_principal()->set_role(auth::v1::ROLE_OPERATOR);
    absl::StatusOr<auth::IssuedToken> issued =
        auth_store_->Create(request, "bootstrap", "bootstrap", absl::Now());
    if (!issued.ok()) return issued.status();
    const std::string path = (data_dir / "operator-token").string();
    const int fd =
        open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const std::string text = issued->secret + "\n";
    if (fd < 0 ||
        write(fd, text.data(), text.size()) !=
            static_cast<ssize_t>(text.size()) ||
        fsync(fd) != 0 || close(fd) != 0) {
      return absl::InternalError(
          absl::StrCat("data_dir: cannot write the operator token to ", path));
    }
    bootstrap_token_file_ = path;
  }
  gate_ = std::make_unique<auth::Gate>(auth_store_.get());
  internal_credential_ = auth_store_->CreateInternalCredential();
  auth_service_ = std::make_unique<auth::AuthService>(auth_store_.get());
  access_log_service_ =
      std::make_unique<auth::AccessLogService>(auth_store_.get());
  return absl::OkStatus();
}

absl::Status Server::CreateBus() {
  if (config_.nats_url.empty()) return absl::OkStatus();
  bus::BusOptions options;
  options.nats_url = config_.nats_url;
  options.stream = config_.bus_stream;
  options.inbound_stream = config_.bus_inbound_stream;
  options.dead_letter_stream = config_.bus_dead_letter_stream;
  options.clear_stream = config_.bus_stream + "_CLEAR";
  options.replicas = static_cast<int>(config_.bus_replicas);
  options.duplicate_window =
      absl::Seconds(config_.bus_duplicate_window_seconds);
  options.retry_max = absl::Seconds(config_.bus_retry_max_seconds);
  absl::StatusOr<std::unique_ptr<bus::Relay>> relay = bus::Relay::Create(
      store_.get(), options,
      (std::filesystem::path(config_.data_dir) / "bus").string());
  if (!relay.ok()) return relay.status();
  bus_relay_ = *std::move(relay);
  // Trusts that turned it on also get their events with personal data in
  // clear, on subjects of their own (docs/bus.md#clear-personal-data).
  bus_relay_->SetClearPayload(
      [disclosure = bus_disclosure_.get()](
          const std::string& tenant, const eventstore::RecordedEvent& event) {
        return disclosure->ClearPayload(tenant, event);
      });
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
  bus_ingest_->Start(grpc_server_->InProcessChannel(args),
                     internal_credential_);
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
  privacy_service_->set_tenant_gate(placement_.get());
  bus_relay_->set_tenant_gate(placement_.get());
  cluster_service_ = std::make_unique<cluster::ClusterService>(
      store_.get(), placement_.get(), bus_relay_.get(), personal_data_.get());
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
