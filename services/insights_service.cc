#include "services/insights_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "google/protobuf/util/message_differencer.h"
#include "projections/views_internal.h"
#include "services/auth/auth_service.h"
#include "services/auth/gate.h"
#include "services/grpc_status.h"
#include "services/tenant.h"
#include "services/timestamps.h"

namespace throughline::services {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

// The longest a query waits for the views to catch up when the caller set
// no deadline.
constexpr absl::Duration kDefaultCatchUpWait = absl::Seconds(30);
// Watches re-check for cancellation at least this often.
constexpr absl::Duration kWatchPoll = absl::Milliseconds(200);

absl::Time DeadlineOf(const grpc::ServerContext& context) {
  const absl::Time fallback = absl::Now() + kDefaultCatchUpWait;
  const absl::Time deadline = absl::FromChrono(context.deadline());
  return std::min(deadline, fallback);
}

}  // namespace

InsightsService::InsightsService(const eventstore::EventStore* log,
                                 projections::Projector* projector,
                                 auth::AuthStore* access_log,
                                 const privacy::PersonalData* personal_data,
                                 size_t cached_facts)
    : log_(log),
      projector_(projector),
      access_log_(access_log),
      personal_data_(personal_data),
      histories_(&projector->facts(), cached_facts) {}

absl::StatusOr<InsightsService::Loaded> InsightsService::Load(
    const grpc::ServerContext& context, const insights::ViewQuery& query,
    bool check_scope) {
  absl::StatusOr<auth::Caller> caller = auth::Admit(context);
  if (!caller.ok()) return caller.status();
  absl::StatusOr<std::string> tenant = TenantOf(context, gate_);
  if (!tenant.ok()) return tenant.status();
  // Each time of the query, when set.
  std::optional<absl::Time> from, to, as_of_time;
  for (const auto& [timestamp, has, field, out] :
       {std::tuple(&query.from(), query.has_from(), "from", &from),
        std::tuple(&query.to(), query.has_to(), "to", &to),
        std::tuple(&query.as_of_time(), query.has_as_of_time(), "as_of_time",
                   &as_of_time)}) {
    if (!has) continue;
    absl::StatusOr<absl::Time> t = TimeFromProto(*timestamp, field);
    if (!t.ok()) return t.status();
    *out = *t;
  }
  absl::StatusOr<uint64_t> head = log_->HeadPosition(*tenant);
  if (!head.ok()) return head.status();
  if (query.as_of_position() > *head) {
    return InvalidField("as_of_position",
                        absl::StrCat(query.as_of_position(),
                                     " is beyond the log head ", *head));
  }
  if (query.min_position() > *head) {
    return InvalidField(
        "min_position",
        absl::StrCat(query.min_position(), " is beyond the log head ", *head));
  }
  const uint64_t position =
      query.as_of_position() > 0 ? query.as_of_position() : *head;
  if (absl::Status s =
          projector_->CatchUp(*tenant, std::max(position, query.min_position()),
                              DeadlineOf(context));
      !s.ok()) {
    return s;
  }

  Loaded loaded;
  loaded.tenant = *tenant;
  projections::ViewParams& params = loaded.params;
  params.as_of_time = as_of_time.value_or(absl::Now());
  absl::StatusOr<std::shared_ptr<const projections::TrustHistory>> history =
      histories_.At(*tenant, position);
  if (!history.ok()) return history.status();
  loaded.history = *std::move(history);
  params.as_of_position = position;
  if (!loaded.history->state().registered()) {
    return FieldError(absl::StatusCode::kFailedPrecondition, "tenant",
                      "this trust is not registered at that position");
  }

  params.to = to.value_or(params.as_of_time);
  params.from = from.value_or(params.to - projections::kDefaultWindow);
  if (params.from >= params.to) {
    return InvalidField("from", "the window must start before it ends");
  }
  const projections::TrustState& state = loaded.history->state();
  switch (query.scope().target_case()) {
    case insights::ViewScope::kSchoolId:
      params.scope = projections::Scope::School(query.scope().school_id());
      if (check_scope && !auth::SeesSchool(*caller, params.scope.id)) {
        return auth::OutOfScope("scope.school_id");
      }
      if (check_scope && !state.HasSchool(params.scope.id)) {
        return FieldError(
            absl::StatusCode::kNotFound, "scope.school_id",
            absl::StrCat("unknown school \"", params.scope.id, "\""));
      }
      break;
    case insights::ViewScope::kDepartmentId:
      params.scope =
          projections::Scope::Department(query.scope().department_id());
      if (check_scope && caller->role() == auth::v1::ROLE_SCHOOL_LEADER) {
        const std::string* school = state.DepartmentSchool(params.scope.id);
        if (school == nullptr || !auth::SeesSchool(*caller, *school)) {
          return auth::OutOfScope("scope.department_id");
        }
      }
      if (check_scope && state.DepartmentSchool(params.scope.id) == nullptr) {
        return FieldError(
            absl::StatusCode::kNotFound, "scope.department_id",
            absl::StrCat("unknown department \"", params.scope.id, "\""));
      }
      break;
    case insights::ViewScope::kTrust:
      params.scope = projections::Scope::Trust();
      if (check_scope && caller->role() == auth::v1::ROLE_SCHOOL_LEADER) {
        return auth::OutOfScope("scope.trust");
      }
      break;
    case insights::ViewScope::TARGET_NOT_SET:
      params.scope = projections::Scope::Trust();
      if (check_scope && caller->role() == auth::v1::ROLE_SCHOOL_LEADER) {
        // A school leader sees its school, not the trust.
        if (caller->principal.school_ids_size() != 1) {
          return auth::OutOfScope("scope");
        }
        params.scope =
            projections::Scope::School(caller->principal.school_ids(0));
        if (!state.HasSchool(params.scope.id)) {
          return FieldError(
              absl::StatusCode::kNotFound, "scope.school_id",
              absl::StrCat("unknown school \"", params.scope.id, "\""));
        }
      }
      break;
  }
  return loaded;
}

template <typename View, typename Compute>
grpc::Status InsightsService::Answer(grpc::ServerContext* context,
                                     const insights::ViewQuery& query,
                                     Compute compute, View* response) {
  absl::StatusOr<Loaded> loaded = Load(*context, query);
  if (!loaded.ok()) return ToGrpcStatus(loaded.status());
  *response = compute(*loaded->history, loaded->params);
  return ToGrpcStatus(personal_data_->Reveal(loaded->tenant, response));
}

grpc::Status InsightsService::GetEmergentNeeds(
    grpc::ServerContext* context, const insights::ViewQuery* request,
    insights::EmergentNeedsView* response) {
  return Answer(context, *request, projections::EmergentNeeds, response);
}

grpc::Status InsightsService::WatchEmergentNeeds(
    grpc::ServerContext* context, const insights::ViewQuery* request,
    grpc::ServerWriter<insights::EmergentNeedsView>* writer) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  insights::ViewQuery query = *request;
  insights::EmergentNeedsView last;
  bool sent = false;
  while (!context->IsCancelled() && !stopping_) {
    absl::StatusOr<uint64_t> head = log_->HeadPosition(*tenant);
    if (!head.ok()) return ToGrpcStatus(head.status());
    insights::EmergentNeedsView view;
    grpc::Status status =
        Answer(context, query, projections::EmergentNeeds, &view);
    if (!status.ok()) return status;
    // The basis moves with every event; only a change of figures counts.
    insights::EmergentNeedsView figures = view;
    figures.clear_basis();
    if (!sent ||
        !google::protobuf::util::MessageDifferencer::Equals(figures, last)) {
      if (!writer->Write(view)) return grpc::Status::CANCELLED;
      last = std::move(figures);
      sent = true;
    }
    // A view as of a fixed position never changes.
    if (request->as_of_position() > 0) return grpc::Status::OK;
    query.set_min_position(0);
    // Wait for this trust's log to move.
    while (!context->IsCancelled() && !stopping_) {
      const uint64_t seen = log_->CommitCount();
      absl::StatusOr<uint64_t> now = log_->HeadPosition(*tenant);
      if (!now.ok()) return ToGrpcStatus(now.status());
      if (*now != *head) break;
      log_->WaitForCommit(seen, absl::Now() + kWatchPoll);
    }
  }
  if (stopping_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the server is shutting down; watch again");
  }
  return grpc::Status::CANCELLED;
}

grpc::Status InsightsService::GetFollowThrough(
    grpc::ServerContext* context, const insights::ViewQuery* request,
    insights::FollowThroughView* response) {
  return Answer(context, *request, projections::FollowThrough, response);
}

grpc::Status InsightsService::GetStaffRecord(
    grpc::ServerContext* context, const insights::StaffRecordQuery* request,
    insights::StaffRecordView* response) {
  absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  // A staff member reads their own record only; whether another exists is
  // not said.
  if (caller->role() == auth::v1::ROLE_STAFF_MEMBER &&
      request->staff_id() != caller->principal.staff_id()) {
    return ToGrpcStatus(auth::OutOfScope("staff_id"));
  }
  absl::StatusOr<Loaded> loaded =
      Load(*context, request->query(), /*check_scope=*/false);
  if (!loaded.ok()) return ToGrpcStatus(loaded.status());
  if (caller->role() == auth::v1::ROLE_SCHOOL_LEADER) {
    // A school leader reads the records of staff placed in its schools.
    const projections::StaffMember* member =
        loaded->history->state().FindStaff(request->staff_id());
    if (member == nullptr ||
        !auth::SeesSchool(*caller, member->placements.back().school_id)) {
      return ToGrpcStatus(auth::OutOfScope("staff_id"));
    }
  }
  absl::StatusOr<insights::StaffRecordView> record = projections::StaffRecord(
      *loaded->history, loaded->params, request->staff_id());
  if (!record.ok()) {
    return ToGrpcStatus(FieldError(record.status().code(), "staff_id",
                                   record.status().message()));
  }
  if (absl::Status s = auth::RecordRead(access_log_, *caller,
                                        request->staff_id(), "staff record");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  *response = *std::move(record);
  return ToGrpcStatus(personal_data_->Reveal(loaded->tenant, response));
}

grpc::Status InsightsService::GetConnectingTheDots(
    grpc::ServerContext* context, const insights::ViewQuery* request,
    insights::ConnectingTheDotsView* response) {
  return Answer(context, *request, projections::ConnectingTheDots, response);
}

grpc::Status InsightsService::GetTimeAndMoney(
    grpc::ServerContext* context, const insights::ViewQuery* request,
    insights::TimeAndMoneyView* response) {
  return Answer(context, *request, projections::TimeAndMoney, response);
}

grpc::Status InsightsService::GetImpact(grpc::ServerContext* context,
                                        const insights::ViewQuery* request,
                                        insights::ImpactView* response) {
  return Answer(context, *request, projections::Impact, response);
}

grpc::Status InsightsService::GetDecisionAudit(
    grpc::ServerContext* context, const insights::ViewQuery* request,
    insights::DecisionAuditView* response) {
  absl::StatusOr<Loaded> loaded = Load(*context, *request);
  if (!loaded.ok()) return ToGrpcStatus(loaded.status());
  absl::StatusOr<insights::DecisionAuditView> audit =
      projections::DecisionAudit(*loaded->history, loaded->params);
  if (!audit.ok()) return ToGrpcStatus(audit.status());
  *response = *std::move(audit);
  return ToGrpcStatus(personal_data_->Reveal(loaded->tenant, response));
}

grpc::Status InsightsService::GetProgrammeDesign(
    grpc::ServerContext* context, const insights::ViewQuery* request,
    insights::ProgrammeDesignView* response) {
  return Answer(context, *request, projections::ProgrammeDesign, response);
}

grpc::Status InsightsService::GetProjectionStatus(
    grpc::ServerContext* context,
    const insights::GetProjectionStatusRequest* request,
    insights::ProjectionStatus* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<projections::ProjectionProgress> progress =
      projector_->Progress(*tenant);
  if (!progress.ok()) return ToGrpcStatus(progress.status());
  response->set_position(progress->position);
  response->set_head(progress->head);
  response->set_lag(progress->head -
                    std::min(progress->head, progress->position));
  response->set_rebuilding(progress->rebuilding);
  response->set_version(projections::kFactStoreVersion);
  return grpc::Status::OK;
}

grpc::Status InsightsService::RebuildViews(
    grpc::ServerContext* context, const insights::RebuildViewsRequest* request,
    insights::ProjectionStatus* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (absl::Status s = projector_->Rebuild(*tenant); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return GetProjectionStatus(context, nullptr, response);
}

}  // namespace throughline::services
