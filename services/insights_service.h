// The Insights gRPC service (proto/throughline/insights/v1/insights.proto):
// resolves a view query (defaults, scope, as-of), makes sure the views have
// read the log far enough (read-your-writes), loads the trust's history as
// of the requested position from the FactStore and computes the view.

#ifndef THROUGHLINE_SERVICES_INSIGHTS_SERVICE_H_
#define THROUGHLINE_SERVICES_INSIGHTS_SERVICE_H_

#include <atomic>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "projections/history.h"
#include "projections/history_cache.h"
#include "projections/projector.h"
#include "projections/views.h"
#include "services/auth/auth_store.h"
#include "services/privacy/personal_data.h"
#include "services/tenant.h"
#include "throughline/insights/v1/insights.grpc.pb.h"

namespace throughline::services {

namespace insights = ::throughline::insights::v1;

class InsightsService final : public insights::Insights::Service {
 public:
  // `log`, `projector`, `access_log` and `personal_data` must outlive the
  // service. Every staff record read is recorded in the caller's trust's
  // access log; every reply's personal data is revealed (decrypted or
  // marked erased) by `personal_data`. Each trust's history at the newest
  // position queried is kept in memory, up to `cached_facts` facts over all
  // trusts (projections::HistoryCache).
  InsightsService(const eventstore::EventStore* log,
                  projections::Projector* projector,
                  auth::AuthStore* access_log,
                  const privacy::PersonalData* personal_data,
                  size_t cached_facts = kDefaultCachedFacts);

  static constexpr size_t kDefaultCachedFacts = 200000;

  // Refuses the calls of tenants this server does not serve (cluster
  // placement); nullptr (the default) serves every tenant. Set before
  // serving; `gate` must outlive the service.
  void set_tenant_gate(const TenantGate* gate) { gate_ = gate; }

  // Ends open watches, so that the server can shut down.
  void StopWatches() { stopping_ = true; }

  grpc::Status GetEmergentNeeds(grpc::ServerContext* context,
                                const insights::ViewQuery* request,
                                insights::EmergentNeedsView* response) override;
  grpc::Status WatchEmergentNeeds(
      grpc::ServerContext* context, const insights::ViewQuery* request,
      grpc::ServerWriter<insights::EmergentNeedsView>* writer) override;
  grpc::Status GetFollowThrough(grpc::ServerContext* context,
                                const insights::ViewQuery* request,
                                insights::FollowThroughView* response) override;
  grpc::Status GetStaffRecord(grpc::ServerContext* context,
                              const insights::StaffRecordQuery* request,
                              insights::StaffRecordView* response) override;
  grpc::Status GetConnectingTheDots(
      grpc::ServerContext* context, const insights::ViewQuery* request,
      insights::ConnectingTheDotsView* response) override;
  grpc::Status GetTimeAndMoney(grpc::ServerContext* context,
                               const insights::ViewQuery* request,
                               insights::TimeAndMoneyView* response) override;
  grpc::Status GetImpact(grpc::ServerContext* context,
                         const insights::ViewQuery* request,
                         insights::ImpactView* response) override;
  grpc::Status GetDecisionAudit(grpc::ServerContext* context,
                                const insights::ViewQuery* request,
                                insights::DecisionAuditView* response) override;
  grpc::Status GetProgrammeDesign(
      grpc::ServerContext* context, const insights::ViewQuery* request,
      insights::ProgrammeDesignView* response) override;
  grpc::Status GetProjectionStatus(
      grpc::ServerContext* context,
      const insights::GetProjectionStatusRequest* request,
      insights::ProjectionStatus* response) override;
  grpc::Status RebuildViews(grpc::ServerContext* context,
                            const insights::RebuildViewsRequest* request,
                            insights::ProjectionStatus* response) override;

 private:
  const TenantGate* gate_ = nullptr;
  // A resolved query: the trust's history as of the position asked for and
  // the view parameters.
  struct Loaded {
    std::string tenant;
    std::shared_ptr<const projections::TrustHistory> history;
    projections::ViewParams params;
  };

  // Resolves `query` for the call's tenant. `check_scope` is false for
  // queries that ignore the scope. A school leader's query must lie within
  // its schools (PERMISSION_DENIED otherwise, before any existence check);
  // without a scope it means the leader's school when it leads exactly one.
  absl::StatusOr<Loaded> Load(const grpc::ServerContext& context,
                              const insights::ViewQuery& query,
                              bool check_scope = true);
  // Computes one view for the call.
  template <typename View, typename Compute>
  grpc::Status Answer(grpc::ServerContext* context,
                      const insights::ViewQuery& query, Compute compute,
                      View* response);

  const eventstore::EventStore* const log_;
  projections::Projector* const projector_;
  auth::AuthStore* const access_log_;
  const privacy::PersonalData* const personal_data_;
  std::atomic<bool> stopping_{false};
  projections::HistoryCache histories_;
};

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_INSIGHTS_SERVICE_H_
