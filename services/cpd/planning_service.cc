// PlanningService: improvement priorities, CPD time and money, training
// needs, decisions and evaluations. Streams, each a consistency boundary:
//   "priority-<priority_id>"     ImprovementPriorityAdopted, ...Closed: one
//                                priority's life (adopting expects no stream,
//                                closing expects it to exist);
//   "time-<school_id>"           CpdTimeAllocated, MeetingTimeRepurposed: a
//                                school's CPD time ledger, in one order;
//   "budget-<school_id>"         CpdBudgetSet: a school's budget history;
//   "spend-<spend_id>"           CpdSpendRecorded;
//   "need-<need_id>"             TrainingNeedIdentified;
//   "decision-<decision_id>"     CpdDecisionRecorded;
//   "evaluation-<evaluation_id>" ImpactEvaluated.
// Spends, needs, decisions and evaluations are immutable records with their
// own id, so each gets its own stream, created once (expected: no stream).
// Checks that read other records (schools, staff, programmes, sessions, the
// log head) are strict because the CommandRunner serializes a trust's
// commands.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/cpd/checks.h"
#include "services/cpd/silo_services.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr size_t kMaxViewLength = 64;
constexpr int kMaxParameters = 50;
constexpr size_t kMaxParameterLength = 200;

absl::Status Taken(absl::string_view field, absl::string_view what) {
  return FieldError(absl::StatusCode::kAlreadyExists, field, what);
}

absl::Status Missing(absl::string_view field, absl::string_view what) {
  return FieldError(absl::StatusCode::kFailedPrecondition, field, what);
}

std::string Indexed(absl::string_view field, int index) {
  return absl::StrCat(field, "[", index, "]");
}

// An academic year "YYYY-YY", the second part being the last two digits of
// the year after YYYY, e.g. "2025-26".
absl::Status CheckAcademicYear(const std::string& year,
                               absl::string_view field) {
  if (year.empty()) return InvalidField(field, "must not be empty");
  bool shaped = year.size() == 7 && year[4] == '-';
  for (size_t i = 0; shaped && i < year.size(); ++i) {
    if (i != 4 && !absl::ascii_isdigit(static_cast<unsigned char>(year[i]))) {
      shaped = false;
    }
  }
  if (!shaped) {
    return InvalidField(
        field, year.size() <= 16
                   ? absl::StrCat("\"", absl::CEscape(year),
                                  "\" is not an academic year like \"2025-26\"")
                   : "not an academic year like \"2025-26\"");
  }
  const int first = std::stoi(year.substr(0, 4));
  const int second = std::stoi(year.substr(5, 2));
  if ((first + 1) % 100 != second) {
    return InvalidField(
        field, absl::StrCat("\"", year, "\" should end in \"",
                            (first + 1) / 10 % 10, (first + 1) % 10, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckNotNegative(int64_t amount, absl::string_view field) {
  if (amount < 0) {
    return InvalidField(field,
                        absl::StrCat(amount, " is negative; must be >= 0"));
  }
  return absl::OkStatus();
}

// A required timestamp field.
absl::StatusOr<absl::Time> RequiredTime(
    bool present, const google::protobuf::Timestamp& timestamp,
    absl::string_view field) {
  if (!present) return InvalidField(field, "must be set");
  return CheckTimestamp(timestamp, field);
}

absl::Status CheckProgrammeKnown(const TrustState& state, const std::string& id,
                                 absl::string_view field) {
  THROUGHLINE_RETURN_IF_ERROR(CheckId(id, field));
  if (state.FindProgramme(id) == nullptr) {
    return Missing(field, absl::StrCat("unknown programme \"", id, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckSessionKnown(const TrustState& state, const std::string& id,
                               absl::string_view field) {
  THROUGHLINE_RETURN_IF_ERROR(CheckId(id, field));
  if (state.FindSession(id) == nullptr) {
    return Missing(field, absl::StrCat("unknown session \"", id, "\""));
  }
  return absl::OkStatus();
}

// Evidence references, replayable: the log position must not lie beyond the
// head the request is checked against.
absl::Status CheckEvidence(
    const TrustState& state,
    const google::protobuf::RepeatedPtrField<v1::EvidenceReference>& evidence,
    absl::string_view field) {
  THROUGHLINE_RETURN_IF_ERROR(CheckListLength(evidence.size(), field));
  for (int i = 0; i < evidence.size(); ++i) {
    const v1::EvidenceReference& reference = evidence[i];
    const std::string prefix = Indexed(field, i);
    THROUGHLINE_RETURN_IF_ERROR(CheckText(reference.view(), kMaxViewLength,
                                          absl::StrCat(prefix, ".view")));
    const std::string parameters = absl::StrCat(prefix, ".parameters");
    if (reference.parameters_size() > kMaxParameters) {
      return InvalidField(
          parameters,
          absl::StrCat(reference.parameters_size(),
                       " entries is more than the limit of ", kMaxParameters));
    }
    // Sorted, so that the same request always names the same entry.
    std::vector<std::pair<std::string, std::string>> entries(
        reference.parameters().begin(), reference.parameters().end());
    std::sort(entries.begin(), entries.end());
    for (const auto& [key, value] : entries) {
      if (key.size() > kMaxParameterLength) {
        return InvalidField(
            parameters, absl::StrCat("a key of ", key.size(),
                                     " characters is more than the limit of ",
                                     kMaxParameterLength));
      }
      if (value.size() > kMaxParameterLength) {
        return InvalidField(
            parameters,
            absl::StrCat("the value of \"", absl::CEscape(key), "\" has ",
                         value.size(), " characters, more than the limit of ",
                         kMaxParameterLength));
      }
    }
    if (reference.log_position() > state.position()) {
      return InvalidField(
          absl::StrCat(prefix, ".log_position"),
          absl::StrCat(reference.log_position(), " is beyond the log's head (",
                       state.position(), ")"));
    }
    const std::string record_ids = absl::StrCat(prefix, ".record_ids");
    THROUGHLINE_RETURN_IF_ERROR(
        CheckListLength(reference.record_ids_size(), record_ids));
    for (int j = 0; j < reference.record_ids_size(); ++j) {
      THROUGHLINE_RETURN_IF_ERROR(
          CheckId(reference.record_ids(j), Indexed(record_ids, j)));
    }
    THROUGHLINE_RETURN_IF_ERROR(CheckText(reference.summary(),
                                          kMaxShortTextLength,
                                          absl::StrCat(prefix, ".summary")));
  }
  return absl::OkStatus();
}

// A training need's scope: present, and naming what the trust holds (a staff
// member must belong to the trust at `at`).
absl::Status CheckScope(const TrustState& state, bool present,
                        const v1::Scope& scope, absl::Time at,
                        const std::string& field) {
  if (!present || scope.target_case() == v1::Scope::TARGET_NOT_SET) {
    return InvalidField(field, "must be set");
  }
  switch (scope.target_case()) {
    case v1::Scope::kTrust:
      if (!scope.trust()) {
        return InvalidField(absl::StrCat(field, ".trust"), "must be true");
      }
      return absl::OkStatus();
    case v1::Scope::kSchoolId:
      return CheckSchool(state, scope.school_id(),
                         absl::StrCat(field, ".school_id"));
    case v1::Scope::kDepartmentId: {
      const std::string department = absl::StrCat(field, ".department_id");
      THROUGHLINE_RETURN_IF_ERROR(CheckId(scope.department_id(), department));
      if (state.DepartmentSchool(scope.department_id()) == nullptr) {
        return Missing(department, absl::StrCat("unknown department \"",
                                                scope.department_id(), "\""));
      }
      return absl::OkStatus();
    }
    case v1::Scope::kStaffId:
      return CheckStaffActive(state, scope.staff_id(), at,
                              absl::StrCat(field, ".staff_id"));
    case v1::Scope::TARGET_NOT_SET:
      break;
  }
  return InvalidField(field, "must be set");
}

Decision OneEvent(std::string stream, eventstore::ExpectedRevision expected,
                  v1::CpdEvent event) {
  Decision decision;
  decision.stream = std::move(stream);
  decision.expected = expected;
  decision.events.push_back(std::move(event));
  return decision;
}

// A new record's own stream, which must not exist yet.
Decision NewRecord(absl::string_view category, const std::string& id,
                   v1::CpdEvent event) {
  return OneEvent(StreamFor(category, id),
                  eventstore::ExpectedRevision::NoStream(), std::move(event));
}

}  // namespace

grpc::Status PlanningService::AdoptImprovementPriority(
    grpc::ServerContext* context,
    const v1::AdoptImprovementPriorityRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::ImprovementPriorityAdopted& priority = request->priority();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(priority.priority_id(), "priority.priority_id"));
        if (state.PriorityClosed(priority.priority_id()).has_value()) {
          return Taken("priority.priority_id",
                       absl::StrCat("priority \"", priority.priority_id(),
                                    "\" already exists"));
        }
        if (!priority.school_id().empty()) {
          THROUGHLINE_RETURN_IF_ERROR(
              CheckSchool(state, priority.school_id(), "priority.school_id"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckAcademicYear(
            priority.academic_year(), "priority.academic_year"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(priority.title(), kMaxNameLength,
                                              "priority.title",
                                              /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, priority.areas(),
                                               "priority.areas",
                                               /*required=*/true));
        v1::CpdEvent event;
        *event.mutable_improvement_priority_adopted() = priority;
        return NewRecord("priority", priority.priority_id(), std::move(event));
      },
      response);
}

grpc::Status PlanningService::CloseImprovementPriority(
    grpc::ServerContext* context,
    const v1::CloseImprovementPriorityRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::ImprovementPriorityClosed& close = request->close();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(close.priority_id(), "close.priority_id"));
        const std::optional<bool> closed =
            state.PriorityClosed(close.priority_id());
        if (!closed.has_value()) {
          return Missing(
              "close.priority_id",
              absl::StrCat("unknown priority \"", close.priority_id(), "\""));
        }
        if (*closed) {
          return Missing("close.priority_id",
                         absl::StrCat("priority \"", close.priority_id(),
                                      "\" is already closed"));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckText(close.reason(), kMaxShortTextLength, "close.reason"));
        v1::CpdEvent event;
        *event.mutable_improvement_priority_closed() = close;
        return OneEvent(StreamFor("priority", close.priority_id()),
                        eventstore::ExpectedRevision::StreamExists(),
                        std::move(event));
      },
      response);
}

grpc::Status PlanningService::AllocateCpdTime(
    grpc::ServerContext* context, const v1::AllocateCpdTimeRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::CpdTimeAllocated& allocation = request->allocation();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckSchool(state, allocation.school_id(), "allocation.school_id"));
        absl::StatusOr<absl::Time> start =
            RequiredTime(allocation.has_period_start(),
                         allocation.period_start(), "allocation.period_start");
        if (!start.ok()) return start.status();
        absl::StatusOr<absl::Time> end =
            RequiredTime(allocation.has_period_end(), allocation.period_end(),
                         "allocation.period_end");
        if (!end.ok()) return end.status();
        if (*end <= *start) {
          return InvalidField("allocation.period_end",
                              absl::StrCat("must be after period_start (",
                                           absl::FormatTime(*start), ")"));
        }
        if (allocation.minutes_per_staff_member() < 1) {
          return InvalidField("allocation.minutes_per_staff_member",
                              "must be at least 1");
        }
        v1::CpdEvent event;
        *event.mutable_cpd_time_allocated() = allocation;
        return OneEvent(StreamFor("time", allocation.school_id()),
                        eventstore::ExpectedRevision::Any(), std::move(event));
      },
      response);
}

grpc::Status PlanningService::RecordMeetingTimeRepurposed(
    grpc::ServerContext* context,
    const v1::RecordMeetingTimeRepurposedRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::MeetingTimeRepurposed& repurposed = request->repurposed();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckSchool(state, repurposed.school_id(), "repurposed.school_id"));
        if (repurposed.minutes() < 1) {
          return InvalidField("repurposed.minutes", "must be at least 1");
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            repurposed.reason(), kMaxShortTextLength, "repurposed.reason"));
        v1::CpdEvent event;
        *event.mutable_meeting_time_repurposed() = repurposed;
        return OneEvent(StreamFor("time", repurposed.school_id()),
                        eventstore::ExpectedRevision::Any(), std::move(event));
      },
      response);
}

grpc::Status PlanningService::SetCpdBudget(
    grpc::ServerContext* context, const v1::SetCpdBudgetRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::CpdBudgetSet& budget = request->budget();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckSchool(state, budget.school_id(), "budget.school_id"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckAcademicYear(budget.academic_year(), "budget.academic_year"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckNotNegative(budget.amount_pence(), "budget.amount_pence"));
        v1::CpdEvent event;
        *event.mutable_cpd_budget_set() = budget;
        return OneEvent(StreamFor("budget", budget.school_id()),
                        eventstore::ExpectedRevision::Any(), std::move(event));
      },
      response);
}

grpc::Status PlanningService::RecordCpdSpend(
    grpc::ServerContext* context, const v1::RecordCpdSpendRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::CpdSpendRecorded& spend = request->spend();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(spend.spend_id(), "spend.spend_id"));
        if (state.IdUsed("spend", spend.spend_id())) {
          return Taken(
              "spend.spend_id",
              absl::StrCat("spend \"", spend.spend_id(), "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckSchool(state, spend.school_id(), "spend.school_id"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckNotNegative(spend.amount_pence(), "spend.amount_pence"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            spend.description(), kMaxShortTextLength, "spend.description"));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, spend.areas(),
                                               "spend.areas",
                                               /*required=*/false));
        if (!spend.programme_id().empty()) {
          THROUGHLINE_RETURN_IF_ERROR(CheckProgrammeKnown(
              state, spend.programme_id(), "spend.programme_id"));
        }
        if (!spend.session_id().empty()) {
          THROUGHLINE_RETURN_IF_ERROR(
              CheckSessionKnown(state, spend.session_id(), "spend.session_id"));
        }
        v1::CpdEvent event;
        *event.mutable_cpd_spend_recorded() = spend;
        return NewRecord("spend", spend.spend_id(), std::move(event));
      },
      response);
}

grpc::Status PlanningService::IdentifyTrainingNeed(
    grpc::ServerContext* context,
    const v1::IdentifyTrainingNeedRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::TrainingNeedIdentified& need = request->need();
        THROUGHLINE_RETURN_IF_ERROR(CheckId(need.need_id(), "need.need_id"));
        if (state.IdUsed("need", need.need_id())) {
          return Taken("need.need_id",
                       absl::StrCat("training need \"", need.need_id(),
                                    "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckScope(state, need.has_scope(),
                                               need.scope(), at, "need.scope"));
        THROUGHLINE_RETURN_IF_ERROR(CheckArea(state, need.area(), "need.area"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffKnown(state, need.identified_by_staff_id(),
                            "need.identified_by_staff_id"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckEvidence(state, need.evidence(), "need.evidence"));
        v1::CpdEvent event;
        *event.mutable_training_need_identified() = need;
        return NewRecord("need", need.need_id(), std::move(event));
      },
      response);
}

grpc::Status PlanningService::RecordCpdDecision(
    grpc::ServerContext* context, const v1::RecordCpdDecisionRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::CpdDecisionRecorded& decision = request->decision();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(decision.decision_id(), "decision.decision_id"));
        if (state.IdUsed("decision", decision.decision_id())) {
          return Taken("decision.decision_id",
                       absl::StrCat("decision \"", decision.decision_id(),
                                    "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffKnown(state, decision.decided_by_staff_id(),
                            "decision.decided_by_staff_id"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            decision.decision(), kMaxDescriptionLength, "decision.decision",
            /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            decision.rationale(), kMaxLongTextLength, "decision.rationale",
            /*required=*/true));
        constexpr char kAlternatives[] = "decision.alternatives_considered";
        THROUGHLINE_RETURN_IF_ERROR(CheckListLength(
            decision.alternatives_considered_size(), kAlternatives));
        for (int i = 0; i < decision.alternatives_considered_size(); ++i) {
          THROUGHLINE_RETURN_IF_ERROR(
              CheckText(decision.alternatives_considered(i),
                        kMaxShortTextLength, Indexed(kAlternatives, i)));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckEvidence(state, decision.evidence(), "decision.evidence"));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, decision.areas(),
                                               "decision.areas",
                                               /*required=*/false));
        if (!decision.programme_id().empty()) {
          THROUGHLINE_RETURN_IF_ERROR(CheckProgrammeKnown(
              state, decision.programme_id(), "decision.programme_id"));
        }
        v1::CpdEvent event;
        *event.mutable_cpd_decision_recorded() = decision;
        return NewRecord("decision", decision.decision_id(), std::move(event));
      },
      response);
}

grpc::Status PlanningService::RecordImpactEvaluation(
    grpc::ServerContext* context,
    const v1::RecordImpactEvaluationRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::ImpactEvaluated& evaluation = request->evaluation();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(evaluation.evaluation_id(), "evaluation.evaluation_id"));
        if (state.IdUsed("evaluation", evaluation.evaluation_id())) {
          return Taken("evaluation.evaluation_id",
                       absl::StrCat("evaluation \"", evaluation.evaluation_id(),
                                    "\" already exists"));
        }
        if (evaluation.programme_id().empty() ==
            evaluation.session_id().empty()) {
          return InvalidField(
              "evaluation.programme_id",
              "exactly one of programme_id and session_id must be set");
        }
        if (!evaluation.programme_id().empty()) {
          THROUGHLINE_RETURN_IF_ERROR(CheckProgrammeKnown(
              state, evaluation.programme_id(), "evaluation.programme_id"));
        } else {
          constexpr char kSession[] = "evaluation.session_id";
          THROUGHLINE_RETURN_IF_ERROR(
              CheckSessionKnown(state, evaluation.session_id(), kSession));
          const projections::Session* session =
              state.FindSession(evaluation.session_id());
          if (!session->held) {
            return Missing(kSession,
                           absl::StrCat("session \"", evaluation.session_id(),
                                        "\" has not been held"));
          }
          if (at < session->held_at) {
            return Missing(
                kSession, absl::StrCat("session \"", evaluation.session_id(),
                                       "\" was held on ",
                                       absl::FormatTime(session->held_at),
                                       ", after the evaluation's occurred_at"));
          }
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckEnum(
            evaluation.level(), v1::EvaluationLevel_IsValid(evaluation.level()),
            "evaluation.level"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            evaluation.finding(), kMaxLongTextLength, "evaluation.finding",
            /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckEvidence(state, evaluation.evidence(), "evaluation.evidence"));
        v1::CpdEvent event;
        *event.mutable_impact_evaluated() = evaluation;
        return NewRecord("evaluation", evaluation.evaluation_id(),
                         std::move(event));
      },
      response);
}

}  // namespace throughline::services::cpd
