// CoachingService rules: RecordCoachingConversation.

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cpd_fixture.h"

namespace throughline::testing {
namespace {

using ::testing::StartsWith;

class CoachingTest : public CpdFixture {
 protected:
  void AddServices(services::cpd::CommandRunner* runner,
                   std::vector<std::unique_ptr<grpc::Service>>* out) override {
    out->push_back(std::make_unique<services::cpd::CoachingService>(runner));
  }

  void SetUp() override {
    CpdFixture::SetUp();
    if (HasFatalFailure()) return;
    SeedTrust();
    coaching_ = cpd::CoachingService::NewStub(channel());
  }

  // `days` days after the trust was registered.
  static absl::Time Day(int days) {
    return RegisteredAt() + absl::Hours(24 * days);
  }

  // A valid conversation on day 10: t4 coaches t3 on questioning, next step
  // due on day 17.
  static cpd::RecordCoachingConversationRequest Conversation(
      const std::string& id) {
    cpd::RecordCoachingConversationRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(10), request.mutable_occurred_at());
    cpd::CoachingConversationHeld* conversation =
        request.mutable_conversation();
    conversation->set_conversation_id(id);
    conversation->set_coach_staff_id("t4");
    conversation->set_coachee_staff_id("t3");
    conversation->set_kind(cpd::COACHING_KIND_COACHING);
    conversation->set_focus_area("questioning");
    conversation->mutable_agreed_next_step()->set_text(
        "Plan three hinge questions for Year 9.");
    SetTime(Day(17), conversation->mutable_next_step_due());
    return request;
  }

  grpc::Status Record(const cpd::RecordCoachingConversationRequest& request,
                      cpd::RecordResponse* response = nullptr) {
    cpd::RecordResponse ignored;
    return coaching_->RecordCoachingConversation(
        Context().get(), request, response != nullptr ? response : &ignored);
  }

  std::unique_ptr<cpd::CoachingService::Stub> coaching_;
};

TEST_F(CoachingTest, RecordsAConversationOnce) {
  const auto request = Conversation("c-1");
  ExpectRecordedOnceThenRetried(
      [&](cpd::RecordResponse* response) { return Record(request, response); });
}

TEST_F(CoachingTest, NextStepAndItsDueDateAreOptional) {
  auto request = Conversation("mentoring");
  request.mutable_conversation()->set_kind(cpd::COACHING_KIND_MENTORING);
  request.mutable_conversation()->clear_agreed_next_step();
  request.mutable_conversation()->clear_next_step_due();
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Due at the very time of the conversation.
  request = Conversation("due-at-once");
  SetTime(Day(10), request.mutable_conversation()->mutable_next_step_due());
  status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Unset occurred_at means now.
  request = Conversation("now");
  request.clear_occurred_at();
  request.mutable_conversation()->clear_next_step_due();
  status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(CoachingTest, IdsAreChecked) {
  ASSERT_TRUE(Record(Conversation("c-1")).ok());
  const uint64_t head = Head();
  ExpectRefused(Record(Conversation("")), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.conversation_id", head);
  ExpectRefused(Record(Conversation("c#2")), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.conversation_id", head);
  ExpectRefused(Record(Conversation("c-1")), grpc::StatusCode::ALREADY_EXISTS,
                "conversation.conversation_id", head);

  // The same request id for a different request.
  auto request = Conversation("c-2");
  ASSERT_TRUE(Record(request).ok());
  const uint64_t after = Head();
  request.mutable_conversation()->set_conversation_id("c-3");
  ExpectRefused(Record(request), grpc::StatusCode::ALREADY_EXISTS, "request_id",
                after);
}

TEST_F(CoachingTest, TrustAndOccurredAtAreChecked) {
  const uint64_t head = Head();
  auto request = Conversation("c-1");
  SetTime(RegisteredAt() - absl::Hours(1), request.mutable_occurred_at());
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "occurred_at", head);

  cpd::RecordResponse response;
  grpc::Status status = coaching_->RecordCoachingConversation(
      Context("other-trust").get(), Conversation("c-1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ViolatedField(status), "tenant");
  EXPECT_EQ(Head("other-trust"), 0u);
}

TEST_F(CoachingTest, KindMustBeSet) {
  const uint64_t head = Head();
  auto request = Conversation("c-1");
  request.mutable_conversation()->clear_kind();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.kind", head);
  request.mutable_conversation()->set_kind(static_cast<cpd::CoachingKind>(7));
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.kind", head);
}

TEST_F(CoachingTest, FocusAreaIsChecked) {
  auto request = Conversation("before-retiring");
  request.mutable_conversation()->set_focus_area("send-support");
  ASSERT_TRUE(Record(request).ok());

  cpd::RetireDevelopmentAreaRequest retire;
  retire.set_request_id(NewRequestId());
  retire.mutable_retire()->set_code("send-support");
  cpd::RecordResponse response;
  ASSERT_TRUE(
      organisation_->RetireDevelopmentArea(Context().get(), retire, &response)
          .ok());

  const uint64_t head = Head();
  request = Conversation("c-1");
  request.mutable_conversation()->set_focus_area("send-support");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.focus_area", head);
  request.mutable_conversation()->set_focus_area("socratic-seminars");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.focus_area", head);
  request.mutable_conversation()->clear_focus_area();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.focus_area", head);
}

TEST_F(CoachingTest, NextStepIsChecked) {
  const uint64_t head = Head();
  auto request = Conversation("c-1");
  request.mutable_conversation()->mutable_agreed_next_step()->set_text(
      std::string(4001, 'x'));
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.agreed_next_step.text", head);

  request = Conversation("c-1");
  SetTime(Day(10) - absl::Seconds(1),
          request.mutable_conversation()->mutable_next_step_due());
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.next_step_due", head);
  request.mutable_conversation()->mutable_next_step_due()->set_seconds(
      absl::ToUnixSeconds(Day(17)));
  request.mutable_conversation()->mutable_next_step_due()->set_nanos(-1);
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.next_step_due", head);
  request.mutable_conversation()->mutable_next_step_due()->set_seconds(
      300000000000);
  request.mutable_conversation()->mutable_next_step_due()->set_nanos(0);
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.next_step_due", head);
}

TEST_F(CoachingTest, CoachAndCoacheeAreChecked) {
  const uint64_t head = Head();
  auto request = Conversation("c-1");
  request.mutable_conversation()->set_coach_staff_id("nobody");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "conversation.coach_staff_id", head);
  request.mutable_conversation()->clear_coach_staff_id();
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.coach_staff_id", head);

  request = Conversation("c-1");
  request.mutable_conversation()->set_coachee_staff_id("nobody");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "conversation.coachee_staff_id", head);
  request.mutable_conversation()->set_coachee_staff_id("no body");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.coachee_staff_id", head);

  // Nobody coaches themself.
  request = Conversation("c-1");
  request.mutable_conversation()->set_coachee_staff_id("t4");
  ExpectRefused(Record(request), grpc::StatusCode::INVALID_ARGUMENT,
                "conversation.coachee_staff_id", head);

  // Coached, or coaching, before joining.
  Join("t7", "south", {}, Day(20));
  const uint64_t joined = Head();
  request = Conversation("c-1");
  request.mutable_conversation()->set_coachee_staff_id("t7");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "conversation.coachee_staff_id", joined);
  request = Conversation("c-1");
  request.mutable_conversation()->set_coach_staff_id("t7");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "conversation.coach_staff_id", joined);
}

TEST_F(CoachingTest, LeaversAreCoachedOnlyUntilTheyLeave) {
  // Coached on day 10, then t3 leaves on day 30.
  ASSERT_TRUE(Record(Conversation("before-leaving")).ok());
  Leave("t3", Day(30));

  // A conversation from before the leave, recorded later, is still fine.
  auto request = Conversation("late-entry");
  SetTime(Day(29), request.mutable_occurred_at());
  SetTime(Day(40), request.mutable_conversation()->mutable_next_step_due());
  grpc::Status status = Record(request);
  EXPECT_TRUE(status.ok()) << status.error_message();

  const uint64_t head = Head();
  request = Conversation("after-leaving");
  SetTime(Day(30), request.mutable_occurred_at());
  SetTime(Day(40), request.mutable_conversation()->mutable_next_step_due());
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "conversation.coachee_staff_id", head);
  // A leaver coaches nobody either.
  request.mutable_conversation()->set_coach_staff_id("t3");
  request.mutable_conversation()->set_coachee_staff_id("t4");
  ExpectRefused(Record(request), grpc::StatusCode::FAILED_PRECONDITION,
                "conversation.coach_staff_id", head);
}

}  // namespace
}  // namespace throughline::testing
