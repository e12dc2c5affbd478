// Impact view: observation ratings before and after CPD on each area, for
// attendees and for everyone else, with hand-built scenarios and the
// expected figures written out literally.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/view_scenario.h"

namespace throughline::testing {
namespace {

namespace insights = ::throughline::insights::v1;
using ::testing::ElementsAreArray;

// An evaluation of a session (or, with `programme` true, a programme).
void Evaluate(Scenario& s, const std::string& evaluation_id,
              const std::string& target_id, bool programme,
              cpd::EvaluationLevel level, absl::Time at) {
  cpd::CpdEvent event;
  cpd::ImpactEvaluated* e = event.mutable_impact_evaluated();
  e->set_evaluation_id(evaluation_id);
  if (programme) {
    e->set_programme_id(target_id);
  } else {
    e->set_session_id(target_id);
  }
  e->set_level(level);
  s.Add(at, event);
}

// Ratings only: no development points.
void Rate(Scenario& s, const std::string& observation_id,
          const std::string& staff_id, absl::Time at,
          const std::vector<std::pair<std::string, int>>& ratings) {
  s.Observe(observation_id, staff_id, at, {}, ratings);
}

struct Row {
  std::string area;
  // (sum, count) pairs.
  int64_t attendees_before[2];
  int64_t attendees_after[2];
  int64_t others_before[2];
  int64_t others_after[2];
  int64_t attendees;
  std::vector<int64_t> evaluations_by_level;
};

const std::vector<int64_t> kNoEvaluations = {0, 0, 0, 0, 0};

void ExpectRatio(const insights::Ratio& ratio, const int64_t (&expected)[2],
                 const char* name) {
  EXPECT_EQ(ratio.numerator(), expected[0]) << name;
  EXPECT_EQ(ratio.denominator(), expected[1]) << name;
}

void ExpectRows(const insights::ImpactView& view,
                const std::vector<Row>& expected) {
  ASSERT_EQ(view.areas_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const insights::AreaImpact& got = view.areas(static_cast<int>(i));
    const Row& want = expected[i];
    SCOPED_TRACE(want.area);
    EXPECT_EQ(got.area(), want.area);
    ExpectRatio(got.attendees_before(), want.attendees_before,
                "attendees_before");
    ExpectRatio(got.attendees_after(), want.attendees_after, "attendees_after");
    ExpectRatio(got.others_before(), want.others_before, "others_before");
    ExpectRatio(got.others_after(), want.others_after, "others_after");
    EXPECT_EQ(got.attendees(), want.attendees);
    EXPECT_THAT(got.evaluations_by_level(),
                ElementsAreArray(want.evaluations_by_level));
  }
}

// The main scenario (docs/views/impact.md uses it). Window [1 Oct 2025,
// 1 Mar 2026).
class ImpactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s_.School("north", Day(2025, 9, 1));
    s_.School("south", Day(2025, 9, 1));
    s_.Department("maths", "north", Day(2025, 9, 1));
    s_.Department("science", "north", Day(2025, 9, 1));
    s_.Department("english", "south", Day(2025, 9, 1));
    s_.Department("drama", "south", Day(2025, 9, 1));
    s_.Area("send-support", Day(2025, 9, 1));
    s_.Programme("P", {"questioning", "feedback"}, Day(2025, 9, 1));
    s_.Join("a1", "north", {"maths"}, Day(2025, 9, 2));
    s_.Join("a2", "north", {"science"}, Day(2025, 9, 2));
    s_.Join("a3", "south", {"english"}, Day(2025, 9, 2));
    s_.Join("o1", "north", {"maths"}, Day(2025, 9, 2));
    s_.Join("o2", "south", {"english"}, Day(2025, 9, 2));
    s_.Join("x1", "north", {"science"}, Day(2025, 9, 2));
    // Before the window.
    s_.Session("Q0", "", {"questioning"}, {"x1"}, Day(2025, 9, 15));
    Rate(s_, "r0", "x1", Day(2025, 9, 20), {{"questioning", 1}});
    Evaluate(s_, "ev3", "Q0", false, cpd::EVALUATION_LEVEL_LEARNING,
             Day(2025, 9, 20));
    // In the window.
    Rate(s_, "r1", "o1", Day(2025, 10, 5),
         {{"questioning", 2}, {"feedback", 2}});
    Rate(s_, "r2", "x1", Day(2025, 10, 10), {{"questioning", 3}});
    Rate(s_, "r3", "a1", Day(2025, 10, 15), {{"questioning", 2}});
    Rate(s_, "r4", "a3", Day(2025, 10, 20), {{"questioning", 2}});
    Rate(s_, "r5", "o2", Day(2025, 10, 25), {{"questioning", 1}});
    s_.Session("Q1", "P", {"questioning"}, {"a1", "a3"}, Day(2025, 11, 1));
    // At the very time of a1's first session: counts as after.
    Rate(s_, "r6", "a1", Day(2025, 11, 1), {{"questioning", 3}});
    Evaluate(s_, "ev1", "Q1", false, cpd::EVALUATION_LEVEL_REACTIONS,
             Day(2025, 11, 5));
    early_ = s_.head();
    Rate(s_, "r7", "a2", Day(2025, 11, 10),
         {{"questioning", 1}, {"behaviour", 4}});
    Rate(s_, "r8", "o1", Day(2025, 11, 20), {{"questioning", 3}});
    s_.Session("Q2", "P", {"questioning"}, {"a2", "a1"}, Day(2025, 12, 1));
    Rate(s_, "r9", "o2", Day(2025, 12, 5), {{"questioning", 2}});
    Rate(s_, "r10", "a2", Day(2025, 12, 10), {{"questioning", 3}});
    s_.Move("a3", "north", {"maths"}, Day(2025, 12, 15));
    s_.Session("L1", "", {"literacy"}, {"a1"}, Day(2025, 12, 20));
    Rate(s_, "r11", "a1", Day(2025, 12, 20),
         {{"questioning", 4}, {"feedback", 3}, {"literacy", 2}});
    s_.RetireArea("literacy", Day(2025, 12, 21));
    Rate(s_, "r12", "a3", Day(2026, 1, 5), {{"questioning", 3}});
    s_.Leave("o2", Day(2026, 1, 10));
    s_.Session("F1", "", {"feedback"}, {"o1"}, Day(2026, 1, 15));
    Evaluate(s_, "ev4", "F1", false, cpd::EVALUATION_LEVEL_LEARNING,
             Day(2026, 1, 20));
    Rate(s_, "r13", "o1", Day(2026, 2, 1), {{"feedback", 4}});
    Evaluate(s_, "ev2", "P", true,
             cpd::EVALUATION_LEVEL_USE_OF_NEW_KNOWLEDGE_AND_SKILLS,
             Day(2026, 2, 10));
    // After the window.
    Rate(s_, "r14", "a2", Day(2026, 3, 5), {{"questioning", 4}});
    Evaluate(s_, "ev5", "P", true, cpd::EVALUATION_LEVEL_PUPIL_OUTCOMES,
             Day(2026, 3, 5));
  }

  insights::ImpactView View(
      projections::Scope scope = projections::Scope::Trust()) const {
    return projections::Impact(
        s_.History(),
        Params(Day(2025, 10, 1), Day(2026, 3, 1), Day(2026, 3, 1), scope));
  }

  Scenario s_;
  uint64_t early_ = 0;
};

TEST_F(ImpactTest, TrustScope) {
  const insights::ImpactView view = View();
  EXPECT_TRUE(view.basis().scope().trust());
  // literacy is retired: not listed. send-support was added: listed.
  ExpectRows(
      view,
      {
          {"behaviour", {0, 0}, {0, 0}, {4, 1}, {0, 0}, 0, kNoEvaluations},
          {"feedback", {2, 1}, {4, 1}, {3, 1}, {0, 0}, 1, {0, 1, 0, 1, 0}},
          {"questioning", {5, 3}, {13, 4}, {6, 3}, {5, 2}, 3, {1, 0, 0, 1, 0}},
          {"retrieval-practice",
           {0, 0},
           {0, 0},
           {0, 0},
           {0, 0},
           0,
           kNoEvaluations},
          {"send-support", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
      });
}

TEST_F(ImpactTest, SchoolScopeFollowsMembershipAtEachEvent) {
  // North: a3 was in south at Q1, so is no attendee here; their January
  // rating (after moving to north) counts among the others.
  ExpectRows(
      View(projections::Scope::School("north")),
      {
          {"behaviour", {0, 0}, {0, 0}, {4, 1}, {0, 0}, 0, kNoEvaluations},
          {"feedback", {2, 1}, {4, 1}, {3, 1}, {0, 0}, 1, {0, 1, 0, 1, 0}},
          {"questioning", {3, 2}, {10, 3}, {5, 2}, {6, 2}, 2, {1, 0, 0, 1, 0}},
          {"retrieval-practice",
           {0, 0},
           {0, 0},
           {0, 0},
           {0, 0},
           0,
           kNoEvaluations},
          {"send-support", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
      });
  // South: only Q1 had a south attendee (a3); o2 left in January but their
  // earlier ratings count.
  ExpectRows(
      View(projections::Scope::School("south")),
      {
          {"behaviour", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
          {"feedback", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, {0, 1, 0, 1, 0}},
          {"questioning", {2, 1}, {0, 0}, {1, 1}, {2, 1}, 1, {1, 0, 0, 1, 0}},
          {"retrieval-practice",
           {0, 0},
           {0, 0},
           {0, 0},
           {0, 0},
           0,
           kNoEvaluations},
          {"send-support", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
      });
}

TEST_F(ImpactTest, DepartmentScope) {
  // Maths: a1 attended; o1 and (after moving in) a3 are others.
  ExpectRows(
      View(projections::Scope::Department("maths")),
      {
          {"behaviour", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
          {"feedback", {2, 1}, {4, 1}, {3, 1}, {0, 0}, 1, {0, 1, 0, 1, 0}},
          {"questioning", {2, 1}, {7, 2}, {2, 1}, {6, 2}, 1, {1, 0, 0, 1, 0}},
          {"retrieval-practice",
           {0, 0},
           {0, 0},
           {0, 0},
           {0, 0},
           0,
           kNoEvaluations},
          {"send-support", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
      });
  // Science: Q1 had no science attendee, so the split is Q2 (1 Dec).
  ExpectRows(
      View(projections::Scope::Department("science")),
      {
          {"behaviour", {0, 0}, {0, 0}, {4, 1}, {0, 0}, 0, kNoEvaluations},
          {"feedback", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, {0, 1, 0, 1, 0}},
          {"questioning", {1, 1}, {3, 1}, {3, 1}, {0, 0}, 1, {1, 0, 0, 1, 0}},
          {"retrieval-practice",
           {0, 0},
           {0, 0},
           {0, 0},
           {0, 0},
           0,
           kNoEvaluations},
          {"send-support", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
      });
}

TEST_F(ImpactTest, EmptyScopeListsEveryAreaWithNoRatings) {
  // Nobody was ever in drama. Evaluations are of whole sessions and
  // programmes, and are counted in every scope.
  const insights::ImpactView view =
      View(projections::Scope::Department("drama"));
  EXPECT_EQ(view.basis().scope().department_id(), "drama");
  ExpectRows(
      view,
      {
          {"behaviour", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
          {"feedback", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, {0, 1, 0, 1, 0}},
          {"questioning", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, {1, 0, 0, 1, 0}},
          {"retrieval-practice",
           {0, 0},
           {0, 0},
           {0, 0},
           {0, 0},
           0,
           kNoEvaluations},
          {"send-support", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
      });
}

TEST_F(ImpactTest, AsOfAnEarlierPositionGivesTheEarlierAnswer) {
  // As of the evaluation of Q1 (5 Nov): Q2, F1 and later ratings are not in
  // the history yet, and literacy is not yet retired.
  projections::ViewParams params =
      Params(Day(2025, 10, 1), Day(2026, 3, 1), Day(2025, 11, 6));
  params.as_of_position = early_;
  const insights::ImpactView view =
      projections::Impact(s_.History(early_), params);
  EXPECT_EQ(view.basis().as_of_position(), early_);
  ExpectRows(
      view,
      {
          {"behaviour", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
          {"feedback", {0, 0}, {0, 0}, {2, 1}, {0, 0}, 0, kNoEvaluations},
          {"literacy", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
          {"questioning", {4, 2}, {3, 1}, {6, 3}, {0, 0}, 2, {1, 0, 0, 0, 0}},
          {"retrieval-practice",
           {0, 0},
           {0, 0},
           {0, 0},
           {0, 0},
           0,
           kNoEvaluations},
          {"send-support", {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, kNoEvaluations},
      });
}

TEST_F(ImpactTest, WindowWithNoSessionCountsEveryoneAsBefore) {
  // [1 Oct, 1 Nov): Q1 is held at 1 Nov, outside; ratings of everyone are
  // "others before".
  const insights::ImpactView view = projections::Impact(
      s_.History(),
      Params(Day(2025, 10, 1), Day(2025, 11, 1), Day(2026, 3, 1)));
  ASSERT_EQ(view.areas_size(), 5);
  const insights::AreaImpact& questioning = view.areas(2);
  EXPECT_EQ(questioning.area(), "questioning");
  EXPECT_EQ(questioning.attendees(), 0);
  EXPECT_EQ(questioning.others_before().numerator(), 10);
  EXPECT_EQ(questioning.others_before().denominator(), 5);
  EXPECT_EQ(questioning.others_after().denominator(), 0);
  EXPECT_EQ(questioning.attendees_before().denominator(), 0);
  EXPECT_EQ(questioning.attendees_after().denominator(), 0);
  EXPECT_THAT(questioning.evaluations_by_level(),
              ElementsAreArray(kNoEvaluations));
}

}  // namespace
}  // namespace throughline::testing
