// CpdProgrammeService rules: programmes, planned and held sessions,
// follow-up evidence and enquiry findings.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cpd_fixture.h"

namespace throughline::testing {
namespace {

using ::testing::StartsWith;

absl::Time Day(int n) {
  return absl::FromCivil(absl::CivilSecond(2025, 9, 1, 0, 0, 0),
                         absl::UTCTimeZone()) +
         absl::Hours(24 * n);
}

class ProgrammeTest : public CpdFixture {
 protected:
  void AddServices(services::cpd::CommandRunner* runner,
                   std::vector<std::unique_ptr<grpc::Service>>* out) override {
    out->push_back(
        std::make_unique<services::cpd::CpdProgrammeService>(runner));
    out->push_back(std::make_unique<services::cpd::ObservationService>(runner));
    out->push_back(std::make_unique<services::cpd::AppraisalService>(runner));
    out->push_back(std::make_unique<services::cpd::CoachingService>(runner));
  }

  void SetUp() override {
    CpdFixture::SetUp();
    if (HasFatalFailure()) return;
    SeedTrust();
    programme_ = cpd::CpdProgrammeService::NewStub(channel());
  }

  // ---------------------------------------------------------------- Requests

  static cpd::LaunchProgrammeRequest LaunchRequest(const std::string& id,
                                                   cpd::ProgrammeKind kind,
                                                   uint32_t follow_up_days,
                                                   absl::Time at = Day(1)) {
    cpd::LaunchProgrammeRequest request;
    request.set_request_id(NewRequestId());
    SetTime(at, request.mutable_occurred_at());
    cpd::ProgrammeLaunched* programme = request.mutable_programme();
    programme->set_programme_id(id);
    programme->set_title(absl::StrCat("Programme ", id));
    programme->add_areas("questioning");
    programme->set_kind(kind);
    programme->set_owner_staff_id("t1");
    programme->set_follow_up_days(follow_up_days);
    return request;
  }

  static cpd::PlanSessionRequest PlanRequest(const std::string& id,
                                             const std::string& programme_id,
                                             absl::Time at = Day(2)) {
    cpd::PlanSessionRequest request;
    request.set_request_id(NewRequestId());
    SetTime(at, request.mutable_occurred_at());
    cpd::SessionPlanned* session = request.mutable_session();
    session->set_session_id(id);
    session->set_programme_id(programme_id);
    session->set_title(absl::StrCat("Session ", id));
    session->add_areas("questioning");
    session->set_facilitator_staff_id("t1");
    SetTime(at + absl::Hours(24 * 7), session->mutable_scheduled_for());
    session->set_minutes(60);
    session->add_mechanisms(cpd::MECHANISM_C_MODELLING);
    return request;
  }

  static cpd::RecordSessionHeldRequest HeldRequest(
      const std::string& id, const std::string& programme_id,
      const std::vector<std::string>& attendees, absl::Time at = Day(10)) {
    cpd::RecordSessionHeldRequest request;
    request.set_request_id(NewRequestId());
    SetTime(at, request.mutable_occurred_at());
    cpd::SessionHeld* session = request.mutable_session();
    session->set_session_id(id);
    session->set_programme_id(programme_id);
    session->set_title(absl::StrCat("Session ", id));
    session->add_areas("questioning");
    session->set_facilitator_staff_id("t1");
    session->set_minutes(60);
    for (const std::string& attendee : attendees) {
      session->add_attendee_staff_ids(attendee);
    }
    session->set_cost_pence(12500);
    session->add_mechanisms(cpd::MECHANISM_C_MODELLING);
    session->add_mechanisms(cpd::MECHANISM_D_ACTION_PLANNING);
    return request;
  }

  static cpd::EvidenceFollowUpRequest EvidenceRequest(
      const std::string& id, const std::string& staff_id,
      const std::string& session_id, absl::Time at = Day(12)) {
    cpd::EvidenceFollowUpRequest request;
    request.set_request_id(NewRequestId());
    SetTime(at, request.mutable_occurred_at());
    cpd::FollowUpEvidenced* follow_up = request.mutable_follow_up();
    follow_up->set_follow_up_id(id);
    follow_up->set_staff_id(staff_id);
    follow_up->mutable_target()->set_session_id(session_id);
    follow_up->set_evidence_kind(cpd::EVIDENCE_KIND_LESSON_SEEN);
    follow_up->mutable_description()->set_text("Used cold calling");
    follow_up->add_areas("questioning");
    follow_up->add_mechanisms(cpd::MECHANISM_D_CONTEXT_SPECIFIC_REPETITION);
    return request;
  }

  static cpd::ShareEnquiryFindingsRequest FindingsRequest(
      const std::string& programme_id) {
    cpd::ShareEnquiryFindingsRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(60), request.mutable_occurred_at());
    cpd::EnquiryFindingsShared* findings = request.mutable_findings();
    findings->set_programme_id(programme_id);
    findings->set_summary("Wait time helped more pupils answer.");
    findings->add_areas("questioning");
    return request;
  }

  // ---------------------------------------------------------------- Calls

  grpc::Status Launch(const cpd::LaunchProgrammeRequest& request,
                      cpd::RecordResponse* response = nullptr) {
    cpd::RecordResponse ignored;
    return programme_->LaunchProgramme(Context().get(), request,
                                       response ? response : &ignored);
  }
  grpc::Status Plan(const cpd::PlanSessionRequest& request) {
    cpd::RecordResponse response;
    return programme_->PlanSession(Context().get(), request, &response);
  }
  grpc::Status Held(const cpd::RecordSessionHeldRequest& request,
                    cpd::RecordResponse* response = nullptr) {
    cpd::RecordResponse ignored;
    return programme_->RecordSessionHeld(Context().get(), request,
                                         response ? response : &ignored);
  }
  grpc::Status Evidence(const cpd::EvidenceFollowUpRequest& request) {
    cpd::RecordResponse response;
    return programme_->EvidenceFollowUp(Context().get(), request, &response);
  }
  grpc::Status Findings(const cpd::ShareEnquiryFindingsRequest& request) {
    cpd::RecordResponse response;
    return programme_->ShareEnquiryFindings(Context().get(), request,
                                            &response);
  }

  // Launches "mastery" (14 follow-up days) and "enquiry" (no follow-up).
  void LaunchProgrammes() {
    grpc::Status status =
        Launch(LaunchRequest("mastery", cpd::PROGRAMME_KIND_MASTERY, 14));
    ASSERT_TRUE(status.ok()) << status.error_message();
    status = Launch(LaunchRequest("enquiry", cpd::PROGRAMME_KIND_ENQUIRY, 0));
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // ------------------------------------------------- Other silos' records

  // Records `event` (an observation, goal or coaching conversation) at `at`
  // through its own silo service.
  void Seed(const cpd::CpdEvent& event, absl::Time at) {
    cpd::RecordResponse response;
    grpc::Status status;
    if (event.has_observation_recorded()) {
      cpd::RecordObservationRequest request;
      request.set_request_id(NewRequestId());
      SetTime(at, request.mutable_occurred_at());
      *request.mutable_observation() = event.observation_recorded();
      status = cpd::ObservationService::NewStub(channel())->RecordObservation(
          Context().get(), request, &response);
    } else if (event.has_appraisal_goal_set()) {
      cpd::SetAppraisalGoalRequest request;
      request.set_request_id(NewRequestId());
      SetTime(at, request.mutable_occurred_at());
      *request.mutable_goal() = event.appraisal_goal_set();
      status = cpd::AppraisalService::NewStub(channel())->SetAppraisalGoal(
          Context().get(), request, &response);
    } else {
      cpd::RecordCoachingConversationRequest request;
      request.set_request_id(NewRequestId());
      SetTime(at, request.mutable_occurred_at());
      *request.mutable_conversation() = event.coaching_conversation_held();
      status =
          cpd::CoachingService::NewStub(channel())->RecordCoachingConversation(
              Context().get(), request, &response);
    }
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // The follow-up due time the SessionHeld event carries, or nullopt.
  std::optional<absl::Time> FollowUpDue(const std::string& session_id) {
    for (const cpd::CpdEvent& event :
         StreamEvents(absl::StrCat("session-", session_id))) {
      if (event.has_session_held() &&
          event.session_held().has_follow_up_due()) {
        const auto& due = event.session_held().follow_up_due();
        return absl::FromUnixSeconds(due.seconds()) +
               absl::Nanoseconds(due.nanos());
      }
    }
    return std::nullopt;
  }

  std::unique_ptr<cpd::CpdProgrammeService::Stub> programme_;
};

// ------------------------------------------------------------------ Launch

TEST_F(ProgrammeTest, LaunchesAProgramme) {
  const uint64_t head = Head();
  cpd::RecordResponse response;
  auto request = LaunchRequest("p1", cpd::PROGRAMME_KIND_MASTERY, 14);
  request.mutable_programme()->set_school_id("north");
  grpc::Status status = Launch(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.event_ids_size(), 1);
  EXPECT_EQ(response.first_position(), head + 1);
  EXPECT_FALSE(response.already_applied());
  EXPECT_EQ(Head(), head + 1);
}

TEST_F(ProgrammeTest, LaunchIsChecked) {
  RetireArea("literacy");
  ASSERT_TRUE(
      Launch(LaunchRequest("p1", cpd::PROGRAMME_KIND_MASTERY, 14)).ok());
  Leave("t6", Day(5));
  const uint64_t head = Head();

  auto request = LaunchRequest("p1", cpd::PROGRAMME_KIND_MASTERY, 14);
  ExpectRefused(Launch(request), grpc::StatusCode::ALREADY_EXISTS,
                "programme.programme_id", head);
  request = LaunchRequest("bad id!", cpd::PROGRAMME_KIND_MASTERY, 14);
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.programme_id", head);
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_MASTERY, 14);
  request.mutable_programme()->clear_title();
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.title", head);
  request.mutable_programme()->set_title(std::string(201, 'x'));
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.title", head);
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_MASTERY, 14);
  request.mutable_programme()->clear_areas();
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.areas", head);
  request.mutable_programme()->add_areas("questioning");
  request.mutable_programme()->add_areas("questionning");
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.areas[1]", head);
  request.mutable_programme()->set_areas(1, "literacy");  // Retired.
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.areas[1]", head);
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_UNSPECIFIED, 14);
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.kind", head);
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_MASTERY, 14);
  request.mutable_programme()->set_owner_staff_id("nobody");
  ExpectRefused(Launch(request), grpc::StatusCode::FAILED_PRECONDITION,
                "programme.owner_staff_id", head);
  request.mutable_programme()->clear_owner_staff_id();
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.owner_staff_id", head);
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_MASTERY, 14, Day(6));
  request.mutable_programme()->set_owner_staff_id("t6");  // Left on day 5.
  ExpectRefused(Launch(request), grpc::StatusCode::FAILED_PRECONDITION,
                "programme.owner_staff_id", head);
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_MASTERY, 367);
  ExpectRefused(Launch(request), grpc::StatusCode::INVALID_ARGUMENT,
                "programme.follow_up_days", head);
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_MASTERY, 14);
  request.mutable_programme()->set_school_id("east");
  ExpectRefused(Launch(request), grpc::StatusCode::FAILED_PRECONDITION,
                "programme.school_id", head);

  // The leaver could own a programme launched before they left.
  request = LaunchRequest("p2", cpd::PROGRAMME_KIND_MASTERY, 14, Day(4));
  request.mutable_programme()->set_owner_staff_id("t6");
  grpc::Status status = Launch(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// ------------------------------------------------------------------ Plan

TEST_F(ProgrammeTest, PlanIsChecked) {
  LaunchProgrammes();
  RetireArea("literacy");
  ASSERT_TRUE(Plan(PlanRequest("s1", "mastery")).ok());
  ASSERT_TRUE(Plan(PlanRequest("one-off", "")).ok());
  ASSERT_TRUE(Held(HeldRequest("s2", "", {"t1"})).ok());
  const uint64_t head = Head();

  ExpectRefused(Plan(PlanRequest("s1", "mastery")),
                grpc::StatusCode::ALREADY_EXISTS, "session.session_id", head);
  ExpectRefused(Plan(PlanRequest("s2", "")), grpc::StatusCode::ALREADY_EXISTS,
                "session.session_id", head);
  ExpectRefused(Plan(PlanRequest("", "")), grpc::StatusCode::INVALID_ARGUMENT,
                "session.session_id", head);
  ExpectRefused(Plan(PlanRequest("s3", "nope")),
                grpc::StatusCode::FAILED_PRECONDITION, "session.programme_id",
                head);
  auto request = PlanRequest("s3", "mastery");
  request.mutable_session()->clear_title();
  ExpectRefused(Plan(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.title", head);
  request = PlanRequest("s3", "mastery");
  request.mutable_session()->clear_areas();
  ExpectRefused(Plan(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.areas", head);
  request.mutable_session()->add_areas("feedback");
  request.mutable_session()->add_areas("literacy");
  ExpectRefused(Plan(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.areas[1]", head);
  request = PlanRequest("s3", "mastery");
  request.mutable_session()->set_facilitator_staff_id("nobody");
  ExpectRefused(Plan(request), grpc::StatusCode::FAILED_PRECONDITION,
                "session.facilitator_staff_id", head);
  request = PlanRequest("s3", "mastery");
  request.mutable_session()->add_mechanisms(cpd::MECHANISM_UNSPECIFIED);
  ExpectRefused(Plan(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.mechanisms[1]", head);
  request = PlanRequest("s3", "mastery");
  request.mutable_session()->mutable_scheduled_for()->set_nanos(-1);
  ExpectRefused(Plan(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.scheduled_for", head);
}

// ------------------------------------------------------------------ Held

TEST_F(ProgrammeTest, HeldSessionIsChecked) {
  LaunchProgrammes();
  RetireArea("literacy");
  ASSERT_TRUE(Held(HeldRequest("s1", "mastery", {"t1", "t2"})).ok());
  ASSERT_TRUE(Plan(PlanRequest("planned", "mastery")).ok());
  const uint64_t head = Head();

  ExpectRefused(Held(HeldRequest("s1", "mastery", {"t1"})),
                grpc::StatusCode::ALREADY_EXISTS, "session.session_id", head);
  ExpectRefused(Held(HeldRequest("s2", "nope", {"t1"})),
                grpc::StatusCode::FAILED_PRECONDITION, "session.programme_id",
                head);
  ExpectRefused(Held(HeldRequest("planned", "enquiry", {"t1"})),
                grpc::StatusCode::FAILED_PRECONDITION, "session.programme_id",
                head);
  auto request = HeldRequest("s2", "", {"t1"});
  request.mutable_session()->set_title(std::string(201, 'x'));
  ExpectRefused(Held(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.title", head);
  request = HeldRequest("s2", "", {"t1"});
  request.mutable_session()->clear_areas();
  ExpectRefused(Held(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.areas", head);
  request.mutable_session()->add_areas("literacy");
  ExpectRefused(Held(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.areas[0]", head);
  request = HeldRequest("s2", "", {"t1"});
  request.mutable_session()->set_facilitator_staff_id("nobody");
  ExpectRefused(Held(request), grpc::StatusCode::FAILED_PRECONDITION,
                "session.facilitator_staff_id", head);
  request = HeldRequest("s2", "", {"t1"});
  request.mutable_session()->set_minutes(0);
  ExpectRefused(Held(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.minutes", head);
  ExpectRefused(Held(HeldRequest("s2", "", {})),
                grpc::StatusCode::INVALID_ARGUMENT,
                "session.attendee_staff_ids", head);
  ExpectRefused(Held(HeldRequest("s2", "", {"t1", "t2", "t1"})),
                grpc::StatusCode::INVALID_ARGUMENT,
                "session.attendee_staff_ids[2]", head);
  ExpectRefused(Held(HeldRequest("s2", "", {"t1", "t2", "nobody"})),
                grpc::StatusCode::FAILED_PRECONDITION,
                "session.attendee_staff_ids[2]", head);
  request = HeldRequest("s2", "", {"t1"});
  request.mutable_session()->set_cost_pence(-1);
  ExpectRefused(Held(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.cost_pence", head);
  request = HeldRequest("s2", "", {"t1"});
  SetTime(Day(10) - absl::Seconds(1),
          request.mutable_session()->mutable_follow_up_due());
  ExpectRefused(Held(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.follow_up_due", head);
  request = HeldRequest("s2", "", {"t1"});
  request.mutable_session()->add_mechanisms(static_cast<cpd::Mechanism>(99));
  ExpectRefused(Held(request), grpc::StatusCode::INVALID_ARGUMENT,
                "session.mechanisms[2]", head);
}

TEST_F(ProgrammeTest, LeaverCannotBeEnrolledAfterLeaving) {
  Leave("t6", Day(30));
  uint64_t head = Head();
  ExpectRefused(Held(HeldRequest("after", "", {"t5", "t6"}, Day(40))),
                grpc::StatusCode::FAILED_PRECONDITION,
                "session.attendee_staff_ids[1]", head);
  // Leaving takes effect at its own time: a session on that instant is
  // after it.
  ExpectRefused(Held(HeldRequest("same", "", {"t6"}, Day(30))),
                grpc::StatusCode::FAILED_PRECONDITION,
                "session.attendee_staff_ids[0]", head);
  auto request = HeldRequest("after", "", {"t5"}, Day(40));
  request.mutable_session()->set_facilitator_staff_id("t6");
  ExpectRefused(Held(request), grpc::StatusCode::FAILED_PRECONDITION,
                "session.facilitator_staff_id", head);

  // A session they attended before leaving may be recorded afterwards.
  grpc::Status status = Held(HeldRequest("before", "", {"t5", "t6"}, Day(20)));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Head(), head + 1);
  // And so may their evidence following it up.
  status = Evidence(EvidenceRequest("f1", "t6", "before", Day(25)));
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Someone who joins later cannot attend a session held before they joined.
  Join("t7", "north", {}, Day(50));
  head = Head();
  ExpectRefused(Held(HeldRequest("early", "", {"t1", "t7"}, Day(45))),
                grpc::StatusCode::FAILED_PRECONDITION,
                "session.attendee_staff_ids[1]", head);
}

TEST_F(ProgrammeTest, ProgrammeFollowUpDaysFillInTheDueTime) {
  LaunchProgrammes();
  // A programme session with no due time gets the programme's.
  ASSERT_TRUE(Held(HeldRequest("s1", "mastery", {"t1", "t2"}, Day(10))).ok());
  EXPECT_EQ(FollowUpDue("s1"), Day(24));
  // A due time the client sets is kept.
  auto request = HeldRequest("s2", "mastery", {"t1"}, Day(11));
  SetTime(Day(15), request.mutable_session()->mutable_follow_up_due());
  ASSERT_TRUE(Held(request).ok());
  EXPECT_EQ(FollowUpDue("s2"), Day(15));
  // No follow-up days, and a one-off session: no follow-through planned.
  ASSERT_TRUE(Held(HeldRequest("s3", "enquiry", {"t1"}, Day(12))).ok());
  EXPECT_EQ(FollowUpDue("s3"), std::nullopt);
  ASSERT_TRUE(Held(HeldRequest("s4", "", {"t1"}, Day(12))).ok());
  EXPECT_EQ(FollowUpDue("s4"), std::nullopt);
  // A due time equal to the session's time is allowed.
  request = HeldRequest("s5", "", {"t1"}, Day(13));
  SetTime(Day(13), request.mutable_session()->mutable_follow_up_due());
  ASSERT_TRUE(Held(request).ok());
  EXPECT_EQ(FollowUpDue("s5"), Day(13));
}

TEST_F(ProgrammeTest, PlannedSessionIsHeldOnceAndKeepsItsProgramme) {
  LaunchProgrammes();
  ASSERT_TRUE(Plan(PlanRequest("s1", "mastery")).ok());
  ASSERT_TRUE(Plan(PlanRequest("one-off", "")).ok());
  uint64_t head = Head();
  ExpectRefused(Held(HeldRequest("one-off", "mastery", {"t1"})),
                grpc::StatusCode::FAILED_PRECONDITION, "session.programme_id",
                head);

  // Held without naming the programme: it keeps the plan's, and with it the
  // programme's follow-up days.
  grpc::Status status = Held(HeldRequest("s1", "", {"t1", "t3"}, Day(9)));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(FollowUpDue("s1"), Day(23));
  head = Head();
  ExpectRefused(Held(HeldRequest("s1", "mastery", {"t1"})),
                grpc::StatusCode::ALREADY_EXISTS, "session.session_id", head);
  ExpectRefused(Plan(PlanRequest("s1", "mastery")),
                grpc::StatusCode::ALREADY_EXISTS, "session.session_id", head);

  status = Held(HeldRequest("one-off", "", {"t1"}));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(FollowUpDue("one-off"), std::nullopt);
}

TEST_F(ProgrammeTest, RetriedRequestsAppendNothing) {
  LaunchProgrammes();
  const auto request = HeldRequest("s1", "mastery", {"t1", "t2"});
  cpd::RecordResponse first, again;
  ASSERT_TRUE(Held(request, &first).ok());
  const uint64_t head = Head();
  grpc::Status status = Held(request, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(first.already_applied());
  EXPECT_TRUE(again.already_applied());
  ASSERT_EQ(again.event_ids_size(), 1);
  EXPECT_EQ(again.event_ids(0), first.event_ids(0));
  EXPECT_EQ(again.first_position(), first.first_position());
  EXPECT_EQ(Head(), head);

  // The same request id for a different request is refused.
  auto changed = request;
  changed.mutable_session()->set_minutes(90);
  ExpectRefused(Held(changed), grpc::StatusCode::ALREADY_EXISTS, "request_id",
                head);
}

// ------------------------------------------------------------------ Evidence

class FollowUpTest : public ProgrammeTest {
 protected:
  void SetUp() override {
    ProgrammeTest::SetUp();
    LaunchProgrammes();
    RetireArea("literacy");
    ASSERT_TRUE(Held(HeldRequest("s1", "mastery", {"t1", "t2"}, Day(10))).ok());
    ASSERT_TRUE(Plan(PlanRequest("planned", "mastery")).ok());

    cpd::CpdEvent event;
    cpd::ObservationRecorded* observation =
        event.mutable_observation_recorded();
    observation->set_observation_id("o1");
    observation->set_observed_staff_id("t1");
    observation->set_observer_staff_id("t3");
    observation->set_kind(cpd::OBSERVATION_KIND_FORMAL);
    observation->add_development_points("questioning");
    observation->add_development_points("feedback");
    Seed(event, Day(3));

    event.Clear();
    cpd::AppraisalGoalSet* goal = event.mutable_appraisal_goal_set();
    goal->set_goal_id("g1");
    goal->set_staff_id("t1");
    goal->set_set_by_staff_id("t3");
    goal->add_areas("questioning");
    Seed(event, Day(3));

    event.Clear();
    cpd::CoachingConversationHeld* coaching =
        event.mutable_coaching_conversation_held();
    coaching->set_conversation_id("c1");
    coaching->set_coach_staff_id("t3");
    coaching->set_coachee_staff_id("t1");
    coaching->set_kind(cpd::COACHING_KIND_COACHING);
    coaching->set_focus_area("questioning");
    Seed(event, Day(3));
  }
};

TEST_F(FollowUpTest, EvidencesEveryKindOfTarget) {
  uint64_t head = Head();
  grpc::Status status = Evidence(EvidenceRequest("f1", "t1", "s1"));
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Evidence at the session's own time is not before it.
  status = Evidence(EvidenceRequest("f2", "t2", "s1", Day(10)));
  ASSERT_TRUE(status.ok()) << status.error_message();

  auto request = EvidenceRequest("f3", "t1", "", Day(12));
  request.mutable_follow_up()->mutable_target()->set_goal_id("g1");
  status = Evidence(request);
  ASSERT_TRUE(status.ok()) << status.error_message();

  request = EvidenceRequest("f4", "t1", "", Day(12));
  auto* point = request.mutable_follow_up()
                    ->mutable_target()
                    ->mutable_observation_point();
  point->set_observation_id("o1");
  point->set_area("feedback");
  status = Evidence(request);
  ASSERT_TRUE(status.ok()) << status.error_message();

  request = EvidenceRequest("f5", "t1", "", Day(12));
  request.mutable_follow_up()->mutable_target()->set_coaching_conversation_id(
      "c1");
  request.mutable_follow_up()->set_evidence_kind(
      cpd::EVIDENCE_KIND_COACHING_NOTE);
  request.mutable_follow_up()->clear_areas();
  request.mutable_follow_up()->clear_mechanisms();
  request.mutable_follow_up()->clear_description();
  status = Evidence(request);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Head(), head + 5);
}

TEST_F(FollowUpTest, SessionEvidenceIsChecked) {
  ASSERT_TRUE(Evidence(EvidenceRequest("f1", "t1", "s1")).ok());
  const uint64_t head = Head();

  // Evidence from a non-attendee.
  ExpectRefused(Evidence(EvidenceRequest("f2", "t3", "s1")),
                grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.session_id", head);
  // Evidence dated before its session.
  ExpectRefused(
      Evidence(EvidenceRequest("f2", "t2", "s1", Day(10) - absl::Seconds(1))),
      grpc::StatusCode::FAILED_PRECONDITION, "occurred_at", head);
  // A session that was only planned, or is unknown.
  ExpectRefused(Evidence(EvidenceRequest("f2", "t1", "planned")),
                grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.session_id", head);
  ExpectRefused(Evidence(EvidenceRequest("f2", "t1", "nope")),
                grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.session_id", head);
  ExpectRefused(Evidence(EvidenceRequest("f2", "t1", "")),
                grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.target.session_id", head);
  // The id is taken.
  ExpectRefused(Evidence(EvidenceRequest("f1", "t2", "s1")),
                grpc::StatusCode::ALREADY_EXISTS, "follow_up.follow_up_id",
                head);
  ExpectRefused(Evidence(EvidenceRequest("", "t2", "s1")),
                grpc::StatusCode::INVALID_ARGUMENT, "follow_up.follow_up_id",
                head);
  // An unknown staff member.
  ExpectRefused(Evidence(EvidenceRequest("f2", "nobody", "s1")),
                grpc::StatusCode::FAILED_PRECONDITION, "follow_up.staff_id",
                head);
  // No target.
  auto request = EvidenceRequest("f2", "t2", "s1");
  request.mutable_follow_up()->clear_target();
  ExpectRefused(Evidence(request), grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.target", head);
  // No evidence kind.
  request = EvidenceRequest("f2", "t2", "s1");
  request.mutable_follow_up()->clear_evidence_kind();
  ExpectRefused(Evidence(request), grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.evidence_kind", head);
  // Oversized description.
  request = EvidenceRequest("f2", "t2", "s1");
  request.mutable_follow_up()->mutable_description()->set_text(
      std::string(4001, 'x'));
  ExpectRefused(Evidence(request), grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.description.text", head);
  // A retired or unknown area.
  request = EvidenceRequest("f2", "t2", "s1");
  request.mutable_follow_up()->add_areas("literacy");
  ExpectRefused(Evidence(request), grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.areas[1]", head);
  request.mutable_follow_up()->set_areas(1, "oracy");
  ExpectRefused(Evidence(request), grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.areas[1]", head);
  // An unset mechanism.
  request = EvidenceRequest("f2", "t2", "s1");
  request.mutable_follow_up()->add_mechanisms(cpd::MECHANISM_UNSPECIFIED);
  ExpectRefused(Evidence(request), grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.mechanisms[1]", head);
}

TEST_F(FollowUpTest, OtherTargetsMustBeTheStaffMembers) {
  const uint64_t head = Head();
  auto request = EvidenceRequest("f1", "t2", "", Day(12));
  request.mutable_follow_up()->mutable_target()->set_goal_id("g1");
  ExpectRefused(Evidence(request), grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.goal_id", head);
  request.mutable_follow_up()->mutable_target()->set_goal_id("g2");
  ExpectRefused(Evidence(request), grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.goal_id", head);

  request = EvidenceRequest("f1", "t2", "", Day(12));
  auto* point = request.mutable_follow_up()
                    ->mutable_target()
                    ->mutable_observation_point();
  point->set_observation_id("o1");
  point->set_area("questioning");
  ExpectRefused(Evidence(request), grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.observation_point.observation_id", head);
  request.mutable_follow_up()->set_staff_id("t1");
  point->set_area("behaviour");  // Not a development point of o1.
  ExpectRefused(Evidence(request), grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.observation_point.area", head);
  point->clear_area();
  ExpectRefused(Evidence(request), grpc::StatusCode::INVALID_ARGUMENT,
                "follow_up.target.observation_point.area", head);
  point->set_area("questioning");
  point->set_observation_id("o2");
  ExpectRefused(Evidence(request), grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.observation_point.observation_id", head);

  request = EvidenceRequest("f1", "t2", "", Day(12));
  request.mutable_follow_up()->mutable_target()->set_coaching_conversation_id(
      "c1");
  ExpectRefused(Evidence(request), grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.coaching_conversation_id", head);
  request.mutable_follow_up()->mutable_target()->set_coaching_conversation_id(
      "c2");
  ExpectRefused(Evidence(request), grpc::StatusCode::FAILED_PRECONDITION,
                "follow_up.target.coaching_conversation_id", head);
}

// ------------------------------------------------------------------ Findings

TEST_F(ProgrammeTest, EnquiryFindingsAreChecked) {
  LaunchProgrammes();
  RetireArea("literacy");
  uint64_t head = Head();
  grpc::Status status = Findings(FindingsRequest("enquiry"));
  ASSERT_TRUE(status.ok()) << status.error_message();
  // An enquiry may share findings more than once.
  status = Findings(FindingsRequest("enquiry"));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Head(), head + 2);
  head = Head();

  ExpectRefused(Findings(FindingsRequest("mastery")),
                grpc::StatusCode::FAILED_PRECONDITION, "findings.programme_id",
                head);
  ExpectRefused(Findings(FindingsRequest("nope")),
                grpc::StatusCode::FAILED_PRECONDITION, "findings.programme_id",
                head);
  ExpectRefused(Findings(FindingsRequest("")),
                grpc::StatusCode::INVALID_ARGUMENT, "findings.programme_id",
                head);
  auto request = FindingsRequest("enquiry");
  request.mutable_findings()->clear_summary();
  ExpectRefused(Findings(request), grpc::StatusCode::INVALID_ARGUMENT,
                "findings.summary", head);
  request.mutable_findings()->set_summary(std::string(4001, 'x'));
  ExpectRefused(Findings(request), grpc::StatusCode::INVALID_ARGUMENT,
                "findings.summary", head);
  request = FindingsRequest("enquiry");
  request.mutable_findings()->add_areas("literacy");
  ExpectRefused(Findings(request), grpc::StatusCode::INVALID_ARGUMENT,
                "findings.areas[1]", head);
}

TEST_F(ProgrammeTest, TrustsAreSeparate) {
  LaunchProgrammes();
  cpd::RecordResponse response;
  grpc::Status status = programme_->RecordSessionHeld(
      Context("other-trust").get(), HeldRequest("s1", "mastery", {"t1"}),
      &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ViolatedField(status), "tenant");
  EXPECT_EQ(Head("other-trust"), 0u);
}

}  // namespace
}  // namespace throughline::testing
