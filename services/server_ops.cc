// Server operations: metrics, structured logs of commits and backups, the
// Admin service and the backup schedule (docs/operations.md).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/health_check_service_interface.h"
#include "services/admin_service.h"
#include "services/bus/relay.h"
#include "services/log.h"
#include "services/metrics_http.h"
#include "services/server.h"

namespace throughline::services {
namespace {

// Every service the server registers, for the method label of RPC metrics;
// a service missing here has its calls counted as method="other".
const char* const kServices[] = {
    "throughline.eventstore.v1.EventStore",
    "throughline.cpd.v1.OrganisationService",
    "throughline.cpd.v1.StaffDirectoryService",
    "throughline.cpd.v1.ObservationService",
    "throughline.cpd.v1.CoachingService",
    "throughline.cpd.v1.AppraisalService",
    "throughline.cpd.v1.CpdProgrammeService",
    "throughline.cpd.v1.PlanningService",
    "throughline.insights.v1.Insights",
    "throughline.bus.v1.BusService",
    "throughline.admin.v1.Admin",
};

absl::flat_hash_set<std::string> KnownMethods() {
  absl::flat_hash_set<std::string> methods = {
      "/grpc.health.v1.Health/Check",
      "/grpc.health.v1.Health/Watch",
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
  };
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  for (const char* name : kServices) {
    const google::protobuf::ServiceDescriptor* service =
        pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      methods.insert(absl::StrCat("/", service->full_name(), "/",
                                  service->method(i)->name()));
    }
  }
  return methods;
}

void Gauge(std::string* out, absl::string_view name, absl::string_view help,
           double value) {
  AppendMetricHeader(out, name, "gauge", help);
  AppendSample(out, name, "", value);
}

void Counter(std::string* out, absl::string_view name, absl::string_view help,
             double value) {
  AppendMetricHeader(out, name, "counter", help);
  AppendSample(out, name, "", value);
}

}  // namespace

std::unique_ptr<Metrics> Server::NewMetrics() {
  return std::make_unique<Metrics>(KnownMethods());
}

void Server::ObserveCommits(const ServerConfig& config, Metrics* metrics,
                            eventstore::EventStoreOptions* options) {
  const absl::Duration slow = absl::Milliseconds(config.slow_commit_ms);
  options->on_commit = [metrics, slow](const eventstore::CommitStats& commit) {
    metrics->RecordCommit(commit);
    if (slow > absl::ZeroDuration() && commit.write_time >= slow) {
      metrics->RecordSlowCommit();
      Log(LogLevel::kWarn, "slow_commit",
          {{"msg",
            "a commit (write and fsync) took longer than slow_commit_ms"},
           {"duration_ms",
            absl::StrCat(absl::ToInt64Milliseconds(commit.write_time))},
           {"appends", absl::StrCat(commit.appends)},
           {"events", absl::StrCat(commit.events)}});
    }
    if (commit.write_failed) {
      Log(LogLevel::kError, "commit_failed",
          {{"msg",
            "RocksDB failed to write a group of appends; they were "
            "refused with INTERNAL"}});
    }
  };
}

void Server::CreateOps() {
  if (!config_.backup_dir.empty()) {
    std::vector<std::pair<std::string, BackupSet::BackupFn>> stores;
    eventstore::EventStore* store = store_.get();
    stores.emplace_back("eventstore", [store](const std::string& dir,
                                              const std::string& metadata) {
      return store->Backup(dir, metadata);
    });
    auth::AuthStore* auth_store = auth_store_.get();
    stores.emplace_back("auth", [auth_store](const std::string& dir,
                                             const std::string& metadata) {
      return auth_store->Backup(dir, metadata);
    });
    backups_ =
        std::make_unique<BackupSet>(config_.backup_dir, std::move(stores),
                                    static_cast<uint32_t>(config_.backup_keep));
  }
  admin_service_ = std::make_unique<AdminService>(
      [this] { return TakeBackup(); }, config_.backup_dir);
}

absl::Status Server::StartOps() {
  grpc_server_->GetHealthCheckService()->SetServingStatus(
      ::throughline::admin::v1::Admin::service_full_name(), true);
  if (!config_.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
        MetricsHttpServer::Start(config_.metrics_listen,
                                 [this] { return ScrapeMetrics(); });
    if (!http.ok()) return http.status();
    metrics_http_ = *std::move(http);
  }
  if (backups_ != nullptr && config_.backup_interval_minutes > 0) {
    backup_schedule_ = std::thread([this] { ScheduleBackups(); });
  }
  return absl::OkStatus();
}

void Server::StopOps() {
  {
    absl::MutexLock lock(&schedule_mu_);
    schedule_stop_ = true;
  }
  if (backup_schedule_.joinable()) backup_schedule_.join();
  metrics_http_.reset();
}

void Server::ScheduleBackups() {
  const absl::Duration interval =
      absl::Minutes(config_.backup_interval_minutes);
  for (;;) {
    {
      absl::MutexLock lock(&schedule_mu_);
      schedule_mu_.AwaitWithTimeout(absl::Condition(&schedule_stop_), interval);
      if (schedule_stop_) return;
    }
    // Outcome logged and counted by TakeBackup.
    TakeBackup().status().IgnoreError();
  }
}

int Server::metrics_port() const {
  return metrics_http_ == nullptr ? 0 : metrics_http_->port();
}

absl::StatusOr<BackupSetOutcome> Server::TakeBackup() {
  if (backups_ == nullptr) {
    return absl::FailedPreconditionError(
        "backup_dir: the server has no backup directory configured");
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<BackupSetOutcome> outcome = backups_->Take();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (absl::IsAborted(outcome.status())) return outcome;  // Another runs.
  metrics_->RecordBackup(outcome.ok(), absl::ToUnixSeconds(start), seconds);
  if (!outcome.ok()) {
    Log(LogLevel::kError, "backup_failed",
        {{"msg", std::string(outcome.status().message())},
         {"backup_dir", config_.backup_dir}});
    return outcome;
  }
  uint64_t size = 0, new_bytes = 0;
  for (const StoreBackupOutcome& store : outcome->stores) {
    size += store.outcome.info.size_bytes;
    new_bytes += store.outcome.new_bytes;
  }
  Log(LogLevel::kInfo, "backup",
      {{"msg", "backup taken"},
       {"backup_id", absl::StrCat(outcome->backup_id)},
       {"backup_dir", config_.backup_dir},
       {"size_bytes", absl::StrCat(size)},
       {"new_bytes", absl::StrCat(new_bytes)},
       {"duration_ms", absl::StrCat(static_cast<int64_t>(seconds * 1000))}});
  return outcome;
}

std::string Server::ScrapeMetrics() {
  std::string out;
  const eventstore::EventStoreStats stats = store_->Stats();
  Counter(&out, "throughline_appends_total",
          "Appends that stored new events (retries answered already_stored "
          "are not counted).",
          stats.appends);
  Counter(&out, "throughline_appended_events_total", "Events stored.",
          stats.events);
  Counter(&out, "throughline_append_refusals_total",
          "Appends the committer refused (revision conflicts, id clashes, "
          "write failures).",
          stats.refused_appends);
  Counter(&out, "throughline_commit_groups_total",
          "Committed groups of appends, one RocksDB write and fsync each.",
          stats.groups);
  Counter(&out, "throughline_commit_failures_total",
          "RocksDB writes of a group that failed.", stats.failed_writes);
  metrics_->Render(&out);

  // Projection lag, summed over trusts (one series, whatever the number of
  // trusts); per-trust figures: Insights.GetProjectionStatus.
  uint64_t lag_total = 0, lag_max = 0, trusts = 0, behind = 0;
  absl::StatusOr<std::vector<std::string>> tenants = store_->ListTenants();
  if (tenants.ok()) {
    for (const std::string& tenant : *tenants) {
      absl::StatusOr<projections::ProjectionProgress> progress =
          projector_->Progress(tenant);
      if (!progress.ok()) continue;
      ++trusts;
      const uint64_t lag = progress->head > progress->position
                               ? progress->head - progress->position
                               : 0;
      lag_total += lag;
      lag_max = std::max(lag_max, lag);
      if (lag > 0) ++behind;
    }
  }
  Gauge(&out, "throughline_trusts", "Trusts with at least one event.", trusts);
  Gauge(&out, "throughline_projection_lag_events",
        "Events committed but not yet applied to the views, summed over "
        "trusts.",
        lag_total);
  Gauge(&out, "throughline_projection_lag_max_events",
        "The largest projection lag of any one trust.", lag_max);
  Gauge(&out, "throughline_projection_trusts_behind",
        "Trusts whose views have not read their log head.", behind);

  if (bus_relay_ != nullptr) {
    const bus::Relay::Status relay = bus_relay_->GetStatus();
    uint64_t relay_total = 0, relay_max = 0;
    for (const bus::Relay::TenantStatus& tenant : relay.tenants) {
      const uint64_t lag =
          tenant.head > tenant.published ? tenant.head - tenant.published : 0;
      relay_total += lag;
      relay_max = std::max(relay_max, lag);
    }
    Gauge(&out, "throughline_relay_connected",
          "1 when the bus relay is connected to NATS and its stream is set "
          "up.",
          relay.connected ? 1 : 0);
    Gauge(&out, "throughline_relay_lag_events",
          "Events committed but not yet acknowledged by JetStream, summed "
          "over trusts.",
          relay_total);
    Gauge(&out, "throughline_relay_lag_max_events",
          "The largest relay lag of any one trust.", relay_max);
  }

  struct RocksProperty {
    const char* property;
    const char* name;
    const char* help;
  };
  static constexpr RocksProperty kRocks[] = {
      {"rocksdb.estimate-live-data-size", "throughline_rocksdb_live_data_bytes",
       "Event store: estimated live data, in bytes."},
      {"rocksdb.total-sst-files-size", "throughline_rocksdb_sst_files_bytes",
       "Event store: size of all table files, in bytes."},
      {"rocksdb.cur-size-all-mem-tables", "throughline_rocksdb_memtable_bytes",
       "Event store: memtables, in bytes."},
      {"rocksdb.estimate-pending-compaction-bytes",
       "throughline_rocksdb_pending_compaction_bytes",
       "Event store: bytes compaction has yet to rewrite; a growing value "
       "leads to write stalls."},
      {"rocksdb.block-cache-usage", "throughline_rocksdb_block_cache_bytes",
       "Event store: block cache in use, in bytes (of block_cache_mib)."},
  };
  for (const RocksProperty& p : kRocks) {
    if (std::optional<uint64_t> value = store_->GetIntProperty(p.property)) {
      Gauge(&out, p.name, p.help, static_cast<double>(*value));
    }
  }
  if (std::optional<uint64_t> stopped =
          store_->GetIntProperty("rocksdb.is-write-stopped")) {
    Gauge(&out, "throughline_rocksdb_write_stopped",
          "1 while RocksDB stops writes (a write stall); appends wait.",
          *stopped > 0 ? 1 : 0);
  }
  if (std::optional<uint64_t> delayed =
          store_->GetIntProperty("rocksdb.actual-delayed-write-rate")) {
    Gauge(&out, "throughline_rocksdb_write_delayed",
          "1 while RocksDB slows writes down (a soft write stall).",
          *delayed > 0 ? 1 : 0);
  }
  return out;
}

}  // namespace throughline::services
