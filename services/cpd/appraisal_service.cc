// AppraisalService: appraisal goals and their reviews. A goal and all its
// reviews go to one stream "goal-<goal_id>": the goal is the consistency
// boundary, since whether it may still be reviewed depends on the reviews
// before. Setting a goal expects no stream (guarding its id); a review
// expects the stream to exist.

#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/cpd/checks.h"
#include "services/cpd/silo_services.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr char kCategory[] = "goal";

Decision ForGoal(const std::string& goal_id,
                 eventstore::ExpectedRevision expected, v1::CpdEvent event) {
  Decision decision;
  decision.stream = StreamFor(kCategory, goal_id);
  decision.expected = expected;
  decision.events.push_back(std::move(event));
  return decision;
}

}  // namespace

grpc::Status AppraisalService::SetAppraisalGoal(
    grpc::ServerContext* context, const v1::SetAppraisalGoalRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::AppraisalGoalSet& goal = request->goal();
        THROUGHLINE_RETURN_IF_ERROR(CheckId(goal.goal_id(), "goal.goal_id"));
        if (state.FindGoal(goal.goal_id()) != nullptr) {
          return FieldError(
              absl::StatusCode::kAlreadyExists, "goal.goal_id",
              absl::StrCat("goal \"", goal.goal_id(), "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckAreas(state, goal.areas(), "goal.areas", /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(goal.description().text(),
                                              kMaxLongTextLength,
                                              "goal.description.text"));
        if (goal.has_review_due()) {
          absl::StatusOr<absl::Time> due =
              CheckTimestamp(goal.review_due(), "goal.review_due");
          if (!due.ok()) return due.status();
          if (*due < at) {
            return InvalidField("goal.review_due",
                                absl::StrCat("is before the goal was set (",
                                             absl::FormatTime(at), ")"));
          }
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffActive(state, goal.staff_id(), at, "goal.staff_id"));
        THROUGHLINE_RETURN_IF_ERROR(CheckStaffActive(
            state, goal.set_by_staff_id(), at, "goal.set_by_staff_id"));
        v1::CpdEvent event;
        *event.mutable_appraisal_goal_set() = goal;
        return ForGoal(goal.goal_id(), eventstore::ExpectedRevision::NoStream(),
                       std::move(event));
      },
      response);
}

grpc::Status AppraisalService::ReviewAppraisalGoal(
    grpc::ServerContext* context, const v1::ReviewAppraisalGoalRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::AppraisalGoalReviewed& review = request->review();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(review.goal_id(), "review.goal_id"));
        const projections::Goal* goal = state.FindGoal(review.goal_id());
        if (goal == nullptr) {
          return FieldError(
              absl::StatusCode::kFailedPrecondition, "review.goal_id",
              absl::StrCat("unknown goal \"", review.goal_id(), "\""));
        }
        if (goal->closed) {
          return FieldError(absl::StatusCode::kFailedPrecondition,
                            "review.goal_id",
                            absl::StrCat("goal \"", review.goal_id(),
                                         "\" is already closed"));
        }
        if (at < goal->set_at) {
          return InvalidField(
              "occurred_at",
              absl::StrCat("before goal \"", review.goal_id(), "\" was set (",
                           absl::FormatTime(goal->set_at), ")"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckEnum(
            review.outcome(), v1::GoalOutcome_IsValid(review.outcome()),
            "review.outcome"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            review.note().text(), kMaxLongTextLength, "review.note.text"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffKnown(state, review.reviewed_by_staff_id(),
                            "review.reviewed_by_staff_id"));
        v1::CpdEvent event;
        *event.mutable_appraisal_goal_reviewed() = review;
        return ForGoal(review.goal_id(),
                       eventstore::ExpectedRevision::StreamExists(),
                       std::move(event));
      },
      response);
}

}  // namespace throughline::services::cpd
