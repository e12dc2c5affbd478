// AppraisalService rules: SetAppraisalGoal and ReviewAppraisalGoal.

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cpd_fixture.h"

namespace throughline::testing {
namespace {

using ::testing::StartsWith;

class AppraisalTest : public CpdFixture {
 protected:
  void AddServices(services::cpd::CommandRunner* runner,
                   std::vector<std::unique_ptr<grpc::Service>>* out) override {
    out->push_back(std::make_unique<services::cpd::AppraisalService>(runner));
  }

  void SetUp() override {
    CpdFixture::SetUp();
    if (HasFatalFailure()) return;
    SeedTrust();
    appraisal_ = cpd::AppraisalService::NewStub(channel());
  }

  // `days` days after the trust was registered.
  static absl::Time Day(int days) {
    return RegisteredAt() + absl::Hours(24 * days);
  }

  // A valid goal set on day 10 for t1 by t4, reviews due on day 100.
  static cpd::SetAppraisalGoalRequest Goal(const std::string& id) {
    cpd::SetAppraisalGoalRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(10), request.mutable_occurred_at());
    cpd::AppraisalGoalSet* goal = request.mutable_goal();
    goal->set_goal_id(id);
    goal->set_staff_id("t1");
    goal->set_set_by_staff_id("t4");
    goal->add_areas("questioning");
    goal->add_areas("formative-assessment");
    goal->mutable_description()->set_text("Use hinge questions weekly.");
    SetTime(Day(100), goal->mutable_review_due());
    return request;
  }

  // A valid review of `goal_id` on day 50 by t4.
  static cpd::ReviewAppraisalGoalRequest Review(const std::string& goal_id,
                                                cpd::GoalOutcome outcome) {
    cpd::ReviewAppraisalGoalRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(50), request.mutable_occurred_at());
    cpd::AppraisalGoalReviewed* review = request.mutable_review();
    review->set_goal_id(goal_id);
    review->set_reviewed_by_staff_id("t4");
    review->set_outcome(outcome);
    review->mutable_note()->set_text("Good progress.");
    return request;
  }

  grpc::Status Record(const cpd::SetAppraisalGoalRequest& request,
                      cpd::RecordResponse* response = nullptr) {
    cpd::RecordResponse ignored;
    return appraisal_->SetAppraisalGoal(
        Context().get(), request, response != nullptr ? response : &ignored);
  }

  grpc::Status Record(const cpd::ReviewAppraisalGoalRequest& request,
                      cpd::RecordResponse* response = nullptr) {
    cpd::RecordResponse ignored;
    return appraisal_->ReviewAppraisalGoal(
        Context().get(), request, response != nullptr ? response : &ignored);
  }

  std::unique_ptr<cpd::AppraisalService::Stub> appraisal_;
};

// ---------------------------------------------------------------- Goals

TEST_F(AppraisalTest, SetsAGoalOnce) {
  const auto request = Goal("g-1");
  ExpectRecordedOnceThenRetried(
      [&](cpd::RecordResponse* response) { return Record(request, response); });
}

TEST_F(AppraisalTest, DescriptionAndReviewDueAreOptional) {
  auto request = Goal("bare");
  request.mutable_goal()->clear_description();
  request.mutable_goal()->clear_review_due();
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Due at the very time it is set; unset occurred_at means now.
  request = Goal("now");
  request.clear_occurred_at();
  request.mutable_goal()->clear_review_due();
  status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
  request = Goal("due-at-once");
  SetTime(Day(10), request.mutable_goal()->mutable_review_due());
  status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(AppraisalTest, GoalIdsAreChecked) {
  ASSERT_TRUE(Record(Goal("g-1")).ok());
  const uint64_t head = Head();
  ExpectRefused(Record(Goal("")), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.goal_id", head);
  ExpectRefused(Record(Goal("g 2")), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.goal_id", head);
  ExpectRefused(Record(Goal("g-1")), grpc::StatusCode::ALREADY_EXISTS,
                "goal.goal_id", head);

  // The same request id for a different request.
  auto request = Goal("g-2");
  ASSERT_TRUE(Record(request).ok());
  const uint64_t after = Head();
  request.mutable_goal()->set_goal_id("g-3");
  ExpectRefused(Record(request), grpc::StatusCode::ALREADY_EXISTS, "request_id",
                after);
}

TEST_F(AppraisalTest, TrustAndOccurredAtAreChecked) {
  const uint64_t head = Head();
  auto request = Goal("g-1");
  SetTime(absl::Now() + absl::Hours(48), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "occurred_at", head);

  cpd::RecordResponse response;
  grpc::Status status = appraisal_->SetAppraisalGoal(
      Context("other-trust").get(), Goal("g-1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ViolatedField(status), "tenant");
  EXPECT_EQ(Head("other-trust"), 0u);
}

TEST_F(AppraisalTest, GoalAreasAreChecked) {
  auto request = Goal("before-retiring");
  request.mutable_goal()->add_areas("curriculum-sequencing");
  ASSERT_TRUE(Record(request).ok());
  cpd::RetireDevelopmentAreaRequest retire;
  retire.set_request_id(NewRequestId());
  retire.mutable_retire()->set_code("curriculum-sequencing");
  cpd::RecordResponse response;
  ASSERT_TRUE(
      organisation_->RetireDevelopmentArea(Context().get(), retire, &response)
          .ok());

  const uint64_t head = Head();
  request = Goal("g-1");
  request.mutable_goal()->add_areas("curriculum-sequencing");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.areas[2]", head);
  request = Goal("g-1");
  request.mutable_goal()->set_areas(1, "assessment");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.areas[1]", head);
  request = Goal("g-1");
  request.mutable_goal()->set_areas(1, "questioning");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.areas[1]", head);
  request = Goal("g-1");
  request.mutable_goal()->clear_areas();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.areas", head);
}

TEST_F(AppraisalTest, DescriptionAndReviewDueAreChecked) {
  const uint64_t head = Head();
  auto request = Goal("g-1");
  request.mutable_goal()->mutable_description()->set_text(
      std::string(4001, 'x'));
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.description.text", head);

  request = Goal("g-1");
  SetTime(Day(9), request.mutable_goal()->mutable_review_due());
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.review_due", head);
  request.mutable_goal()->mutable_review_due()->set_nanos(1000000000);
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.review_due", head);
}

TEST_F(AppraisalTest, GoalStaffAreChecked) {
  const uint64_t head = Head();
  auto request = Goal("g-1");
  request.mutable_goal()->set_staff_id("nobody");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "goal.staff_id", head);
  request.mutable_goal()->clear_staff_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.staff_id", head);
  request = Goal("g-1");
  request.mutable_goal()->set_set_by_staff_id("nobody");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "goal.set_by_staff_id", head);
  request.mutable_goal()->clear_set_by_staff_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "goal.set_by_staff_id", head);

  // Before joining.
  Join("t7", "north", {}, Day(20));
  const uint64_t joined = Head();
  request = Goal("g-1");
  request.mutable_goal()->set_staff_id("t7");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "goal.staff_id", joined);
}

TEST_F(AppraisalTest, LeaversGetGoalsOnlyUntilTheyLeave) {
  ASSERT_TRUE(Record(Goal("before-leaving")).ok());
  Leave("t1", Day(30));

  auto request = Goal("late-entry");
  SetTime(Day(29), request.mutable_occurred_at());
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  const uint64_t head = Head();
  request = Goal("after-leaving");
  SetTime(Day(30), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "goal.staff_id", head);
  request.mutable_goal()->set_staff_id("t2");
  request.mutable_goal()->set_set_by_staff_id("t1");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "goal.set_by_staff_id", head);

  // A leaver's open goal can still be reviewed, also by a reviewer who left.
  status = Record(Review("before-leaving", cpd::GOAL_OUTCOME_NOT_MET));
  EXPECT_TRUE(status.ok()) << status.error_message();
  auto review = Review("late-entry", cpd::GOAL_OUTCOME_MET);
  review.mutable_review()->set_reviewed_by_staff_id("t1");
  status = Record(review);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// ---------------------------------------------------------------- Reviews

TEST_F(AppraisalTest, CarriedForwardKeepsTheGoalOpenUntilClosed) {
  ASSERT_TRUE(Record(Goal("g-1")).ok());
  uint64_t head = Head();
  cpd::RecordResponse response;
  grpc::Status status =
      Record(Review("g-1", cpd::GOAL_OUTCOME_CARRIED_FORWARD), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.first_position(), head + 1);
  EXPECT_FALSE(response.already_applied());

  const auto met = Review("g-1", cpd::GOAL_OUTCOME_MET);
  cpd::RecordResponse first;
  status = Record(met, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(first.already_applied());
  head = Head();
  EXPECT_EQ(first.first_position(), head);

  // A retry of the closing review is answered even though the goal is closed.
  cpd::RecordResponse again;
  status = Record(met, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.already_applied());
  ASSERT_EQ(again.event_ids_size(), 1);
  EXPECT_EQ(again.event_ids(0), first.event_ids(0));
  EXPECT_EQ(again.first_position(), first.first_position());
  EXPECT_EQ(Head(), head);

  // Closed goals are not reviewed again, whatever the outcome.
  ExpectRefused(Record(Review("g-1", cpd::GOAL_OUTCOME_CARRIED_FORWARD)),
                grpc::StatusCode::FAILED_PRECONDITION, "review.goal_id", head);
  ExpectRefused(Record(Review("g-1", cpd::GOAL_OUTCOME_MET)),
                grpc::StatusCode::FAILED_PRECONDITION, "review.goal_id", head);
  // And its id stays taken.
  ExpectRefused(Record(Goal("g-1")), grpc::StatusCode::ALREADY_EXISTS,
                "goal.goal_id", head);
}

TEST_F(AppraisalTest, MetPartlyMetAndNotMetCloseTheGoal) {
  for (cpd::GoalOutcome outcome :
       {cpd::GOAL_OUTCOME_MET, cpd::GOAL_OUTCOME_PARTLY_MET,
        cpd::GOAL_OUTCOME_NOT_MET}) {
    SCOPED_TRACE(cpd::GoalOutcome_Name(outcome));
    const std::string goal_id = cpd::GoalOutcome_Name(outcome);
    ASSERT_TRUE(Record(Goal(goal_id)).ok());
    grpc::Status status = Record(Review(goal_id, outcome));
    ASSERT_TRUE(status.ok()) << status.error_message();
    ExpectRefused(Record(Review(goal_id, cpd::GOAL_OUTCOME_CARRIED_FORWARD)),
                  grpc::StatusCode::FAILED_PRECONDITION, "review.goal_id",
                  Head());
  }
}

TEST_F(AppraisalTest, ReviewsAreChecked) {
  ASSERT_TRUE(Record(Goal("g-1")).ok());
  const uint64_t head = Head();
  ExpectRefused(Record(Review("g-2", cpd::GOAL_OUTCOME_MET)),
                grpc::StatusCode::FAILED_PRECONDITION, "review.goal_id", head);
  ExpectRefused(Record(Review("", cpd::GOAL_OUTCOME_MET)),
                grpc::StatusCode::INVALID_ARGUMENT, "review.goal_id", head);

  ExpectRefused(Record(Review("g-1", cpd::GOAL_OUTCOME_UNSPECIFIED)),
                grpc::StatusCode::INVALID_ARGUMENT, "review.outcome", head);
  ExpectRefused(Record(Review("g-1", static_cast<cpd::GoalOutcome>(42))),
                grpc::StatusCode::INVALID_ARGUMENT, "review.outcome", head);

  auto request = Review("g-1", cpd::GOAL_OUTCOME_MET);
  request.mutable_review()->mutable_note()->set_text(std::string(4001, 'x'));
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "review.note.text", head);

  request = Review("g-1", cpd::GOAL_OUTCOME_MET);
  request.mutable_review()->set_reviewed_by_staff_id("nobody");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "review.reviewed_by_staff_id", head);
  request.mutable_review()->clear_reviewed_by_staff_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "review.reviewed_by_staff_id", head);

  // A review cannot happen before the goal was set (day 10).
  request = Review("g-1", cpd::GOAL_OUTCOME_MET);
  SetTime(Day(10) - absl::Seconds(1), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "occurred_at", head);
  SetTime(Day(10), request.mutable_occurred_at());
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace throughline::testing
