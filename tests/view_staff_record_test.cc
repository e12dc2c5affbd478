// StaffRecord view: one person's joined-up record across every silo, with
// hand-built scenarios and the expected record written out literally.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/view_scenario.h"

namespace throughline::testing {
namespace {

namespace insights = ::throughline::insights::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

absl::Time TimeOf(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

// A CPD decision by `decided_by` on `areas`, citing nothing.
void Decide(Scenario& s, const std::string& decision_id,
            const std::string& decided_by,
            const std::vector<std::string>& areas, absl::Time at) {
  cpd::CpdEvent event;
  cpd::CpdDecisionRecorded* d = event.mutable_cpd_decision_recorded();
  d->set_decision_id(decision_id);
  d->set_decided_by_staff_id(decided_by);
  d->set_decision("Launch a programme");
  for (const std::string& area : areas) d->add_areas(area);
  s.Add(at, event);
}

// A join naming a line manager.
void JoinManaged(Scenario& s, const std::string& staff_id,
                 const std::string& school_id, const std::string& manager_id,
                 absl::Time at) {
  cpd::CpdEvent event;
  cpd::StaffMemberJoined* joined = event.mutable_staff_member_joined();
  joined->set_staff_id(staff_id);
  joined->set_school_id(school_id);
  joined->set_role(cpd::STAFF_ROLE_EARLY_CAREER_TEACHER);
  joined->set_line_manager_id(manager_id);
  s.Add(at, event);
}

cpd::Scope StaffScope(const std::string& staff_id) {
  cpd::Scope scope;
  scope.set_staff_id(staff_id);
  return scope;
}

struct Entry {
  absl::Time occurred_at;
  uint64_t position;
  std::string type;
  std::string record_id;
  std::string role;
  std::vector<std::string> areas;
  std::string summary;
};

void ExpectTimeline(const insights::StaffRecordView& view,
                    const std::vector<Entry>& expected) {
  ASSERT_EQ(view.timeline_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "timeline entry " << i);
    const insights::TimelineEntry& got = view.timeline(static_cast<int>(i));
    EXPECT_EQ(TimeOf(got.occurred_at()), expected[i].occurred_at);
    EXPECT_EQ(got.position(), expected[i].position);
    EXPECT_EQ(got.type(), expected[i].type);
    EXPECT_EQ(got.record_id(), expected[i].record_id);
    EXPECT_EQ(got.role(), expected[i].role);
    EXPECT_EQ(std::vector<std::string>(got.areas().begin(), got.areas().end()),
              expected[i].areas);
    EXPECT_EQ(got.summary(), expected[i].summary);
  }
}

// The main scenario (docs/views/staff-record.md uses it). Positions 1-6 are
// the trust and its five areas.
Scenario MainScenario() {
  Scenario s;                                           // 1-6
  s.School("north", Day(2025, 9, 1));                   // 7
  s.School("south", Day(2025, 9, 1));                   // 8
  s.Department("maths", "north", Day(2025, 9, 1));      // 9
  s.Department("science", "north", Day(2025, 9, 1));    // 10
  s.Department("english", "south", Day(2025, 9, 1));    // 11
  s.Join("leader", "north", {}, Day(2025, 9, 1));       // 12
  s.Join("s1", "north", {"maths"}, Day(2025, 9, 2));    // 13
  s.Join("s2", "north", {"science"}, Day(2025, 9, 2));  // 14
  s.Join("s3", "north", {"maths"}, Day(2025, 9, 2));    // 15
  s.Observe("o1", "s1", Day(2025, 9, 10), {"questioning", "feedback"},
            {{"questioning", 2}}, "s2");                       // 16
  s.Goal("g1", "s1", {"questioning"}, Day(2025, 9, 15));       // 17
  s.Goal("g2", "s1", {"feedback"}, Day(2025, 9, 16));          // 18
  s.Goal("g3", "s1", {"literacy"}, Day(2025, 9, 17));          // 19
  s.Coach("c1", "s1", "questioning", Day(2025, 9, 20), "s2");  // 20
  s.Programme("p1", {"questioning"}, Day(2025, 9, 25));        // 21
  s.Session("ses1", "p1", {"questioning"}, {"s1", "s3"}, Day(2025, 10, 1),
            Day(2025, 10, 15));  // 22
  s.FollowUpSession("f1", "s1", "ses1", Day(2025, 10, 10),
                    {"questioning"});  // 23
  s.Session("ses2", "", {"feedback"}, {"s1"}, Day(2025, 11, 1),
            Day(2025, 11, 15));                                         // 24
  s.Move("s1", "south", {"english"}, Day(2025, 11, 20));                // 25
  s.Review("g2", cpd::GOAL_OUTCOME_MET, Day(2025, 12, 1));              // 26
  s.Review("g3", cpd::GOAL_OUTCOME_CARRIED_FORWARD, Day(2025, 12, 2));  // 27
  s.Observe("o2", "s1", Day(2025, 12, 5), {"behaviour"}, {}, "s2");     // 28
  s.Observe("o3", "s2", Day(2025, 12, 6), {"literacy"}, {}, "s1");      // 29
  s.Need("n1", StaffScope("s1"), "literacy", Day(2025, 12, 7));         // 30
  s.Session("ses3", "", {"behaviour"}, {"s1"}, Day(2025, 12, 10),
            Day(2026, 2, 1));       // 31
  s.Leave("s1", Day(2026, 1, 15));  // 32
  // Recorded late: it happened before everything but the joins.
  s.Observe("o0", "s1", Day(2025, 9, 5), {"literacy"}, {}, "s2");  // 33
  Decide(s, "d1", "leader", {"questioning"}, Day(2026, 1, 5));     // 34
  return s;
}

TEST(StaffRecordTest, JoinsEverySiloIntoOneRecord) {
  const Scenario s = MainScenario();
  projections::ViewParams params =
      Params(Day(2025, 12, 1), Day(2026, 1, 1), Day(2026, 1, 20));
  params.as_of_position = 34;
  absl::StatusOr<insights::StaffRecordView> view =
      projections::StaffRecord(s.History(), params, "s1");
  ASSERT_TRUE(view.ok()) << view.status();

  EXPECT_EQ(view->staff_id(), "s1");
  EXPECT_EQ(view->basis().as_of_position(), 34u);
  EXPECT_EQ(view->personal().display_name(), "Teacher s1");
  EXPECT_EQ(TimeOf(view->joined_at()), Day(2025, 9, 2));
  ASSERT_TRUE(view->has_left_at());
  EXPECT_EQ(TimeOf(view->left_at()), Day(2026, 1, 15));
  ASSERT_EQ(view->placements_size(), 2);
  EXPECT_EQ(TimeOf(view->placements(0).from()), Day(2025, 9, 2));
  EXPECT_EQ(view->placements(0).school_id(), "north");
  EXPECT_THAT(view->placements(0).department_ids(), ElementsAre("maths"));
  EXPECT_EQ(view->placements(0).role(), cpd::STAFF_ROLE_TEACHER);
  EXPECT_EQ(TimeOf(view->placements(1).from()), Day(2025, 11, 20));
  EXPECT_EQ(view->placements(1).school_id(), "south");
  EXPECT_THAT(view->placements(1).department_ids(), ElementsAre("english"));

  ExpectTimeline(
      *view, {
                 {Day(2025, 9, 2),
                  13,
                  "StaffMemberJoined",
                  "s1",
                  "joined",
                  {},
                  "Joined school north (departments maths), teacher"},
                 {Day(2025, 9, 5),
                  33,
                  "ObservationRecorded",
                  "o0",
                  "observed",
                  {"literacy"},
                  "Drop-in observation: 1 development point (literacy)"},
                 {Day(2025, 9, 10),
                  16,
                  "ObservationRecorded",
                  "o1",
                  "observed",
                  {"questioning", "feedback"},
                  "Drop-in observation: 2 development points (questioning, "
                  "feedback), 1 rating"},
                 {Day(2025, 9, 15),
                  17,
                  "AppraisalGoalSet",
                  "g1",
                  "appraisee",
                  {"questioning"},
                  "Appraisal goal set on questioning"},
                 {Day(2025, 9, 16),
                  18,
                  "AppraisalGoalSet",
                  "g2",
                  "appraisee",
                  {"feedback"},
                  "Appraisal goal set on feedback"},
                 {Day(2025, 9, 17),
                  19,
                  "AppraisalGoalSet",
                  "g3",
                  "appraisee",
                  {"literacy"},
                  "Appraisal goal set on literacy"},
                 {Day(2025, 9, 20),
                  20,
                  "CoachingConversationHeld",
                  "c1",
                  "coachee",
                  {"questioning"},
                  "Coaching conversation on questioning"},
                 {Day(2025, 10, 1),
                  22,
                  "SessionHeld",
                  "ses1",
                  "attendee",
                  {"questioning"},
                  "Session held on questioning: programme p1, 60 minutes, 2 "
                  "attendees, follow-up due 2025-10-15"},
                 {Day(2025, 10, 10),
                  23,
                  "FollowUpEvidenced",
                  "f1",
                  "evidence",
                  {"questioning"},
                  "Follow-up evidence (reflection) for session ses1"},
                 {Day(2025, 11, 1),
                  24,
                  "SessionHeld",
                  "ses2",
                  "attendee",
                  {"feedback"},
                  "Session held on feedback: one-off, 60 minutes, 1 attendee, "
                  "follow-up due 2025-11-15"},
                 {Day(2025, 11, 20),
                  25,
                  "StaffMemberMoved",
                  "s1",
                  "moved",
                  {},
                  "Moved to school south (departments english), teacher"},
                 {Day(2025, 12, 1),
                  26,
                  "AppraisalGoalReviewed",
                  "g2",
                  "appraisee",
                  {"feedback"},
                  "Appraisal goal reviewed: met"},
                 {Day(2025, 12, 2),
                  27,
                  "AppraisalGoalReviewed",
                  "g3",
                  "appraisee",
                  {"literacy"},
                  "Appraisal goal reviewed: carried forward"},
                 {Day(2025, 12, 5),
                  28,
                  "ObservationRecorded",
                  "o2",
                  "observed",
                  {"behaviour"},
                  "Drop-in observation: 1 development point (behaviour)"},
                 {Day(2025, 12, 6),
                  29,
                  "ObservationRecorded",
                  "o3",
                  "observer",
                  {"literacy"},
                  "Drop-in observation of s2: 1 development point (literacy)"},
                 {Day(2025, 12, 7),
                  30,
                  "TrainingNeedIdentified",
                  "n1",
                  "named",
                  {"literacy"},
                  "Training need identified on literacy"},
                 {Day(2025, 12, 10),
                  31,
                  "SessionHeld",
                  "ses3",
                  "attendee",
                  {"behaviour"},
                  "Session held on behaviour: one-off, 60 minutes, 1 attendee, "
                  "follow-up due 2026-02-01"},
                 {Day(2026, 1, 15),
                  32,
                  "StaffMemberLeft",
                  "s1",
                  "left",
                  {},
                  "Left the trust"},
             });

  // g2 was met; g3 was carried forward and stays open.
  ASSERT_EQ(view->open_goals_size(), 2);
  EXPECT_EQ(view->open_goals(0).goal_id(), "g1");
  EXPECT_THAT(view->open_goals(0).areas(), ElementsAre("questioning"));
  EXPECT_EQ(TimeOf(view->open_goals(0).set_at()), Day(2025, 9, 15));
  EXPECT_EQ(view->open_goals(1).goal_id(), "g3");
  EXPECT_THAT(view->open_goals(1).areas(), ElementsAre("literacy"));
  EXPECT_EQ(TimeOf(view->open_goals(1).set_at()), Day(2025, 9, 17));

  // o2 (5 Dec) is the most recent; o0 was recorded last but happened first.
  EXPECT_THAT(view->latest_development_points(), ElementsAre("behaviour"));
  EXPECT_THAT(view->sessions_attended(), ElementsAre("ses1", "ses2", "ses3"));
  // ses1 was evidenced; ses2 is overdue; ses3 is due after the as-of time.
  ASSERT_EQ(view->outstanding_follow_ups_size(), 2);
  EXPECT_EQ(view->outstanding_follow_ups(0).session_id(), "ses2");
  EXPECT_EQ(TimeOf(view->outstanding_follow_ups(0).due()), Day(2025, 11, 15));
  EXPECT_TRUE(view->outstanding_follow_ups(0).overdue());
  EXPECT_EQ(view->outstanding_follow_ups(1).session_id(), "ses3");
  EXPECT_EQ(TimeOf(view->outstanding_follow_ups(1).due()), Day(2026, 2, 1));
  EXPECT_FALSE(view->outstanding_follow_ups(1).overdue());
}

TEST(StaffRecordTest, AsOfAnEarlierPositionGivesTheEarlierRecord) {
  const Scenario s = MainScenario();
  projections::ViewParams params =
      Params(Day(2025, 5, 1), Day(2025, 11, 10), Day(2025, 11, 10));
  params.as_of_position = 24;
  absl::StatusOr<insights::StaffRecordView> view =
      projections::StaffRecord(s.History(24), params, "s1");
  ASSERT_TRUE(view.ok()) << view.status();

  EXPECT_EQ(view->basis().as_of_position(), 24u);
  EXPECT_FALSE(view->has_left_at());
  ASSERT_EQ(view->placements_size(), 1);
  EXPECT_EQ(view->placements(0).school_id(), "north");
  ASSERT_EQ(view->timeline_size(), 9);
  EXPECT_EQ(view->timeline(0).record_id(), "s1");
  EXPECT_EQ(view->timeline(1).record_id(), "o1");
  EXPECT_EQ(view->timeline(8).record_id(), "ses2");
  ASSERT_EQ(view->open_goals_size(), 3);
  EXPECT_EQ(view->open_goals(0).goal_id(), "g1");
  EXPECT_EQ(view->open_goals(1).goal_id(), "g2");
  EXPECT_EQ(view->open_goals(2).goal_id(), "g3");
  EXPECT_THAT(view->latest_development_points(),
              ElementsAre("questioning", "feedback"));
  EXPECT_THAT(view->sessions_attended(), ElementsAre("ses1", "ses2"));
  // Due 15 Nov, after the as-of time of 10 Nov: outstanding, not overdue.
  ASSERT_EQ(view->outstanding_follow_ups_size(), 1);
  EXPECT_EQ(view->outstanding_follow_ups(0).session_id(), "ses2");
  EXPECT_FALSE(view->outstanding_follow_ups(0).overdue());
}

TEST(StaffRecordTest, ShowsTheirPartInOtherPeoplesRecords) {
  const Scenario s = MainScenario();
  absl::StatusOr<insights::StaffRecordView> view = projections::StaffRecord(
      s.History(), Params(Day(2025, 12, 1), Day(2026, 1, 1), Day(2026, 1, 20)),
      "leader");
  ASSERT_TRUE(view.ok()) << view.status();

  ExpectTimeline(
      *view,
      {
          {Day(2025, 9, 1),
           12,
           "StaffMemberJoined",
           "leader",
           "joined",
           {},
           "Joined school north, teacher"},
          {Day(2025, 9, 15),
           17,
           "AppraisalGoalSet",
           "g1",
           "set_by",
           {"questioning"},
           "Appraisal goal set for s1 on questioning"},
          {Day(2025, 9, 16),
           18,
           "AppraisalGoalSet",
           "g2",
           "set_by",
           {"feedback"},
           "Appraisal goal set for s1 on feedback"},
          {Day(2025, 9, 17),
           19,
           "AppraisalGoalSet",
           "g3",
           "set_by",
           {"literacy"},
           "Appraisal goal set for s1 on literacy"},
          {Day(2025, 9, 25),
           21,
           "ProgrammeLaunched",
           "p1",
           "owner",
           {"questioning"},
           "Mastery programme launched on questioning"},
          {Day(2025, 10, 1),
           22,
           "SessionHeld",
           "ses1",
           "facilitator",
           {"questioning"},
           "Session held on questioning: programme p1, 60 minutes, 2 "
           "attendees, follow-up due 2025-10-15"},
          {Day(2025, 11, 1),
           24,
           "SessionHeld",
           "ses2",
           "facilitator",
           {"feedback"},
           "Session held on feedback: one-off, 60 minutes, 1 attendee, "
           "follow-up due 2025-11-15"},
          {Day(2025, 12, 1),
           26,
           "AppraisalGoalReviewed",
           "g2",
           "reviewer",
           {"feedback"},
           "Appraisal goal of s1 reviewed: met"},
          {Day(2025, 12, 2),
           27,
           "AppraisalGoalReviewed",
           "g3",
           "reviewer",
           {"literacy"},
           "Appraisal goal of s1 reviewed: carried forward"},
          {Day(2025, 12, 7),
           30,
           "TrainingNeedIdentified",
           "n1",
           "identified_by",
           {"literacy"},
           "Training need identified on literacy for staff member s1"},
          {Day(2025, 12, 10),
           31,
           "SessionHeld",
           "ses3",
           "facilitator",
           {"behaviour"},
           "Session held on behaviour: one-off, 60 minutes, 1 attendee, "
           "follow-up due 2026-02-01"},
          {Day(2026, 1, 5),
           34,
           "CpdDecisionRecorded",
           "d1",
           "decided_by",
           {"questioning"},
           "CPD decision recorded on questioning, 0 evidence references"},
      });
  EXPECT_THAT(view->open_goals(), IsEmpty());
  EXPECT_THAT(view->latest_development_points(), IsEmpty());
  EXPECT_THAT(view->sessions_attended(), IsEmpty());
  EXPECT_THAT(view->outstanding_follow_ups(), IsEmpty());

  // s2 observed and coached s1; s3 never followed ses1 up.
  view = projections::StaffRecord(
      s.History(), Params(Day(2025, 12, 1), Day(2026, 1, 1), Day(2026, 1, 20)),
      "s3");
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_EQ(view->timeline_size(), 2);
  EXPECT_EQ(view->timeline(1).role(), "attendee");
  ASSERT_EQ(view->outstanding_follow_ups_size(), 1);
  EXPECT_EQ(view->outstanding_follow_ups(0).session_id(), "ses1");
  EXPECT_TRUE(view->outstanding_follow_ups(0).overdue());

  view = projections::StaffRecord(
      s.History(), Params(Day(2025, 12, 1), Day(2026, 1, 1), Day(2026, 1, 20)),
      "s2");
  ASSERT_TRUE(view.ok()) << view.status();
  std::vector<std::string> roles;
  for (const auto& entry : view->timeline()) roles.push_back(entry.role());
  EXPECT_THAT(roles, ElementsAre("joined", "observer", "observer", "coach",
                                 "observer", "observed"));
  EXPECT_EQ(view->timeline(3).summary(),
            "Coaching conversation with s1 on questioning");
  EXPECT_THAT(view->latest_development_points(), ElementsAre("literacy"));
}

TEST(StaffRecordTest, OneFactCanNameThePersonTwice) {
  Scenario s;                                                 // 1-6
  s.School("north", Day(2025, 9, 1));                         // 7
  s.Join("leader", "north", {}, Day(2025, 9, 1));             // 8
  JoinManaged(s, "ect", "north", "leader", Day(2025, 9, 2));  // 9
  // The leader facilitates a session they also attend.
  s.Session("ses1", "", {"behaviour", "literacy"}, {"ect", "leader"},
            Day(2025, 10, 1));  // 10
  absl::StatusOr<insights::StaffRecordView> view = projections::StaffRecord(
      s.History(), Params(Day(2025, 9, 1), Day(2025, 9, 2), Day(2025, 11, 1)),
      "leader");
  ASSERT_TRUE(view.ok()) << view.status();
  ExpectTimeline(
      *view, {
                 {Day(2025, 9, 1),
                  8,
                  "StaffMemberJoined",
                  "leader",
                  "joined",
                  {},
                  "Joined school north, teacher"},
                 {Day(2025, 9, 2),
                  9,
                  "StaffMemberJoined",
                  "ect",
                  "line_manager",
                  {},
                  "Named line manager of ect on joining"},
                 {Day(2025, 10, 1),
                  10,
                  "SessionHeld",
                  "ses1",
                  "attendee",
                  {"behaviour", "literacy"},
                  "Session held on behaviour, literacy: one-off, 60 minutes, 2 "
                  "attendees, no follow-up planned"},
                 {Day(2025, 10, 1),
                  10,
                  "SessionHeld",
                  "ses1",
                  "facilitator",
                  {"behaviour", "literacy"},
                  "Session held on behaviour, literacy: one-off, 60 minutes, 2 "
                  "attendees, no follow-up planned"},
             });
  // No follow-up was planned, so nothing is outstanding.
  EXPECT_THAT(view->sessions_attended(), ElementsAre("ses1"));
  EXPECT_THAT(view->outstanding_follow_ups(), IsEmpty());

  view = projections::StaffRecord(
      s.History(), Params(Day(2025, 9, 1), Day(2025, 9, 2), Day(2025, 11, 1)),
      "ect");
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_EQ(view->placements_size(), 1);
  EXPECT_EQ(view->placements(0).role(), cpd::STAFF_ROLE_EARLY_CAREER_TEACHER);
  EXPECT_EQ(view->placements(0).line_manager_id(), "leader");
  EXPECT_EQ(view->timeline(0).summary(),
            "Joined school north, early-career teacher");
}

TEST(StaffRecordTest, ScopeAndWindowAreIgnored) {
  const Scenario s = MainScenario();
  absl::StatusOr<insights::StaffRecordView> trust = projections::StaffRecord(
      s.History(), Params(Day(2025, 9, 1), Day(2026, 3, 1), Day(2026, 1, 20)),
      "s1");
  // A department s1 never belonged to, and a window before everything.
  absl::StatusOr<insights::StaffRecordView> elsewhere =
      projections::StaffRecord(
          s.History(),
          Params(Day(2024, 1, 1), Day(2024, 2, 1), Day(2026, 1, 20),
                 projections::Scope::Department("science")),
          "s1");
  ASSERT_TRUE(trust.ok()) << trust.status();
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_EQ(elsewhere->basis().scope().department_id(), "science");
  trust->clear_basis();
  elsewhere->clear_basis();
  EXPECT_TRUE(MessageDifferencer::Equals(*trust, *elsewhere));
  EXPECT_EQ(trust->timeline_size(), 18);
}

TEST(StaffRecordTest, UnknownStaffIsNotFound) {
  const Scenario s = MainScenario();
  const projections::ViewParams params =
      Params(Day(2025, 9, 1), Day(2026, 3, 1), Day(2026, 1, 20));
  absl::StatusOr<insights::StaffRecordView> view =
      projections::StaffRecord(s.History(), params, "nobody");
  EXPECT_EQ(view.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(view.status().message()),
              ::testing::HasSubstr("nobody"));
  // s1 joined at position 13: as of position 12 the trust never had them.
  view = projections::StaffRecord(s.History(12), params, "s1");
  EXPECT_EQ(view.status().code(), absl::StatusCode::kNotFound);
  // An observer named in an observation but never joined is not staff.
  view = projections::StaffRecord(s.History(), params, "observer");
  EXPECT_EQ(view.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace throughline::testing
