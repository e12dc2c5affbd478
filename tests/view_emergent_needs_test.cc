// Emergent training needs (docs/views/emergent-needs.md): hand-built
// scenarios with every expected figure written out.

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "projections/views.h"
#include "tests/view_scenario.h"

namespace throughline::testing {
namespace {

using projections::Scope;
namespace insights = ::throughline::insights::v1;

// One expected row, in the order of the proto's fields.
struct Row {
  std::string area;
  int64_t observation = 0;
  int64_t coaching = 0;
  int64_t appraisal = 0;
  int64_t identified_need = 0;
  int64_t scope_level_needs = 0;
  int64_t learning_walks = 0;
  int64_t silos = 0;
  int64_t flagged = 0;
  int64_t covered = 0;
  int64_t uncovered = 0;
  int64_t sessions = 0;
  int64_t previous = 0;
  int64_t trend = 0;
  bool emergent = false;

  auto Tie() const {
    return std::tie(area, observation, coaching, appraisal, identified_need,
                    scope_level_needs, learning_walks, silos, flagged, covered,
                    uncovered, sessions, previous, trend, emergent);
  }
  bool operator==(const Row& other) const { return Tie() == other.Tie(); }
};

void PrintTo(const Row& row, std::ostream* os) {
  *os << "{" << row.area << " obs=" << row.observation
      << " coach=" << row.coaching << " appraisal=" << row.appraisal
      << " need=" << row.identified_need
      << " scope_level=" << row.scope_level_needs
      << " walks=" << row.learning_walks << " silos=" << row.silos
      << " flagged=" << row.flagged << " covered=" << row.covered
      << " uncovered=" << row.uncovered << " sessions=" << row.sessions
      << " previous=" << row.previous << " trend=" << row.trend
      << " emergent=" << row.emergent << "}";
}

std::vector<Row> RowsOf(const insights::EmergentNeedsView& view) {
  std::vector<Row> rows;
  for (const insights::EmergentNeedRow& r : view.rows()) {
    EXPECT_EQ(r.label(), r.area());  // The scenario labels areas by code.
    rows.push_back({r.area(), r.observation_staff(), r.coaching_staff(),
                    r.appraisal_staff(), r.identified_need_staff(),
                    r.scope_level_needs(), r.learning_walks(), r.silos(),
                    r.staff_flagged(), r.covered(), r.uncovered(), r.sessions(),
                    r.staff_flagged_previous(), r.trend(), r.emergent()});
  }
  return rows;
}

cpd::Scope TrustNeed() {
  cpd::Scope scope;
  scope.set_trust(true);
  return scope;
}
cpd::Scope SchoolNeed(const std::string& id) {
  cpd::Scope scope;
  scope.set_school_id(id);
  return scope;
}
cpd::Scope DepartmentNeed(const std::string& id) {
  cpd::Scope scope;
  scope.set_department_id(id);
  return scope;
}
cpd::Scope StaffNeed(const std::string& id) {
  cpd::Scope scope;
  scope.set_staff_id(id);
  return scope;
}

// The same history with other emergent-needs thresholds in TrustRegistered.
projections::TrustHistory WithThresholds(
    const projections::TrustHistory& history, uint32_t min_silos,
    uint32_t min_uncovered_staff, uint32_t min_uncovered_percent) {
  std::vector<projections::Fact> facts;
  for (int type = cpd::CpdEvent::kTrustRegistered;
       type <= cpd::CpdEvent::kImpactEvaluated; ++type) {
    for (const projections::Fact& fact :
         history.Of(static_cast<cpd::CpdEvent::EventCase>(type))) {
      facts.push_back(fact);
    }
  }
  std::sort(facts.begin(), facts.end(),
            [](const projections::Fact& a, const projections::Fact& b) {
              return a.position < b.position;
            });
  projections::TrustHistory rebuilt;
  for (projections::Fact& fact : facts) {
    if (fact.event.has_trust_registered()) {
      cpd::TrustRegistered* trust = fact.event.mutable_trust_registered();
      trust->set_emergent_min_silos(min_silos);
      trust->set_emergent_min_uncovered_staff(min_uncovered_staff);
      trust->set_emergent_min_uncovered_percent(min_uncovered_percent);
    }
    rebuilt.Add(std::move(fact));
  }
  return rebuilt;
}

// The window of the main scenario, its previous window being December 2025.
const absl::Time kFrom = Day(2026, 1, 1);
const absl::Time kTo = Day(2026, 2, 1);
const absl::Time kAsOf = Day(2026, 2, 15);

// The main scenario (docs/views/emergent-needs.md#worked-example). Sets
// `*cut` to the position of the last event dated on or before 19 January.
Scenario NorthSouth(uint64_t* cut) {
  const absl::Time start = Day(2025, 9, 1);
  Scenario s(start);
  s.Area("explanation", start);
  s.Area("oracy", start);
  s.School("north", start);
  s.School("south", start);
  s.Department("north-maths", "north", start);
  s.Department("north-english", "north", start);
  s.Department("south-science", "south", start);
  s.Department("south-art", "south", start);
  s.Join("a1", "north", {"north-maths"}, start);
  s.Join("a2", "north", {"north-maths"}, start);
  s.Join("a3", "north", {"north-maths"}, start);
  s.Join("b1", "north", {"north-english"}, start);
  s.Join("b2", "north", {"north-maths", "north-english"}, start);
  s.Join("c1", "south", {"south-science"}, start);
  s.Join("c2", "south", {"south-science"}, start);
  s.Join("d1", "north", {"north-maths"}, start);
  s.Join("f1", "south", {"south-science"}, start);

  // The previous window: December 2025.
  s.Goal("g0", "b2", {"behaviour"}, Day(2025, 12, 5));
  s.Observe("o0", "a1", Day(2025, 12, 10), {"questioning"});
  s.Observe("o00", "a2", Day(2025, 12, 15), {"retrieval-practice"});
  s.Leave("f1", Day(2025, 12, 20));

  // The window: January 2026.
  s.Goal("g2", "b2", {"behaviour", "literacy"}, Day(2026, 1, 3));
  s.Need("n3", TrustNeed(), "literacy", Day(2026, 1, 4));
  s.Observe("o1", "a1", Day(2026, 1, 5), {"questioning", "feedback"});
  s.Observe("o2", "a2", Day(2026, 1, 6), {"questioning"});
  s.Observe("o4", "c1", Day(2026, 1, 7), {"feedback"});
  s.Observe("o3", "d1", Day(2026, 1, 8), {"questioning"});
  s.Walk("w1", "north", "north-maths", {"questioning"}, Day(2026, 1, 9));
  s.Move("d1", "south", {"south-science"}, Day(2026, 1, 10));
  s.Observe("o5", "c2", Day(2026, 1, 10), {"feedback"});
  s.Observe("o6", "b1", Day(2026, 1, 10), {"oracy"});
  s.Coach("k2", "c1", "feedback", Day(2026, 1, 11));
  s.Coach("k1", "a3", "questioning", Day(2026, 1, 12));
  s.Observe("o8", "d1", Day(2026, 1, 12), {"behaviour"});
  s.Need("n1", StaffNeed("c1"), "feedback", Day(2026, 1, 13));
  s.Goal("g1", "b1", {"questioning"}, Day(2026, 1, 14));
  s.Need("n2", SchoolNeed("south"), "feedback", Day(2026, 1, 14));
  s.Leave("c2", Day(2026, 1, 15));
  s.Walk("w2", "south", "", {"behaviour"}, Day(2026, 1, 18));
  s.Walk("w3", "north", "north-english", {"behaviour"}, Day(2026, 1, 19));
  *cut = s.head();
  s.Join("e1", "south", {}, Day(2026, 1, 20));
  s.Session("s1", "", {"questioning"}, {"a1", "c1"}, Day(2026, 1, 20));
  s.Need("n4", DepartmentNeed("north-english"), "literacy", Day(2026, 1, 21));
  s.Session("s2", "", {"feedback"}, {"c1"}, Day(2026, 1, 22));
  s.Review("g2", cpd::GOAL_OUTCOME_MET, Day(2026, 1, 25));
  s.RetireArea("oracy", Day(2026, 1, 25));
  s.Session("s3", "", {"literacy"}, {"b2"}, Day(2026, 1, 28));

  // After the window.
  s.Session("s4", "", {"literacy"}, {"a1"}, Day(2026, 2, 5));
  s.Observe("o7", "a1", Day(2026, 2, 10), {"questioning"});
  return s;
}

TEST(EmergentNeedsTest, TrustScopeJoinsEverySilo) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  projections::ViewParams params = Params(kFrom, kTo, kAsOf);
  params.as_of_position = s.head();
  const insights::EmergentNeedsView view =
      projections::EmergentNeeds(s.History(), params);

  // a1 a2 a3 b1 b2 c1 c2 (left mid-window) d1 e1 (joined mid-window); f1
  // left before the window.
  EXPECT_EQ(view.staff_in_scope(), 9);
  EXPECT_EQ(view.min_silos(), 2);
  EXPECT_EQ(view.min_uncovered_staff(), 3);
  EXPECT_EQ(view.min_uncovered_percent(), 10);
  EXPECT_TRUE(view.basis().scope().trust());
  EXPECT_EQ(view.basis().from().seconds(), absl::ToUnixSeconds(kFrom));
  EXPECT_EQ(view.basis().to().seconds(), absl::ToUnixSeconds(kTo));
  EXPECT_EQ(view.basis().as_of_position(), s.head());
  // Oracy is retired: no row, though b1 was observed on it.
  const std::vector<Row> expected = {
      //  area  obs coach appr need scope walks silos flag cov unc sess prev
      //  trend emergent
      {"questioning", 3, 1, 1, 0, 0, 1, 4, 5, 1, 4, 1, 1, 4, true},
      {"behaviour", 1, 0, 1, 0, 0, 2, 3, 2, 0, 2, 0, 1, 1, false},
      {"feedback", 3, 1, 0, 1, 1, 0, 3, 3, 1, 2, 1, 0, 3, false},
      {"literacy", 0, 0, 1, 0, 2, 0, 2, 1, 1, 0, 1, 0, 1, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, false},
  };
  EXPECT_EQ(RowsOf(view), expected);
}

TEST(EmergentNeedsTest, SchoolScopeCountsSignalsWherePeopleWereThen) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  const projections::TrustHistory history = s.History();

  // North: d1 counts for north until their move on 10 January.
  const insights::EmergentNeedsView north = projections::EmergentNeeds(
      history, Params(kFrom, kTo, kAsOf, Scope::School("north")));
  EXPECT_EQ(north.basis().scope().school_id(), "north");
  EXPECT_EQ(north.staff_in_scope(), 6);  // a1 a2 a3 b1 b2 d1
  const std::vector<Row> expected_north = {
      {"questioning", 3, 1, 1, 0, 0, 1, 4, 5, 1, 4, 1, 1, 4, true},
      {"behaviour", 0, 0, 1, 0, 0, 1, 2, 1, 0, 1, 0, 1, 0, false},
      {"feedback", 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, false},
      // n4 (north-english) counts in north; n3 (trust-level) does not.
      {"literacy", 0, 0, 1, 0, 1, 0, 2, 1, 1, 0, 1, 0, 1, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, false},
  };
  EXPECT_EQ(RowsOf(north), expected_north);

  // South: d1 from 10 January, c2 until 15 January, e1 from 20 January.
  const insights::EmergentNeedsView south = projections::EmergentNeeds(
      history, Params(kFrom, kTo, kAsOf, Scope::School("south")));
  EXPECT_EQ(south.staff_in_scope(), 4);  // c1 c2 d1 e1
  const std::vector<Row> expected_south = {
      {"feedback", 2, 1, 0, 1, 1, 0, 3, 2, 1, 1, 1, 0, 2, false},
      {"behaviour", 1, 0, 0, 0, 0, 1, 2, 1, 0, 1, 0, 0, 1, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"literacy", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"questioning", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
  };
  EXPECT_EQ(RowsOf(south), expected_south);
}

TEST(EmergentNeedsTest, DepartmentScopes) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  const projections::TrustHistory history = s.History();

  const insights::EmergentNeedsView maths = projections::EmergentNeeds(
      history, Params(kFrom, kTo, kAsOf, Scope::Department("north-maths")));
  EXPECT_EQ(maths.basis().scope().department_id(), "north-maths");
  EXPECT_EQ(maths.staff_in_scope(), 5);  // a1 a2 a3 b2 d1
  const std::vector<Row> expected_maths = {
      // 3 uncovered of 5 staff, from three silos.
      {"questioning", 3, 1, 0, 0, 0, 1, 3, 4, 1, 3, 1, 1, 3, true},
      {"behaviour", 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 0, false},
      {"feedback", 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, false},
      {"literacy", 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, false},
  };
  EXPECT_EQ(RowsOf(maths), expected_maths);

  // b2 is in both departments and counts in each; the department-level need
  // and walk w3 count here.
  const insights::EmergentNeedsView english = projections::EmergentNeeds(
      history, Params(kFrom, kTo, kAsOf, Scope::Department("north-english")));
  EXPECT_EQ(english.staff_in_scope(), 2);  // b1 b2
  const std::vector<Row> expected_english = {
      {"behaviour", 0, 0, 1, 0, 0, 1, 2, 1, 0, 1, 0, 1, 0, false},
      {"questioning", 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, false},
      {"literacy", 0, 0, 1, 0, 1, 0, 2, 1, 1, 0, 1, 0, 1, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"feedback", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
  };
  EXPECT_EQ(RowsOf(english), expected_english);

  // The school-level need n2 (south) does not count in its departments.
  const insights::EmergentNeedsView science = projections::EmergentNeeds(
      history, Params(kFrom, kTo, kAsOf, Scope::Department("south-science")));
  EXPECT_EQ(science.staff_in_scope(), 3);  // c1 c2 d1
  const std::vector<Row> expected_science = {
      {"feedback", 2, 1, 0, 1, 0, 0, 3, 2, 1, 1, 1, 0, 2, false},
      {"behaviour", 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"literacy", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"questioning", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
  };
  EXPECT_EQ(RowsOf(science), expected_science);
}

TEST(EmergentNeedsTest, EmptyScopeListsEveryActiveAreaWithZeros) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  const insights::EmergentNeedsView art = projections::EmergentNeeds(
      s.History(), Params(kFrom, kTo, kAsOf, Scope::Department("south-art")));
  EXPECT_EQ(art.staff_in_scope(), 0);
  // Sessions are counted whatever their scope.
  const std::vector<Row> expected = {
      {"behaviour", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"feedback", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"literacy", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"questioning", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
  };
  EXPECT_EQ(RowsOf(art), expected);
}

TEST(EmergentNeedsTest, AsOfAnEarlierPositionGivesTheEarlierAnswer) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  projections::ViewParams params = Params(kFrom, kTo, Day(2026, 1, 20));
  params.as_of_position = cut;
  const insights::EmergentNeedsView view =
      projections::EmergentNeeds(s.History(cut), params);

  // e1 has not joined; no session has been held; oracy is not yet retired;
  // n4 is not yet identified.
  EXPECT_EQ(view.staff_in_scope(), 8);
  EXPECT_EQ(view.basis().as_of_position(), cut);
  const std::vector<Row> expected = {
      {"questioning", 3, 1, 1, 0, 0, 1, 4, 5, 0, 5, 0, 1, 4, true},
      {"feedback", 3, 1, 0, 1, 1, 0, 3, 3, 0, 3, 0, 0, 3, true},
      {"behaviour", 1, 0, 1, 0, 0, 2, 3, 2, 0, 2, 0, 1, 1, false},
      {"literacy", 0, 0, 1, 0, 1, 0, 2, 1, 0, 1, 0, 0, 1, false},
      {"oracy", 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, false},
      {"explanation", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, false},
  };
  EXPECT_EQ(RowsOf(view), expected);
}

TEST(EmergentNeedsTest, TrustThresholdsReplaceTheDefaults) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  const projections::ViewParams params = Params(kFrom, kTo, kAsOf);

  // 9 staff in scope: 20% needs 100 * uncovered >= 180, i.e. 2 uncovered.
  const insights::EmergentNeedsView twenty =
      projections::EmergentNeeds(WithThresholds(s.History(), 3, 2, 20), params);
  EXPECT_EQ(twenty.min_silos(), 3);
  EXPECT_EQ(twenty.min_uncovered_staff(), 2);
  EXPECT_EQ(twenty.min_uncovered_percent(), 20);
  ASSERT_EQ(twenty.rows_size(), 6);
  EXPECT_EQ(twenty.rows(0).area(), "questioning");
  EXPECT_TRUE(twenty.rows(0).emergent());
  EXPECT_EQ(twenty.rows(1).area(), "behaviour");
  EXPECT_TRUE(twenty.rows(1).emergent());
  EXPECT_EQ(twenty.rows(2).area(), "feedback");
  EXPECT_TRUE(twenty.rows(2).emergent());
  EXPECT_EQ(twenty.rows(3).area(), "literacy");
  EXPECT_FALSE(twenty.rows(3).emergent());

  // 25% needs 100 * uncovered >= 225: 2 uncovered of 9 is not enough.
  const insights::EmergentNeedsView quarter =
      projections::EmergentNeeds(WithThresholds(s.History(), 3, 2, 25), params);
  EXPECT_TRUE(quarter.rows(0).emergent());
  EXPECT_FALSE(quarter.rows(1).emergent());
  EXPECT_FALSE(quarter.rows(2).emergent());

  // Four silos needed: only questioning has them.
  const insights::EmergentNeedsView four_silos =
      projections::EmergentNeeds(WithThresholds(s.History(), 4, 1, 1), params);
  EXPECT_TRUE(four_silos.rows(0).emergent());
  EXPECT_FALSE(four_silos.rows(1).emergent());
  EXPECT_FALSE(four_silos.rows(2).emergent());
}

// `staff` teachers in school "s"; the first three observed and given a goal
// on questioning in January 2026.
Scenario ThreeFlaggedOf(int staff) {
  const absl::Time start = Day(2025, 9, 1);
  Scenario s(start);
  s.School("s", start);
  for (int i = 0; i < staff; ++i) {
    s.Join("t" + std::to_string(i), "s", {}, start);
  }
  for (int i = 0; i < 3; ++i) {
    const std::string id = "t" + std::to_string(i);
    s.Observe("o" + id, id, Day(2026, 1, 5), {"questioning"});
    s.Goal("g" + id, id, {"questioning"}, Day(2026, 1, 6));
  }
  return s;
}

TEST(EmergentNeedsTest, TenPercentIsIntegerArithmetic) {
  // 3 uncovered of 30 staff: 300 >= 10 * 30.
  const insights::EmergentNeedsView thirty = projections::EmergentNeeds(
      ThreeFlaggedOf(30).History(), Params(kFrom, kTo, kAsOf));
  EXPECT_EQ(thirty.staff_in_scope(), 30);
  ASSERT_EQ(thirty.rows(0).area(), "questioning");
  EXPECT_EQ(thirty.rows(0).silos(), 2);
  EXPECT_EQ(thirty.rows(0).uncovered(), 3);
  EXPECT_TRUE(thirty.rows(0).emergent());

  // 3 of 31: 300 < 310.
  const insights::EmergentNeedsView thirty_one = projections::EmergentNeeds(
      ThreeFlaggedOf(31).History(), Params(kFrom, kTo, kAsOf));
  EXPECT_EQ(thirty_one.staff_in_scope(), 31);
  ASSERT_EQ(thirty_one.rows(0).area(), "questioning");
  EXPECT_EQ(thirty_one.rows(0).uncovered(), 3);
  EXPECT_FALSE(thirty_one.rows(0).emergent());
}

TEST(EmergentNeedsTest, WindowEdgesAndRepeatedSignals) {
  const absl::Time start = Day(2025, 9, 1);
  Scenario s(start);
  s.School("s", start);
  s.Join("t1", "s", {}, start);
  s.Join("t2", "s", {}, start);
  // At `from`: counts. At `to`: does not (it is in no window of the view).
  s.Observe("o1", "t1", kFrom, {"feedback"});
  s.Observe("o2", "t2", kTo, {"feedback"});
  // Twice the same person and area: one staff member.
  s.Observe("o3", "t1", Day(2026, 1, 9), {"feedback"});
  s.Coach("k1", "t1", "feedback", Day(2026, 1, 10));
  s.Coach("k2", "t1", "feedback", Day(2026, 1, 11));
  // Just before `from`: the previous window.
  s.Goal("g1", "t2", {"feedback"}, kFrom - absl::Seconds(1));
  // A session just after `to` does not cover t1.
  s.Session("s1", "", {"feedback"}, {"t1"}, kTo);

  const insights::EmergentNeedsView view = projections::EmergentNeeds(
      s.History(), Params(kFrom, kTo, kAsOf, Scope::School("s")));
  EXPECT_EQ(view.staff_in_scope(), 2);
  const std::vector<Row> expected = {
      {"feedback", 1, 1, 0, 0, 0, 0, 2, 1, 0, 1, 0, 1, 0, false},
      {"behaviour", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"literacy", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"questioning", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
      {"retrieval-practice", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false},
  };
  EXPECT_EQ(RowsOf(view), expected);
}

}  // namespace
}  // namespace throughline::testing
