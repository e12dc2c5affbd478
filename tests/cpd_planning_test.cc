// PlanningService rules: improvement priorities, CPD time and money,
// training needs, decisions and evaluations. Every refusal is checked for its
// code, its field (message prefix and FieldViolation) and that nothing was
// appended.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cpd_fixture.h"

namespace throughline::testing {
namespace {

using ::testing::StartsWith;

constexpr absl::Duration kDay = absl::Hours(24);

class PlanningTest : public CpdFixture {
 protected:
  void AddServices(services::cpd::CommandRunner* runner,
                   std::vector<std::unique_ptr<grpc::Service>>* out) override {
    out->push_back(std::make_unique<services::cpd::PlanningService>(runner));
    out->push_back(
        std::make_unique<services::cpd::CpdProgrammeService>(runner));
  }

  void SetUp() override {
    CpdFixture::SetUp();
    planning_ = cpd::PlanningService::NewStub(channel());
    programmes_ = cpd::CpdProgrammeService::NewStub(channel());
  }

  // Expects `status` OK with exactly one event appended.
  void ExpectRecorded(const grpc::Status& status,
                      const cpd::RecordResponse& response,
                      uint64_t head_before) {
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.already_applied());
    EXPECT_EQ(response.event_ids_size(), 1);
    EXPECT_EQ(response.first_position(), head_before + 1);
    EXPECT_EQ(response.last_position(), head_before + 1);
    EXPECT_EQ(Head(), head_before + 1);
  }

  // Each call sends `request` with a fresh context.
  grpc::Status Call(const cpd::AdoptImprovementPriorityRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->AdoptImprovementPriority(Context().get(), request,
                                               response);
  }
  grpc::Status Call(const cpd::CloseImprovementPriorityRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->CloseImprovementPriority(Context().get(), request,
                                               response);
  }
  grpc::Status Call(const cpd::AllocateCpdTimeRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->AllocateCpdTime(Context().get(), request, response);
  }
  grpc::Status Call(const cpd::RecordMeetingTimeRepurposedRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->RecordMeetingTimeRepurposed(Context().get(), request,
                                                  response);
  }
  grpc::Status Call(const cpd::SetCpdBudgetRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->SetCpdBudget(Context().get(), request, response);
  }
  grpc::Status Call(const cpd::RecordCpdSpendRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->RecordCpdSpend(Context().get(), request, response);
  }
  grpc::Status Call(const cpd::IdentifyTrainingNeedRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->IdentifyTrainingNeed(Context().get(), request, response);
  }
  grpc::Status Call(const cpd::RecordCpdDecisionRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->RecordCpdDecision(Context().get(), request, response);
  }
  grpc::Status Call(const cpd::RecordImpactEvaluationRequest& request,
                    cpd::RecordResponse* response) {
    return planning_->RecordImpactEvaluation(Context().get(), request,
                                             response);
  }

  // Sends `base` changed by `change` and expects the refusal.
  template <typename Request>
  void ExpectRefusedChange(const Request& base,
                           const std::function<void(Request&)>& change,
                           grpc::StatusCode code, const std::string& field) {
    Request request = base;
    request.set_request_id(NewRequestId());
    change(request);
    const uint64_t head = Head();
    cpd::RecordResponse response;
    ExpectRefused(Call(request, &response), code, field, head);
  }

  // Sends `request` under a fresh request id and expects it recorded.
  template <typename Request>
  void ExpectAccepted(Request request) {
    request.set_request_id(NewRequestId());
    const uint64_t head = Head();
    cpd::RecordResponse response;
    ExpectRecorded(Call(request, &response), response, head);
  }

  // Sends `request` twice under one request id: the second call appends
  // nothing and returns the first outcome.
  template <typename Request>
  void ExpectIdempotent(Request request) {
    request.set_request_id(NewRequestId());
    const uint64_t head = Head();
    cpd::RecordResponse first, again;
    ExpectRecorded(Call(request, &first), first, head);
    grpc::Status status = Call(request, &again);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(again.already_applied());
    ASSERT_EQ(again.event_ids_size(), 1);
    EXPECT_EQ(again.event_ids(0), first.event_ids(0));
    EXPECT_EQ(again.first_position(), first.first_position());
    EXPECT_EQ(again.last_position(), first.last_position());
    EXPECT_EQ(Head(), head + 1);
  }

  static cpd::AdoptImprovementPriorityRequest Priority(
      const std::string& id, const std::string& school_id = "") {
    cpd::AdoptImprovementPriorityRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt() + kDay, request.mutable_occurred_at());
    cpd::ImprovementPriorityAdopted* priority = request.mutable_priority();
    priority->set_priority_id(id);
    priority->set_school_id(school_id);
    priority->set_academic_year("2025-26");
    priority->set_title("Better questioning in every lesson");
    priority->add_areas("questioning");
    priority->add_areas("formative-assessment");
    return request;
  }

  static cpd::CloseImprovementPriorityRequest Close(const std::string& id) {
    cpd::CloseImprovementPriorityRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt() + 100 * kDay, request.mutable_occurred_at());
    request.mutable_close()->set_priority_id(id);
    request.mutable_close()->set_reason("Achieved");
    return request;
  }

  static cpd::AllocateCpdTimeRequest Allocation() {
    cpd::AllocateCpdTimeRequest request;
    request.set_request_id(NewRequestId());
    cpd::CpdTimeAllocated* allocation = request.mutable_allocation();
    allocation->set_school_id("north");
    SetTime(RegisteredAt(), allocation->mutable_period_start());
    SetTime(RegisteredAt() + 120 * kDay, allocation->mutable_period_end());
    allocation->set_minutes_per_staff_member(600);
    return request;
  }

  static cpd::RecordMeetingTimeRepurposedRequest Repurposed() {
    cpd::RecordMeetingTimeRepurposedRequest request;
    request.set_request_id(NewRequestId());
    request.mutable_repurposed()->set_school_id("north");
    request.mutable_repurposed()->set_minutes(60);
    request.mutable_repurposed()->set_reason("Ofsted preparation");
    return request;
  }

  static cpd::SetCpdBudgetRequest Budget() {
    cpd::SetCpdBudgetRequest request;
    request.set_request_id(NewRequestId());
    request.mutable_budget()->set_school_id("south");
    request.mutable_budget()->set_academic_year("2025-26");
    request.mutable_budget()->set_amount_pence(1500000);
    return request;
  }

  static cpd::RecordCpdSpendRequest Spend(const std::string& id) {
    cpd::RecordCpdSpendRequest request;
    request.set_request_id(NewRequestId());
    cpd::CpdSpendRecorded* spend = request.mutable_spend();
    spend->set_spend_id(id);
    spend->set_school_id("north");
    spend->set_amount_pence(25000);
    spend->set_description("Questioning course for maths");
    spend->add_areas("questioning");
    return request;
  }

  static cpd::IdentifyTrainingNeedRequest Need(const std::string& id) {
    cpd::IdentifyTrainingNeedRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt() + 10 * kDay, request.mutable_occurred_at());
    cpd::TrainingNeedIdentified* need = request.mutable_need();
    need->set_need_id(id);
    need->mutable_scope()->set_staff_id("t1");
    need->set_area("questioning");
    need->set_identified_by_staff_id("t2");
    cpd::EvidenceReference* evidence = need->add_evidence();
    evidence->add_record_ids("obs-1");
    evidence->set_summary("Two drop-ins");
    return request;
  }

  // A decision whose evidence was read at the current log head.
  cpd::RecordCpdDecisionRequest DecisionRequest(const std::string& id) {
    cpd::RecordCpdDecisionRequest request;
    request.set_request_id(NewRequestId());
    cpd::CpdDecisionRecorded* decision = request.mutable_decision();
    decision->set_decision_id(id);
    decision->set_decided_by_staff_id("t3");
    decision->set_decision("Launch a questioning programme in north");
    decision->set_rationale("Questioning is emergent in three silos.");
    decision->add_alternatives_considered("One-off INSET day");
    decision->add_alternatives_considered("Do nothing this term");
    decision->add_areas("questioning");
    cpd::EvidenceReference* evidence = decision->add_evidence();
    evidence->set_view("emergent-needs");
    (*evidence->mutable_parameters())["scope"] = "school:north";
    (*evidence->mutable_parameters())["from"] = "2025-09-01T00:00:00Z";
    evidence->set_log_position(Head());
    evidence->set_summary("Questioning ranked first");
    return request;
  }

  static cpd::RecordImpactEvaluationRequest Evaluation(
      const std::string& id, const std::string& programme_id,
      const std::string& session_id) {
    cpd::RecordImpactEvaluationRequest request;
    request.set_request_id(NewRequestId());
    cpd::ImpactEvaluated* evaluation = request.mutable_evaluation();
    evaluation->set_evaluation_id(id);
    evaluation->set_programme_id(programme_id);
    evaluation->set_session_id(session_id);
    evaluation->set_level(cpd::EVALUATION_LEVEL_LEARNING);
    evaluation->set_finding("Attendees could name three questioning moves.");
    return request;
  }

  void LaunchProgramme(const std::string& id) {
    cpd::LaunchProgrammeRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt() + kDay, request.mutable_occurred_at());
    cpd::ProgrammeLaunched* programme = request.mutable_programme();
    programme->set_programme_id(id);
    programme->set_title("Questioning mastery");
    programme->add_areas("questioning");
    programme->set_kind(cpd::PROGRAMME_KIND_MASTERY);
    programme->set_owner_staff_id("t3");
    programme->set_follow_up_days(14);
    programme->set_school_id("north");
    cpd::RecordResponse response;
    grpc::Status status =
        programmes_->LaunchProgramme(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void PlanSession(const std::string& id, const std::string& programme_id) {
    cpd::PlanSessionRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt() + 2 * kDay, request.mutable_occurred_at());
    cpd::SessionPlanned* session = request.mutable_session();
    session->set_session_id(id);
    session->set_programme_id(programme_id);
    session->set_title("Hinge questions");
    session->add_areas("questioning");
    session->set_facilitator_staff_id("t3");
    SetTime(RegisteredAt() + 20 * kDay, session->mutable_scheduled_for());
    session->set_minutes(60);
    session->add_mechanisms(cpd::MECHANISM_C_MODELLING);
    cpd::RecordResponse response;
    grpc::Status status =
        programmes_->PlanSession(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void HoldSession(const std::string& id, const std::string& programme_id,
                   absl::Time at) {
    cpd::RecordSessionHeldRequest request;
    request.set_request_id(NewRequestId());
    SetTime(at, request.mutable_occurred_at());
    cpd::SessionHeld* session = request.mutable_session();
    session->set_session_id(id);
    session->set_programme_id(programme_id);
    session->set_title("Hinge questions");
    session->add_areas("questioning");
    session->set_facilitator_staff_id("t3");
    session->set_minutes(60);
    session->add_attendee_staff_ids("t1");
    session->add_attendee_staff_ids("t2");
    session->set_cost_pence(0);
    session->add_mechanisms(cpd::MECHANISM_C_MODELLING);
    cpd::RecordResponse response;
    grpc::Status status =
        programmes_->RecordSessionHeld(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::unique_ptr<cpd::PlanningService::Stub> planning_;
  std::unique_ptr<cpd::CpdProgrammeService::Stub> programmes_;
};

using Code = grpc::StatusCode;
using Adopt = cpd::AdoptImprovementPriorityRequest;
using CloseRequest = cpd::CloseImprovementPriorityRequest;
using AllocateRequest = cpd::AllocateCpdTimeRequest;
using RepurposeRequest = cpd::RecordMeetingTimeRepurposedRequest;
using BudgetRequest = cpd::SetCpdBudgetRequest;
using SpendRequest = cpd::RecordCpdSpendRequest;
using NeedRequest = cpd::IdentifyTrainingNeedRequest;
using DecideRequest = cpd::RecordCpdDecisionRequest;
using EvaluateRequest = cpd::RecordImpactEvaluationRequest;

// ------------------------------------------------------------ Common rules

TEST_F(PlanningTest, UnregisteredTrustIsRefused) {
  cpd::RecordResponse response;
  ExpectRefused(Call(Budget(), &response), Code::FAILED_PRECONDITION, "tenant",
                0);
}

TEST_F(PlanningTest, ReusedRequestIdForAnotherRequestIsRefused) {
  SeedTrust();
  cpd::SetCpdBudgetRequest request = Budget();
  cpd::RecordResponse response;
  ASSERT_TRUE(Call(request, &response).ok());
  const uint64_t head = Head();
  request.mutable_budget()->set_amount_pence(1);
  ExpectRefused(Call(request, &response), Code::ALREADY_EXISTS, "request_id",
                head);
}

TEST_F(PlanningTest, EveryRecordRetriesIdempotently) {
  SeedTrust();
  LaunchProgramme("prog-q");
  HoldSession("sess-1", "prog-q", RegisteredAt() + 20 * kDay);
  ExpectIdempotent(Priority("p1", "north"));
  ExpectIdempotent(Close("p1"));
  ExpectIdempotent(Allocation());
  ExpectIdempotent(Repurposed());
  ExpectIdempotent(Budget());
  ExpectIdempotent(Spend("s1"));
  ExpectIdempotent(Need("n1"));
  ExpectIdempotent(DecisionRequest("d1"));
  ExpectIdempotent(Evaluation("e1", "", "sess-1"));
}

// ------------------------------------------------------------ Priorities

TEST_F(PlanningTest, PrioritiesForTheTrustOrASchool) {
  SeedTrust();
  ExpectAccepted(Priority("p-trust"));
  ExpectAccepted(Priority("p-north", "north"));
  Adopt next_year = Priority("p-2026", "south");
  next_year.mutable_priority()->set_academic_year("2026-27");
  ExpectAccepted(next_year);
  Adopt century = Priority("p-2099");
  century.mutable_priority()->set_academic_year("2099-00");
  ExpectAccepted(century);
}

TEST_F(PlanningTest, AdoptingAPriorityIsChecked) {
  SeedTrust();
  ExpectAccepted(Priority("p1"));
  RetireArea("literacy");
  const Adopt base = Priority("p2", "north");
  auto refused = [&](std::function<void(Adopt&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<Adopt>(base, change, code, field);
  };
  auto p = [](Adopt& r) { return r.mutable_priority(); };
  refused([&](Adopt& r) { p(r)->set_priority_id(""); }, Code::INVALID_ARGUMENT,
          "priority.priority_id");
  refused([&](Adopt& r) { p(r)->set_priority_id("bad id"); },
          Code::INVALID_ARGUMENT, "priority.priority_id");
  refused([&](Adopt& r) { p(r)->set_priority_id("p1"); }, Code::ALREADY_EXISTS,
          "priority.priority_id");
  refused([&](Adopt& r) { p(r)->set_school_id("east"); },
          Code::FAILED_PRECONDITION, "priority.school_id");
  refused([&](Adopt& r) { p(r)->set_school_id("no/such"); },
          Code::INVALID_ARGUMENT, "priority.school_id");
  for (const char* year :
       {"", "2025", "2025-2026", "2025/26", "2025-27", "2025-25", "25-26",
        "202a-26", "2025-2a", " 2025-26"}) {
    refused([&](Adopt& r) { p(r)->set_academic_year(year); },
            Code::INVALID_ARGUMENT, "priority.academic_year");
  }
  refused([&](Adopt& r) { p(r)->clear_title(); }, Code::INVALID_ARGUMENT,
          "priority.title");
  refused([&](Adopt& r) { p(r)->set_title(std::string(201, 'x')); },
          Code::INVALID_ARGUMENT, "priority.title");
  refused([&](Adopt& r) { p(r)->clear_areas(); }, Code::INVALID_ARGUMENT,
          "priority.areas");
  refused([&](Adopt& r) { p(r)->set_areas(1, "questionning"); },
          Code::INVALID_ARGUMENT, "priority.areas[1]");
  refused([&](Adopt& r) { p(r)->set_areas(0, "literacy"); },
          Code::INVALID_ARGUMENT, "priority.areas[0]");
  refused([&](Adopt& r) { p(r)->set_areas(1, "questioning"); },
          Code::INVALID_ARGUMENT, "priority.areas[1]");
  // The longest title is fine.
  Adopt longest = base;
  longest.mutable_priority()->set_title(std::string(200, 'x'));
  ExpectAccepted(longest);
}

TEST_F(PlanningTest, ClosingAPriorityIsChecked) {
  SeedTrust();
  ExpectAccepted(Priority("p1"));
  ExpectAccepted(Priority("p2", "south"));
  const CloseRequest base = Close("p1");
  auto refused = [&](std::function<void(CloseRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<CloseRequest>(base, change, code, field);
  };
  refused([](CloseRequest& r) { r.mutable_close()->clear_priority_id(); },
          Code::INVALID_ARGUMENT, "close.priority_id");
  refused([](CloseRequest& r) { r.mutable_close()->set_priority_id("p 1"); },
          Code::INVALID_ARGUMENT, "close.priority_id");
  refused([](CloseRequest& r) { r.mutable_close()->set_priority_id("p9"); },
          Code::FAILED_PRECONDITION, "close.priority_id");
  refused(
      [](CloseRequest& r) {
        r.mutable_close()->set_reason(std::string(501, 'r'));
      },
      Code::INVALID_ARGUMENT, "close.reason");

  ExpectAccepted(base);
  refused([](CloseRequest&) {}, Code::FAILED_PRECONDITION, "close.priority_id");
  // Without a reason is fine.
  CloseRequest other = Close("p2");
  other.mutable_close()->clear_reason();
  ExpectAccepted(other);
  // A closed priority's id stays taken.
  refused([](CloseRequest&) {}, Code::FAILED_PRECONDITION, "close.priority_id");
  ExpectRefusedChange<Adopt>(
      Priority("p1"), [](Adopt&) {}, Code::ALREADY_EXISTS,
      "priority.priority_id");
}

// ------------------------------------------------------------ Time

TEST_F(PlanningTest, AllocatingCpdTimeIsChecked) {
  SeedTrust();
  ExpectAccepted(Allocation());
  AllocateRequest south = Allocation();
  south.mutable_allocation()->set_school_id("south");
  south.mutable_allocation()->set_minutes_per_staff_member(1);
  ExpectAccepted(south);

  const AllocateRequest base = Allocation();
  auto refused = [&](std::function<void(AllocateRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<AllocateRequest>(base, change, code, field);
  };
  auto a = [](AllocateRequest& r) { return r.mutable_allocation(); };
  refused([&](AllocateRequest& r) { a(r)->clear_school_id(); },
          Code::INVALID_ARGUMENT, "allocation.school_id");
  refused([&](AllocateRequest& r) { a(r)->set_school_id("east"); },
          Code::FAILED_PRECONDITION, "allocation.school_id");
  refused([&](AllocateRequest& r) { a(r)->clear_period_start(); },
          Code::INVALID_ARGUMENT, "allocation.period_start");
  refused(
      [&](AllocateRequest& r) { a(r)->mutable_period_start()->set_nanos(-1); },
      Code::INVALID_ARGUMENT, "allocation.period_start");
  refused([&](AllocateRequest& r) { a(r)->clear_period_end(); },
          Code::INVALID_ARGUMENT, "allocation.period_end");
  refused(
      [&](AllocateRequest& r) {
        a(r)->mutable_period_end()->set_seconds(253402300800);
      },
      Code::INVALID_ARGUMENT, "allocation.period_end");
  refused(
      [&](AllocateRequest& r) {
        *a(r)->mutable_period_end() = a(r)->period_start();
      },
      Code::INVALID_ARGUMENT, "allocation.period_end");
  refused(
      [&](AllocateRequest& r) {
        SetTime(RegisteredAt() - kDay, a(r)->mutable_period_end());
      },
      Code::INVALID_ARGUMENT, "allocation.period_end");
  refused([&](AllocateRequest& r) { a(r)->set_minutes_per_staff_member(0); },
          Code::INVALID_ARGUMENT, "allocation.minutes_per_staff_member");
}

TEST_F(PlanningTest, RepurposingMeetingTimeIsChecked) {
  SeedTrust();
  ExpectAccepted(Repurposed());
  RepurposeRequest no_reason = Repurposed();
  no_reason.mutable_repurposed()->clear_reason();
  no_reason.mutable_repurposed()->set_minutes(1);
  ExpectAccepted(no_reason);

  const RepurposeRequest base = Repurposed();
  auto refused = [&](std::function<void(RepurposeRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<RepurposeRequest>(base, change, code, field);
  };
  refused(
      [](RepurposeRequest& r) { r.mutable_repurposed()->clear_school_id(); },
      Code::INVALID_ARGUMENT, "repurposed.school_id");
  refused(
      [](RepurposeRequest& r) {
        r.mutable_repurposed()->set_school_id("east");
      },
      Code::FAILED_PRECONDITION, "repurposed.school_id");
  refused([](RepurposeRequest& r) { r.mutable_repurposed()->set_minutes(0); },
          Code::INVALID_ARGUMENT, "repurposed.minutes");
  refused(
      [](RepurposeRequest& r) {
        r.mutable_repurposed()->set_reason(std::string(501, 'r'));
      },
      Code::INVALID_ARGUMENT, "repurposed.reason");
}

// ------------------------------------------------------------ Money

TEST_F(PlanningTest, SettingABudgetIsChecked) {
  SeedTrust();
  ExpectAccepted(Budget());
  BudgetRequest zero = Budget();
  zero.mutable_budget()->set_amount_pence(0);
  ExpectAccepted(zero);  // A budget may be set again, e.g. cut to nothing.

  const BudgetRequest base = Budget();
  auto refused = [&](std::function<void(BudgetRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<BudgetRequest>(base, change, code, field);
  };
  refused([](BudgetRequest& r) { r.mutable_budget()->clear_school_id(); },
          Code::INVALID_ARGUMENT, "budget.school_id");
  refused([](BudgetRequest& r) { r.mutable_budget()->set_school_id("east"); },
          Code::FAILED_PRECONDITION, "budget.school_id");
  refused([](BudgetRequest& r) { r.mutable_budget()->clear_academic_year(); },
          Code::INVALID_ARGUMENT, "budget.academic_year");
  refused(
      [](BudgetRequest& r) {
        r.mutable_budget()->set_academic_year("2025-27");
      },
      Code::INVALID_ARGUMENT, "budget.academic_year");
  refused([](BudgetRequest& r) { r.mutable_budget()->set_amount_pence(-1); },
          Code::INVALID_ARGUMENT, "budget.amount_pence");
}

TEST_F(PlanningTest, RecordingSpendIsChecked) {
  SeedTrust();
  ExpectAccepted(Spend("s1"));
  SpendRequest bare = Spend("s2");
  bare.mutable_spend()->clear_areas();
  bare.mutable_spend()->clear_description();
  bare.mutable_spend()->set_amount_pence(0);
  ExpectAccepted(bare);
  RetireArea("literacy");

  const SpendRequest base = Spend("s3");
  auto refused = [&](std::function<void(SpendRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<SpendRequest>(base, change, code, field);
  };
  auto s = [](SpendRequest& r) { return r.mutable_spend(); };
  refused([&](SpendRequest& r) { s(r)->clear_spend_id(); },
          Code::INVALID_ARGUMENT, "spend.spend_id");
  refused([&](SpendRequest& r) { s(r)->set_spend_id(std::string(65, 's')); },
          Code::INVALID_ARGUMENT, "spend.spend_id");
  refused([&](SpendRequest& r) { s(r)->set_spend_id("s1"); },
          Code::ALREADY_EXISTS, "spend.spend_id");
  refused([&](SpendRequest& r) { s(r)->clear_school_id(); },
          Code::INVALID_ARGUMENT, "spend.school_id");
  refused([&](SpendRequest& r) { s(r)->set_school_id("east"); },
          Code::FAILED_PRECONDITION, "spend.school_id");
  refused([&](SpendRequest& r) { s(r)->set_amount_pence(-100); },
          Code::INVALID_ARGUMENT, "spend.amount_pence");
  refused(
      [&](SpendRequest& r) { s(r)->set_description(std::string(501, 'd')); },
      Code::INVALID_ARGUMENT, "spend.description");
  refused([&](SpendRequest& r) { s(r)->add_areas("astrology"); },
          Code::INVALID_ARGUMENT, "spend.areas[1]");
  refused([&](SpendRequest& r) { s(r)->set_areas(0, "literacy"); },
          Code::INVALID_ARGUMENT, "spend.areas[0]");
  refused([&](SpendRequest& r) { s(r)->set_programme_id("prog-none"); },
          Code::FAILED_PRECONDITION, "spend.programme_id");
  refused([&](SpendRequest& r) { s(r)->set_programme_id("prog none"); },
          Code::INVALID_ARGUMENT, "spend.programme_id");
  refused([&](SpendRequest& r) { s(r)->set_session_id("sess-none"); },
          Code::FAILED_PRECONDITION, "spend.session_id");
  refused([&](SpendRequest& r) { s(r)->set_session_id("sess\n"); },
          Code::INVALID_ARGUMENT, "spend.session_id");
}

TEST_F(PlanningTest, SpendCanNameAProgrammeAndASession) {
  SeedTrust();
  LaunchProgramme("prog-q");
  PlanSession("sess-planned", "prog-q");
  SpendRequest spend = Spend("s1");
  spend.mutable_spend()->set_programme_id("prog-q");
  spend.mutable_spend()->set_session_id("sess-planned");
  ExpectAccepted(spend);
}

// ------------------------------------------------------------ Needs

TEST_F(PlanningTest, NeedsForEveryKindOfScope) {
  SeedTrust();
  Leave("t6", RegisteredAt() + 5 * kDay);
  NeedRequest trust = Need("n-trust");
  trust.mutable_need()->mutable_scope()->set_trust(true);
  ExpectAccepted(trust);
  NeedRequest school = Need("n-school");
  school.mutable_need()->mutable_scope()->set_school_id("south");
  ExpectAccepted(school);
  NeedRequest department = Need("n-department");
  department.mutable_need()->mutable_scope()->set_department_id(
      "north-english");
  ExpectAccepted(department);
  ExpectAccepted(Need("n-staff"));
  // A leaver can still be the one who identified it, and can be named for a
  // time before they left.
  NeedRequest by_leaver = Need("n-leaver");
  by_leaver.mutable_need()->set_identified_by_staff_id("t6");
  by_leaver.mutable_need()->mutable_scope()->set_staff_id("t6");
  SetTime(RegisteredAt() + 4 * kDay, by_leaver.mutable_occurred_at());
  ExpectAccepted(by_leaver);
  NeedRequest no_evidence = Need("n-bare");
  no_evidence.mutable_need()->clear_evidence();
  no_evidence.clear_occurred_at();
  ExpectAccepted(no_evidence);
}

TEST_F(PlanningTest, IdentifyingANeedIsChecked) {
  SeedTrust();
  Leave("t6", RegisteredAt() + 5 * kDay);
  Join("t9", "north", {}, RegisteredAt() + 30 * kDay);
  ExpectAccepted(Need("n1"));
  RetireArea("literacy");

  const NeedRequest base = Need("n2");
  auto refused = [&](std::function<void(NeedRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<NeedRequest>(base, change, code, field);
  };
  auto n = [](NeedRequest& r) { return r.mutable_need(); };
  refused([&](NeedRequest& r) { n(r)->clear_need_id(); },
          Code::INVALID_ARGUMENT, "need.need_id");
  refused([&](NeedRequest& r) { n(r)->set_need_id("n1"); },
          Code::ALREADY_EXISTS, "need.need_id");
  refused([&](NeedRequest& r) { n(r)->clear_scope(); }, Code::INVALID_ARGUMENT,
          "need.scope");
  refused([&](NeedRequest& r) { n(r)->mutable_scope()->Clear(); },
          Code::INVALID_ARGUMENT, "need.scope");
  refused([&](NeedRequest& r) { n(r)->mutable_scope()->set_trust(false); },
          Code::INVALID_ARGUMENT, "need.scope.trust");
  refused([&](NeedRequest& r) { n(r)->mutable_scope()->set_school_id("east"); },
          Code::FAILED_PRECONDITION, "need.scope.school_id");
  refused([&](NeedRequest& r) { n(r)->mutable_scope()->set_school_id(""); },
          Code::INVALID_ARGUMENT, "need.scope.school_id");
  refused(
      [&](NeedRequest& r) {
        n(r)->mutable_scope()->set_department_id("east-maths");
      },
      Code::FAILED_PRECONDITION, "need.scope.department_id");
  refused(
      [&](NeedRequest& r) { n(r)->mutable_scope()->set_department_id("?"); },
      Code::INVALID_ARGUMENT, "need.scope.department_id");
  refused([&](NeedRequest& r) { n(r)->mutable_scope()->set_staff_id("t99"); },
          Code::FAILED_PRECONDITION, "need.scope.staff_id");
  // t6 had left by the need's time; t9 had not joined yet.
  refused([&](NeedRequest& r) { n(r)->mutable_scope()->set_staff_id("t6"); },
          Code::FAILED_PRECONDITION, "need.scope.staff_id");
  refused([&](NeedRequest& r) { n(r)->mutable_scope()->set_staff_id("t9"); },
          Code::FAILED_PRECONDITION, "need.scope.staff_id");
  refused([&](NeedRequest& r) { n(r)->clear_area(); }, Code::INVALID_ARGUMENT,
          "need.area");
  refused([&](NeedRequest& r) { n(r)->set_area("astrology"); },
          Code::INVALID_ARGUMENT, "need.area");
  refused([&](NeedRequest& r) { n(r)->set_area("literacy"); },
          Code::INVALID_ARGUMENT, "need.area");
  refused([&](NeedRequest& r) { n(r)->clear_identified_by_staff_id(); },
          Code::INVALID_ARGUMENT, "need.identified_by_staff_id");
  refused([&](NeedRequest& r) { n(r)->set_identified_by_staff_id("t99"); },
          Code::FAILED_PRECONDITION, "need.identified_by_staff_id");
  refused(
      [&](NeedRequest& r) {
        n(r)->mutable_evidence(0)->set_log_position(Head() + 1);
      },
      Code::INVALID_ARGUMENT, "need.evidence[0].log_position");
  refused(
      [&](NeedRequest& r) { n(r)->mutable_evidence(0)->add_record_ids(""); },
      Code::INVALID_ARGUMENT, "need.evidence[0].record_ids[1]");
}

// ------------------------------------------------------------ Decisions

TEST_F(PlanningTest, DecisionsCiteEvidenceUpToTheLogHead) {
  SeedTrust();
  LaunchProgramme("prog-q");
  DecideRequest decision = DecisionRequest("d1");
  decision.mutable_decision()->set_programme_id("prog-q");
  cpd::EvidenceReference* records = decision.mutable_decision()->add_evidence();
  records->add_record_ids("obs-1");
  records->add_record_ids("walk:2");
  const uint64_t head = Head();
  ASSERT_EQ(decision.decision().evidence(0).log_position(), head);
  ExpectAccepted(decision);

  // Position 1, the trust's first event, is always replayable.
  DecideRequest minimal = DecisionRequest("d2");
  cpd::CpdDecisionRecorded* d = minimal.mutable_decision();
  d->clear_alternatives_considered();
  d->clear_areas();
  d->mutable_evidence(0)->set_log_position(1);
  d->set_decision(std::string(1000, 'd'));
  d->set_rationale(std::string(4000, 'r'));
  ExpectAccepted(minimal);
}

TEST_F(PlanningTest, RecordingADecisionIsChecked) {
  SeedTrust();
  ExpectAccepted(DecisionRequest("d1"));
  RetireArea("literacy");

  const DecideRequest base = DecisionRequest("d2");
  const uint64_t checked_head = Head();
  auto refused = [&](std::function<void(DecideRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<DecideRequest>(base, change, code, field);
  };
  auto d = [](DecideRequest& r) { return r.mutable_decision(); };
  auto e = [](DecideRequest& r) {
    return r.mutable_decision()->mutable_evidence(0);
  };
  refused([&](DecideRequest& r) { d(r)->clear_decision_id(); },
          Code::INVALID_ARGUMENT, "decision.decision_id");
  refused([&](DecideRequest& r) { d(r)->set_decision_id("d1"); },
          Code::ALREADY_EXISTS, "decision.decision_id");
  refused([&](DecideRequest& r) { d(r)->clear_decided_by_staff_id(); },
          Code::INVALID_ARGUMENT, "decision.decided_by_staff_id");
  refused([&](DecideRequest& r) { d(r)->set_decided_by_staff_id("t99"); },
          Code::FAILED_PRECONDITION, "decision.decided_by_staff_id");
  refused([&](DecideRequest& r) { d(r)->clear_decision(); },
          Code::INVALID_ARGUMENT, "decision.decision");
  refused([&](DecideRequest& r) { d(r)->set_decision(std::string(1001, 'd')); },
          Code::INVALID_ARGUMENT, "decision.decision");
  refused([&](DecideRequest& r) { d(r)->clear_rationale(); },
          Code::INVALID_ARGUMENT, "decision.rationale");
  refused(
      [&](DecideRequest& r) { d(r)->set_rationale(std::string(4001, 'r')); },
      Code::INVALID_ARGUMENT, "decision.rationale");
  refused(
      [&](DecideRequest& r) {
        d(r)->set_alternatives_considered(1, std::string(501, 'a'));
      },
      Code::INVALID_ARGUMENT, "decision.alternatives_considered[1]");
  refused(
      [&](DecideRequest& r) {
        for (int i = 0; i < 499; ++i) d(r)->add_alternatives_considered("a");
      },
      Code::INVALID_ARGUMENT, "decision.alternatives_considered");
  refused([&](DecideRequest& r) { d(r)->add_areas("astrology"); },
          Code::INVALID_ARGUMENT, "decision.areas[1]");
  refused([&](DecideRequest& r) { d(r)->set_areas(0, "literacy"); },
          Code::INVALID_ARGUMENT, "decision.areas[0]");
  refused([&](DecideRequest& r) { d(r)->set_programme_id("prog-none"); },
          Code::FAILED_PRECONDITION, "decision.programme_id");
  refused([&](DecideRequest& r) { d(r)->set_programme_id("prog none"); },
          Code::INVALID_ARGUMENT, "decision.programme_id");

  // Evidence references.
  refused([&](DecideRequest& r) { e(r)->set_log_position(checked_head + 1); },
          Code::INVALID_ARGUMENT, "decision.evidence[0].log_position");
  refused(
      [&](DecideRequest& r) {
        *d(r)->add_evidence() = d(r)->evidence(0);
        d(r)->mutable_evidence(1)->set_log_position(uint64_t{1} << 40);
      },
      Code::INVALID_ARGUMENT, "decision.evidence[1].log_position");
  refused(
      [&](DecideRequest& r) {
        for (int i = 0; i < 500; ++i) d(r)->add_evidence()->set_summary("s");
      },
      Code::INVALID_ARGUMENT, "decision.evidence");
  refused(
      [&](DecideRequest& r) {
        for (int i = 0; i < 501; ++i) e(r)->add_record_ids("obs-1");
      },
      Code::INVALID_ARGUMENT, "decision.evidence[0].record_ids");
  refused([&](DecideRequest& r) { e(r)->set_view(std::string(65, 'v')); },
          Code::INVALID_ARGUMENT, "decision.evidence[0].view");
  refused([&](DecideRequest& r) { e(r)->set_summary(std::string(501, 's')); },
          Code::INVALID_ARGUMENT, "decision.evidence[0].summary");
  refused(
      [&](DecideRequest& r) {
        e(r)->add_record_ids("obs-1");
        e(r)->add_record_ids("obs 2");
      },
      Code::INVALID_ARGUMENT, "decision.evidence[0].record_ids[1]");
  refused(
      [&](DecideRequest& r) {
        for (int i = 0; i < 49; ++i) {
          (*e(r)->mutable_parameters())[absl::StrCat("k", i)] = "v";
        }
      },
      Code::INVALID_ARGUMENT, "decision.evidence[0].parameters");
  refused(
      [&](DecideRequest& r) {
        (*e(r)->mutable_parameters())["scope"] = std::string(201, 'v');
      },
      Code::INVALID_ARGUMENT, "decision.evidence[0].parameters");
  refused(
      [&](DecideRequest& r) {
        (*e(r)->mutable_parameters())[std::string(201, 'k')] = "v";
      },
      Code::INVALID_ARGUMENT, "decision.evidence[0].parameters");

  // At the limits.
  DecideRequest limits = base;
  auto& parameters =
      *limits.mutable_decision()->mutable_evidence(0)->mutable_parameters();
  for (int i = 0; i < 48; ++i) {
    std::string key = absl::StrCat(i, "-");
    key.resize(200, 'k');
    parameters[key] = std::string(200, 'v');
  }
  ASSERT_EQ(parameters.size(), 50u);
  limits.mutable_decision()->mutable_evidence(0)->set_view(
      std::string(64, 'v'));
  limits.mutable_decision()->mutable_evidence(0)->set_summary(
      std::string(500, 's'));
  ExpectAccepted(limits);
}

// ------------------------------------------------------------ Evaluations

TEST_F(PlanningTest, EvaluatingNeedsExactlyOneKnownTarget) {
  SeedTrust();
  const EvaluateRequest base = Evaluation("e1", "prog-none", "");
  auto refused = [&](std::function<void(EvaluateRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<EvaluateRequest>(base, change, code, field);
  };
  auto v = [](EvaluateRequest& r) { return r.mutable_evaluation(); };
  refused([](EvaluateRequest&) {}, Code::FAILED_PRECONDITION,
          "evaluation.programme_id");
  refused([&](EvaluateRequest& r) { v(r)->set_programme_id("prog none"); },
          Code::INVALID_ARGUMENT, "evaluation.programme_id");
  refused(
      [&](EvaluateRequest& r) {
        v(r)->clear_programme_id();
        v(r)->set_session_id("sess-none");
      },
      Code::FAILED_PRECONDITION, "evaluation.session_id");
  refused(
      [&](EvaluateRequest& r) {
        v(r)->clear_programme_id();
        v(r)->set_session_id("sess none");
      },
      Code::INVALID_ARGUMENT, "evaluation.session_id");
  refused([&](EvaluateRequest& r) { v(r)->clear_programme_id(); },
          Code::INVALID_ARGUMENT, "evaluation.programme_id");
  refused([&](EvaluateRequest& r) { v(r)->set_session_id("sess-none"); },
          Code::INVALID_ARGUMENT, "evaluation.programme_id");
  refused([&](EvaluateRequest& r) { v(r)->clear_evaluation_id(); },
          Code::INVALID_ARGUMENT, "evaluation.evaluation_id");
}

TEST_F(PlanningTest, RecordingAnEvaluationIsChecked) {
  SeedTrust();
  LaunchProgramme("prog-q");
  PlanSession("sess-planned", "prog-q");
  HoldSession("sess-held", "prog-q", RegisteredAt() + 20 * kDay);
  ExpectAccepted(Evaluation("e1", "prog-q", ""));
  EvaluateRequest session = Evaluation("e2", "", "sess-held");
  session.mutable_evaluation()->set_level(cpd::EVALUATION_LEVEL_PUPIL_OUTCOMES);
  cpd::EvidenceReference* evidence =
      session.mutable_evaluation()->add_evidence();
  evidence->set_view("impact");
  evidence->set_log_position(Head());
  SetTime(RegisteredAt() + 20 * kDay, session.mutable_occurred_at());
  ExpectAccepted(session);

  const EvaluateRequest base = Evaluation("e3", "", "sess-held");
  auto refused = [&](std::function<void(EvaluateRequest&)> change, Code code,
                     const std::string& field) {
    ExpectRefusedChange<EvaluateRequest>(base, change, code, field);
  };
  auto v = [](EvaluateRequest& r) { return r.mutable_evaluation(); };
  refused([&](EvaluateRequest& r) { v(r)->set_evaluation_id("e1"); },
          Code::ALREADY_EXISTS, "evaluation.evaluation_id");
  refused([&](EvaluateRequest& r) { v(r)->set_session_id("sess-planned"); },
          Code::FAILED_PRECONDITION, "evaluation.session_id");
  refused(
      [&](EvaluateRequest& r) {
        SetTime(RegisteredAt() + 19 * kDay, r.mutable_occurred_at());
      },
      Code::FAILED_PRECONDITION, "evaluation.session_id");
  refused([&](EvaluateRequest& r) { v(r)->clear_level(); },
          Code::INVALID_ARGUMENT, "evaluation.level");
  refused(
      [&](EvaluateRequest& r) {
        v(r)->set_level(static_cast<cpd::EvaluationLevel>(6));
      },
      Code::INVALID_ARGUMENT, "evaluation.level");
  refused([&](EvaluateRequest& r) { v(r)->clear_finding(); },
          Code::INVALID_ARGUMENT, "evaluation.finding");
  refused(
      [&](EvaluateRequest& r) { v(r)->set_finding(std::string(4001, 'f')); },
      Code::INVALID_ARGUMENT, "evaluation.finding");
  refused(
      [&](EvaluateRequest& r) {
        v(r)->add_evidence()->set_log_position(Head() + 1);
      },
      Code::INVALID_ARGUMENT, "evaluation.evidence[0].log_position");
}

}  // namespace
}  // namespace throughline::testing
