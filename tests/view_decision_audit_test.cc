// DecisionAudit view: each decision in window and scope with the views its
// evidence cites replayed as of the cited position and computed again now.
// The replayed views' own figures are tested in their own files; here we
// check which decisions are listed, the structure of each replay, and that
// each replay equals the view computed directly on the cut history.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/view_scenario.h"

namespace throughline::testing {
namespace {

namespace insights = ::throughline::insights::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time TimeOf(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

cpd::EvidenceReference ViewEvidence(
    const std::string& view, const std::map<std::string, std::string>& params,
    uint64_t log_position) {
  cpd::EvidenceReference reference;
  reference.set_view(view);
  reference.mutable_parameters()->insert(params.begin(), params.end());
  reference.set_log_position(log_position);
  reference.set_summary(absl::StrCat("the ", view, " view"));
  return reference;
}

cpd::EvidenceReference RecordEvidence(const std::vector<std::string>& ids) {
  cpd::EvidenceReference reference;
  for (const std::string& id : ids) reference.add_record_ids(id);
  reference.set_summary("the observations");
  return reference;
}

void Decide(Scenario& s, const std::string& decision_id,
            const std::string& decided_by, absl::Time at,
            const std::vector<cpd::EvidenceReference>& evidence) {
  cpd::CpdEvent event;
  cpd::CpdDecisionRecorded* d = event.mutable_cpd_decision_recorded();
  d->set_decision_id(decision_id);
  d->set_decided_by_staff_id(decided_by);
  d->set_decision(absl::StrCat("Decision ", decision_id));
  d->set_rationale("Three silos flag it");
  d->add_alternatives_considered("wait a term");
  d->add_alternatives_considered("buy a course");
  d->add_areas("questioning");
  for (const cpd::EvidenceReference& e : evidence) *d->add_evidence() = e;
  s.Add(at, event);
}

// The parameters cited: a window of September 2025, as of 1 October.
const std::map<std::string, std::string> kSeptember = {
    {"scope", "trust"},
    {"from", "2025-09-01T00:00:00Z"},
    {"to", "2025-10-01T00:00:00Z"},
    {"as_of_time", "2025-10-01T00:00:00Z"}};
const std::map<std::string, std::string> kSouthAutumn = {
    {"scope", "school:south"},
    {"from", "2025-09-01T00:00:00Z"},
    {"to", "2025-11-01T00:00:00Z"},
    {"as_of_time", "2025-11-01T00:00:00Z"}};

// The same as ViewParams, written out.
projections::ViewParams SeptemberParams(uint64_t position) {
  projections::ViewParams params =
      Params(Day(2025, 9, 1), Day(2025, 10, 1), Day(2025, 10, 1));
  params.as_of_position = position;
  return params;
}
projections::ViewParams SouthAutumnParams(uint64_t position) {
  projections::ViewParams params =
      Params(Day(2025, 9, 1), Day(2025, 11, 1), Day(2025, 11, 1),
             projections::Scope::School("south"));
  params.as_of_position = position;
  return params;
}

class DecisionAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s_.School("north", Day(2025, 9, 1));
    s_.School("south", Day(2025, 9, 1));
    s_.Department("maths", "north", Day(2025, 9, 1));
    s_.Department("drama", "south", Day(2025, 9, 1));
    s_.Join("lead_n", "north", {"maths"}, Day(2025, 9, 1));
    s_.Join("lead_s", "south", {}, Day(2025, 9, 1));
    for (const char* t : {"t1", "t2", "t3"}) {
      s_.Join(t, "north", {"maths"}, Day(2025, 9, 2));
    }
    s_.Join("t4", "south", {}, Day(2025, 9, 2));
    s_.Observe("o1", "t1", Day(2025, 9, 10), {"questioning"},
               {{"questioning", 2}});
    s_.Observe("o2", "t2", Day(2025, 9, 11), {"questioning"});
    s_.Coach("c1", "t3", "questioning", Day(2025, 9, 12));
    s_.Goal("g1", "t1", {"questioning"}, Day(2025, 9, 13));
    s_.Programme("P", {"questioning"}, Day(2025, 9, 20));
    s_.Session("S0", "P", {"questioning"}, {"t4"}, Day(2025, 9, 25),
               Day(2025, 10, 9));
    september_ = s_.head();
    // d1 cites the September views, a record list, an unknown view and a
    // view with no position.
    Decide(s_, "d1", "lead_n", Day(2025, 10, 10),
           {ViewEvidence("emergent-needs", kSeptember, september_),
            RecordEvidence({"o1", "o2"}),
            ViewEvidence("gossip", kSeptember, september_),
            ViewEvidence("impact", kSeptember, 0)});
    d1_ = s_.head();
    // Recorded after d1 at the same occurred time.
    Decide(s_, "d1b", "lead_n", Day(2025, 10, 10), {});
    s_.Session("S1", "P", {"questioning"}, {"t1", "t2", "t4"},
               Day(2025, 10, 20), Day(2025, 11, 3));
    s_.FollowUpSession("f1", "t4", "S0", Day(2025, 10, 21));
    autumn_ = s_.head();
    Decide(s_, "d2", "lead_s", Day(2025, 11, 10),
           {ViewEvidence("follow-through", kSouthAutumn, autumn_),
            ViewEvidence("connecting-the-dots", kSouthAutumn, autumn_),
            ViewEvidence("time-and-money", kSouthAutumn, autumn_),
            ViewEvidence("impact", kSouthAutumn, autumn_),
            ViewEvidence("programme-design", kSouthAutumn, autumn_),
            ViewEvidence("impact", {{"scope", "galaxy:far"}}, autumn_),
            ViewEvidence("emergent-needs", {{"scope", "trust"}}, autumn_)});
    s_.Move("lead_s", "north", {}, Day(2025, 11, 20));
    Decide(s_, "d3", "lead_s", Day(2025, 12, 5), {});
    s_.Observe("o3", "t3", Day(2025, 12, 6), {"questioning"});
    // Recorded late: decided in September.
    Decide(s_, "d0", "lead_n", Day(2025, 9, 30), {});
    // After the window.
    Decide(s_, "d4", "lead_n", Day(2026, 4, 1), {});
  }

  projections::ViewParams AuditParams(
      projections::Scope scope = projections::Scope::Trust()) const {
    projections::ViewParams params =
        Params(Day(2025, 9, 1), Day(2026, 3, 1), Day(2026, 3, 1), scope);
    params.as_of_position = s_.head();
    return params;
  }

  std::vector<std::string> Ids(const insights::DecisionAuditView& view) {
    std::vector<std::string> ids;
    for (const auto& d : view.decisions()) ids.push_back(d.decision_id());
    return ids;
  }

  absl::StatusOr<insights::DecisionAuditView> Audit(
      const projections::ViewParams& params, uint64_t position = UINT64_MAX) {
    return projections::DecisionAudit(s_.History(position), params);
  }

  Scenario s_;
  uint64_t september_ = 0;
  uint64_t d1_ = 0;
  uint64_t autumn_ = 0;
};

TEST_F(DecisionAuditTest, ListsDecisionsInWindowOldestFirst) {
  absl::StatusOr<insights::DecisionAuditView> view = Audit(AuditParams());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_TRUE(view->basis().scope().trust());
  EXPECT_EQ(view->basis().as_of_position(), s_.head());
  // d0 happened first though recorded late; d1b follows d1 by position; d4
  // is after the window.
  EXPECT_THAT(Ids(*view), ElementsAre("d0", "d1", "d1b", "d2", "d3"));

  const insights::AuditedDecision& d1 = view->decisions(1);
  EXPECT_EQ(TimeOf(d1.decided_at()), Day(2025, 10, 10));
  EXPECT_EQ(d1.position(), d1_);
  EXPECT_EQ(d1.decided_by_staff_id(), "lead_n");
  EXPECT_EQ(d1.decision(), "Decision d1");
  EXPECT_EQ(d1.rationale(), "Three silos flag it");
  EXPECT_THAT(d1.alternatives_considered(),
              ElementsAre("wait a term", "buy a course"));
  EXPECT_THAT(d1.areas(), ElementsAre("questioning"));
  ASSERT_EQ(d1.evidence_size(), 4);
  EXPECT_THAT(view->decisions(3).evidence(), ::testing::SizeIs(7));
  EXPECT_THAT(view->decisions(0).evidence(), IsEmpty());
}

TEST_F(DecisionAuditTest, ReplaysACitedViewThenAndNow) {
  const projections::ViewParams params = AuditParams();
  absl::StatusOr<insights::DecisionAuditView> view = Audit(params);
  ASSERT_TRUE(view.ok()) << view.status();
  const insights::ReplayedEvidence& evidence = view->decisions(1).evidence(0);

  // The reference as recorded.
  EXPECT_EQ(evidence.view(), "emergent-needs");
  EXPECT_EQ(evidence.log_position(), september_);
  EXPECT_EQ(evidence.summary(), "the emergent-needs view");
  const std::map<std::string, std::string> parameters(
      evidence.parameters().begin(), evidence.parameters().end());
  EXPECT_EQ(parameters, kSeptember);
  EXPECT_EQ(evidence.not_replayed_reason(), "");

  // Then: exactly the view as it was when the log ended at the position.
  ASSERT_EQ(evidence.then_case(),
            insights::ReplayedEvidence::kEmergentNeedsThen);
  EXPECT_EQ(evidence.emergent_needs_then().basis().as_of_position(),
            september_);
  EXPECT_TRUE(MessageDifferencer::Equals(
      evidence.emergent_needs_then(),
      projections::EmergentNeeds(s_.History(september_),
                                 SeptemberParams(september_))));

  // Now: the same scope and window, as of the audit's position and time.
  ASSERT_EQ(evidence.now_case(), insights::ReplayedEvidence::kEmergentNeedsNow);
  EXPECT_EQ(evidence.emergent_needs_now().basis().as_of_position(), s_.head());
  EXPECT_EQ(TimeOf(evidence.emergent_needs_now().basis().as_of_time()),
            Day(2026, 3, 1));
  EXPECT_EQ(TimeOf(evidence.emergent_needs_now().basis().from()),
            Day(2025, 9, 1));
  EXPECT_EQ(TimeOf(evidence.emergent_needs_now().basis().to()),
            Day(2025, 10, 1));
  projections::ViewParams now = SeptemberParams(s_.head());
  now.as_of_time = Day(2026, 3, 1);
  EXPECT_TRUE(MessageDifferencer::Equals(
      evidence.emergent_needs_now(),
      projections::EmergentNeeds(s_.History(), now)));
}

TEST_F(DecisionAuditTest, ReplaysEveryViewItComputes) {
  absl::StatusOr<insights::DecisionAuditView> view = Audit(AuditParams());
  ASSERT_TRUE(view.ok()) << view.status();
  const insights::AuditedDecision& d2 = view->decisions(3);
  ASSERT_EQ(d2.decision_id(), "d2");
  const projections::TrustHistory then = s_.History(autumn_);
  const projections::ViewParams then_params = SouthAutumnParams(autumn_);
  projections::ViewParams now_params = SouthAutumnParams(s_.head());
  now_params.as_of_time = Day(2026, 3, 1);
  const projections::TrustHistory head = s_.History();

  const insights::ReplayedEvidence& follow_through = d2.evidence(0);
  ASSERT_EQ(follow_through.then_case(),
            insights::ReplayedEvidence::kFollowThroughThen);
  ASSERT_EQ(follow_through.now_case(),
            insights::ReplayedEvidence::kFollowThroughNow);
  EXPECT_EQ(follow_through.follow_through_then().basis().scope().school_id(),
            "south");
  EXPECT_TRUE(MessageDifferencer::Equals(
      follow_through.follow_through_then(),
      projections::FollowThrough(then, then_params)));
  EXPECT_TRUE(
      MessageDifferencer::Equals(follow_through.follow_through_now(),
                                 projections::FollowThrough(head, now_params)));

  const insights::ReplayedEvidence& dots = d2.evidence(1);
  ASSERT_EQ(dots.then_case(),
            insights::ReplayedEvidence::kConnectingTheDotsThen);
  ASSERT_EQ(dots.now_case(), insights::ReplayedEvidence::kConnectingTheDotsNow);
  EXPECT_TRUE(MessageDifferencer::Equals(
      dots.connecting_the_dots_then(),
      projections::ConnectingTheDots(then, then_params)));
  EXPECT_TRUE(MessageDifferencer::Equals(
      dots.connecting_the_dots_now(),
      projections::ConnectingTheDots(head, now_params)));

  const insights::ReplayedEvidence& money = d2.evidence(2);
  ASSERT_EQ(money.then_case(), insights::ReplayedEvidence::kTimeAndMoneyThen);
  ASSERT_EQ(money.now_case(), insights::ReplayedEvidence::kTimeAndMoneyNow);
  EXPECT_TRUE(
      MessageDifferencer::Equals(money.time_and_money_then(),
                                 projections::TimeAndMoney(then, then_params)));
  EXPECT_TRUE(MessageDifferencer::Equals(
      money.time_and_money_now(), projections::TimeAndMoney(head, now_params)));

  const insights::ReplayedEvidence& impact = d2.evidence(3);
  ASSERT_EQ(impact.then_case(), insights::ReplayedEvidence::kImpactThen);
  ASSERT_EQ(impact.now_case(), insights::ReplayedEvidence::kImpactNow);
  EXPECT_TRUE(MessageDifferencer::Equals(
      impact.impact_then(), projections::Impact(then, then_params)));
  EXPECT_TRUE(MessageDifferencer::Equals(
      impact.impact_now(), projections::Impact(head, now_params)));

  const insights::ReplayedEvidence& design = d2.evidence(4);
  ASSERT_EQ(design.then_case(),
            insights::ReplayedEvidence::kProgrammeDesignThen);
  ASSERT_EQ(design.now_case(), insights::ReplayedEvidence::kProgrammeDesignNow);
  EXPECT_EQ(design.programme_design_then().basis().as_of_position(), autumn_);
  EXPECT_EQ(design.programme_design_now().basis().as_of_position(), s_.head());
  EXPECT_TRUE(MessageDifferencer::Equals(
      design.programme_design_then(),
      projections::ProgrammeDesign(then, then_params)));
  EXPECT_TRUE(MessageDifferencer::Equals(
      design.programme_design_now(),
      projections::ProgrammeDesign(head, now_params)));
}

TEST_F(DecisionAuditTest, SaysWhyEvidenceWasNotReplayed) {
  absl::StatusOr<insights::DecisionAuditView> view = Audit(AuditParams());
  ASSERT_TRUE(view.ok()) << view.status();
  const insights::AuditedDecision& d1 = view->decisions(1);
  const insights::AuditedDecision& d2 = view->decisions(3);

  const insights::ReplayedEvidence& records = d1.evidence(1);
  EXPECT_EQ(records.view(), "");
  EXPECT_THAT(records.record_ids(), ElementsAre("o1", "o2"));
  EXPECT_EQ(records.summary(), "the observations");
  EXPECT_EQ(records.then_case(), insights::ReplayedEvidence::THEN_NOT_SET);
  EXPECT_EQ(records.now_case(), insights::ReplayedEvidence::NOW_NOT_SET);
  EXPECT_EQ(records.not_replayed_reason(),
            "a reference to records, not to a view");

  const insights::ReplayedEvidence& unknown = d1.evidence(2);
  EXPECT_EQ(unknown.then_case(), insights::ReplayedEvidence::THEN_NOT_SET);
  EXPECT_EQ(unknown.now_case(), insights::ReplayedEvidence::NOW_NOT_SET);
  EXPECT_EQ(unknown.not_replayed_reason(),
            "\"gossip\" is not a view this service computes");

  const insights::ReplayedEvidence& no_position = d1.evidence(3);
  EXPECT_EQ(no_position.then_case(), insights::ReplayedEvidence::THEN_NOT_SET);
  EXPECT_EQ(no_position.now_case(), insights::ReplayedEvidence::NOW_NOT_SET);
  EXPECT_EQ(no_position.not_replayed_reason(), "cites no log position");

  const insights::ReplayedEvidence& bad_scope = d2.evidence(5);
  EXPECT_EQ(bad_scope.then_case(), insights::ReplayedEvidence::THEN_NOT_SET);
  EXPECT_EQ(bad_scope.now_case(), insights::ReplayedEvidence::NOW_NOT_SET);
  EXPECT_THAT(bad_scope.not_replayed_reason(), HasSubstr("galaxy:far"));

  const insights::ReplayedEvidence& no_window = d2.evidence(6);
  EXPECT_EQ(no_window.then_case(), insights::ReplayedEvidence::THEN_NOT_SET);
  EXPECT_THAT(no_window.not_replayed_reason(), HasSubstr("parameters.from"));
}

TEST_F(DecisionAuditTest, PositionBeyondTheAuditsIsNotReplayed) {
  projections::ViewParams params = AuditParams();
  params.as_of_position = september_ - 1;
  absl::StatusOr<insights::DecisionAuditView> view =
      projections::DecisionAudit(s_.History(), params);
  ASSERT_TRUE(view.ok()) << view.status();
  const insights::ReplayedEvidence& evidence = view->decisions(1).evidence(0);
  EXPECT_EQ(evidence.then_case(), insights::ReplayedEvidence::THEN_NOT_SET);
  EXPECT_EQ(evidence.now_case(), insights::ReplayedEvidence::NOW_NOT_SET);
  EXPECT_EQ(evidence.not_replayed_reason(),
            absl::StrCat("cites position ", september_,
                         ", beyond the audit's position ", september_ - 1));
}

TEST_F(DecisionAuditTest, ScopeIsTheDecidersAtTheDecisionTime) {
  // lead_s decided d2 in south, then moved to north (no department) and
  // decided d3 there.
  absl::StatusOr<insights::DecisionAuditView> view =
      Audit(AuditParams(projections::Scope::School("north")));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(Ids(*view), ElementsAre("d0", "d1", "d1b", "d3"));

  view = Audit(AuditParams(projections::Scope::School("south")));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(Ids(*view), ElementsAre("d2"));
  EXPECT_EQ(view->basis().scope().school_id(), "south");

  view = Audit(AuditParams(projections::Scope::Department("maths")));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(Ids(*view), ElementsAre("d0", "d1", "d1b"));

  view = Audit(AuditParams(projections::Scope::Department("drama")));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(view->decisions(), IsEmpty());
}

TEST_F(DecisionAuditTest, AsOfAnEarlierPositionGivesTheEarlierAnswer) {
  // As of d1: d1b, d2, d3 and the late-recorded d0 are not in the log yet,
  // and "now" is that position.
  projections::ViewParams params = AuditParams();
  params.as_of_position = d1_;
  params.as_of_time = Day(2025, 10, 11);
  absl::StatusOr<insights::DecisionAuditView> view = Audit(params, d1_);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(Ids(*view), ElementsAre("d1"));
  const insights::ReplayedEvidence& evidence = view->decisions(0).evidence(0);
  ASSERT_EQ(evidence.then_case(),
            insights::ReplayedEvidence::kEmergentNeedsThen);
  ASSERT_EQ(evidence.now_case(), insights::ReplayedEvidence::kEmergentNeedsNow);
  EXPECT_EQ(evidence.emergent_needs_then().basis().as_of_position(),
            september_);
  EXPECT_EQ(evidence.emergent_needs_now().basis().as_of_position(), d1_);
  projections::ViewParams now = SeptemberParams(d1_);
  now.as_of_time = Day(2025, 10, 11);
  EXPECT_TRUE(MessageDifferencer::Equals(
      evidence.emergent_needs_now(),
      projections::EmergentNeeds(s_.History(d1_), now)));
  // The replay of the past does not depend on when the audit is run.
  absl::StatusOr<insights::DecisionAuditView> later = Audit(AuditParams());
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_TRUE(MessageDifferencer::Equals(
      evidence.emergent_needs_then(),
      later->decisions(1).evidence(0).emergent_needs_then()));
}

}  // namespace
}  // namespace throughline::testing
