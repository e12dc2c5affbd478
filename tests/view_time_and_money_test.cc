// Time and money view (docs/views/time-and-money.md): hand-built scenarios
// with the expected figures written out.
//
// The main scenario (the worked example of the doc), window [1 Oct 2025,
// 1 Jan 2026), as-of time 1 Jan 2026:
//   north: maths, english, art (empty); south: science.
//   ann north/maths; ben north/maths+english; cat north/english, leaves
//   15 Nov; dan south/science, moves to north/maths 1 Nov; eve
//   south/science; fay joins north (no department) 15 Oct.
//   Time: A1 north [1 Sep, 1 Jan) 600 min; A2 south [1 Nov, 1 Dec) 100 min;
//   A3 north [15 Dec, 15 Feb) 310 min; A4 south [1 Jan, 1 Feb) 1000 min.
//   Repurposed: north 15 Sep 100 (before), north 20 Oct 45, south 20 Nov 30.
//   Budgets: north 2025-26 500000, revised 20 Nov to 600000; south 2025-26
//   300000; north 2024-25 999; north 2026-27 777.
//   Priorities: pr1 trust questioning (1 Sep, open); pr2 north behaviour
//   (1 Nov - 15 Dec); pr3 south literacy (1 Sep - 5 Oct); pr4 south
//   feedback (10 Nov, open); pr5 north literacy (1 Sep - 30 Sep).
//   Sessions: t5 p1 questioning 20 Sep ann 60 (before); t1 p1 questioning
//   10 Oct ann ben dan 60; t2 p1 questioning+feedback 5 Nov ann dan eve 90;
//   t3 one-off behaviour 10 Nov cat eve 30; t4 p2 literacy 1 Dec ben fay
//   120 (literacy retired 10 Dec); t6 p1 questioning 5 Jan ann 60 (after).
//   Spend: sp5 north 25 Sep 10000 (before); sp1 north 12 Oct 20000
//   questioning p1; sp2 north 2 Nov 5000 questioning+behaviour; sp3 south
//   12 Nov 8000 feedback p2; sp4 south 25 Nov 3000 literacy p2; sp6 south
//   5 Dec 1000, no area.
//   Follow-ups: ann 25 Sep (before), ann 20 Oct, dan 3 Nov, cat 12 Nov,
//   eve 15 Nov, ben 3 Jan (after).

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/view_scenario.h"

namespace throughline::testing {
namespace {

using projections::Scope;
using projections::TimeAndMoney;
namespace insights = ::throughline::insights::v1;

void SetTime(absl::Time t, google::protobuf::Timestamp* timestamp) {
  timestamp->set_seconds(absl::ToUnixSeconds(t));
}

// Events the Scenario builder has no helper for.
void Allocate(Scenario& s, const std::string& school_id, absl::Time start,
              absl::Time end, uint32_t minutes, absl::Time at) {
  cpd::CpdEvent event;
  cpd::CpdTimeAllocated* a = event.mutable_cpd_time_allocated();
  a->set_school_id(school_id);
  SetTime(start, a->mutable_period_start());
  SetTime(end, a->mutable_period_end());
  a->set_minutes_per_staff_member(minutes);
  s.Add(at, event);
}

void Repurpose(Scenario& s, const std::string& school_id, uint32_t minutes,
               absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_meeting_time_repurposed()->set_school_id(school_id);
  event.mutable_meeting_time_repurposed()->set_minutes(minutes);
  event.mutable_meeting_time_repurposed()->set_reason("parents' evening");
  s.Add(at, event);
}

void SetBudget(Scenario& s, const std::string& school_id,
               const std::string& year, int64_t pence, absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_cpd_budget_set()->set_school_id(school_id);
  event.mutable_cpd_budget_set()->set_academic_year(year);
  event.mutable_cpd_budget_set()->set_amount_pence(pence);
  s.Add(at, event);
}

void Spend(Scenario& s, const std::string& spend_id,
           const std::string& school_id, int64_t pence,
           const std::vector<std::string>& areas,
           const std::string& programme_id, absl::Time at) {
  cpd::CpdEvent event;
  cpd::CpdSpendRecorded* r = event.mutable_cpd_spend_recorded();
  r->set_spend_id(spend_id);
  r->set_school_id(school_id);
  r->set_amount_pence(pence);
  r->set_description(spend_id);
  for (const std::string& area : areas) r->add_areas(area);
  r->set_programme_id(programme_id);
  s.Add(at, event);
}

void Adopt(Scenario& s, const std::string& priority_id,
           const std::string& school_id, const std::vector<std::string>& areas,
           absl::Time at) {
  cpd::CpdEvent event;
  cpd::ImprovementPriorityAdopted* p =
      event.mutable_improvement_priority_adopted();
  p->set_priority_id(priority_id);
  p->set_school_id(school_id);
  p->set_academic_year("2025-26");
  p->set_title("Title " + priority_id);
  for (const std::string& area : areas) p->add_areas(area);
  s.Add(at, event);
}

void ClosePriority(Scenario& s, const std::string& priority_id, absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_improvement_priority_closed()->set_priority_id(priority_id);
  event.mutable_improvement_priority_closed()->set_reason("done");
  s.Add(at, event);
}

struct AmountRow {
  std::string key;
  int64_t pence;
  int64_t minutes;
};

void ExpectAmounts(
    const google::protobuf::RepeatedPtrField<insights::Amount>& amounts,
    const std::vector<AmountRow>& expected) {
  ASSERT_EQ(amounts.size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("amount \"" + expected[i].key + "\"");
    const insights::Amount& amount = amounts[static_cast<int>(i)];
    EXPECT_EQ(amount.key(), expected[i].key);
    EXPECT_EQ(amount.pence(), expected[i].pence);
    EXPECT_EQ(amount.minutes(), expected[i].minutes);
  }
}

struct PriorityRow {
  std::string id;
  int64_t minutes_held;
  int64_t spend_pence;
};

void ExpectPriorities(const insights::TimeAndMoneyView& view,
                      const std::vector<PriorityRow>& expected) {
  ASSERT_EQ(view.by_priority_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE("priority " + expected[i].id);
    const insights::PriorityShare& share =
        view.by_priority(static_cast<int>(i));
    EXPECT_EQ(share.priority_id(), expected[i].id);
    EXPECT_EQ(share.title(), "Title " + expected[i].id);
    EXPECT_EQ(share.minutes_held(), expected[i].minutes_held);
    EXPECT_EQ(share.spend_pence(), expected[i].spend_pence);
  }
}

void ExpectRatio(const insights::Ratio& ratio, int64_t numerator,
                 int64_t denominator) {
  EXPECT_EQ(ratio.numerator(), numerator);
  EXPECT_EQ(ratio.denominator(), denominator);
}

class TimeAndMoneyTest : public ::testing::Test {
 protected:
  TimeAndMoneyTest() {
    Scenario& s = scenario_;
    const absl::Time sep1 = Day(2025, 9, 1);
    s.School("north", sep1);
    s.School("south", sep1);
    s.Department("maths", "north", sep1);
    s.Department("english", "north", sep1);
    s.Department("art", "north", sep1);
    s.Department("science", "south", sep1);
    s.Join("ann", "north", {"maths"}, sep1);
    s.Join("ben", "north", {"maths", "english"}, sep1);
    s.Join("cat", "north", {"english"}, sep1);
    s.Join("dan", "south", {"science"}, sep1);
    s.Join("eve", "south", {"science"}, sep1);
    s.Programme("p1", {"questioning"}, sep1);
    s.Programme("p2", {"literacy"}, sep1);
    Allocate(s, "north", sep1, Day(2026, 1, 1), 600, sep1);
    Allocate(s, "south", Day(2025, 11, 1), Day(2025, 12, 1), 100, sep1);
    Allocate(s, "north", Day(2025, 12, 15), Day(2026, 2, 15), 310, sep1);
    Allocate(s, "south", Day(2026, 1, 1), Day(2026, 2, 1), 1000, sep1);
    SetBudget(s, "north", "2025-26", 500000, sep1);
    SetBudget(s, "south", "2025-26", 300000, sep1);
    SetBudget(s, "north", "2024-25", 999, sep1);
    SetBudget(s, "north", "2026-27", 777, sep1);
    Adopt(s, "pr1", "", {"questioning"}, sep1);
    Adopt(s, "pr3", "south", {"literacy"}, sep1);
    Adopt(s, "pr5", "north", {"literacy"}, sep1);

    Repurpose(s, "north", 100, Day(2025, 9, 15));
    s.Session("t5", "p1", {"questioning"}, {"ann"}, Day(2025, 9, 20),
              absl::InfinitePast(), 60);
    Spend(s, "sp5", "north", 10000, {"questioning"}, "p1", Day(2025, 9, 25));
    s.FollowUpSession("fu0", "ann", "t5", Day(2025, 9, 25));
    ClosePriority(s, "pr5", Day(2025, 9, 30));
    ClosePriority(s, "pr3", Day(2025, 10, 5));
    s.Session("t1", "p1", {"questioning"}, {"ann", "ben", "dan"},
              Day(2025, 10, 10), absl::InfinitePast(), 60);
    Spend(s, "sp1", "north", 20000, {"questioning"}, "p1", Day(2025, 10, 12));
    s.Join("fay", "north", {}, Day(2025, 10, 15));
    Repurpose(s, "north", 45, Day(2025, 10, 20));
    s.FollowUpSession("fu1", "ann", "t1", Day(2025, 10, 20));
    s.Move("dan", "north", {"maths"}, Day(2025, 11, 1));
    Adopt(s, "pr2", "north", {"behaviour"}, Day(2025, 11, 1));
    Spend(s, "sp2", "north", 5000, {"questioning", "behaviour"}, "",
          Day(2025, 11, 2));
    s.FollowUpSession("fu2", "dan", "t1", Day(2025, 11, 3));
    s.Session("t2", "p1", {"questioning", "feedback"}, {"ann", "dan", "eve"},
              Day(2025, 11, 5), absl::InfinitePast(), 90);
    after_t2_ = s.head();
    s.Session("t3", "", {"behaviour"}, {"cat", "eve"}, Day(2025, 11, 10),
              absl::InfinitePast(), 30);
    Adopt(s, "pr4", "south", {"feedback"}, Day(2025, 11, 10));
    Spend(s, "sp3", "south", 8000, {"feedback"}, "p2", Day(2025, 11, 12));
    s.FollowUpSession("fu3", "cat", "t3", Day(2025, 11, 12));
    s.Leave("cat", Day(2025, 11, 15));
    s.FollowUpSession("fu4", "eve", "t2", Day(2025, 11, 15));
    Repurpose(s, "south", 30, Day(2025, 11, 20));
    SetBudget(s, "north", "2025-26", 600000, Day(2025, 11, 20));
    Spend(s, "sp4", "south", 3000, {"literacy"}, "p2", Day(2025, 11, 25));
    s.Session("t4", "p2", {"literacy"}, {"ben", "fay"}, Day(2025, 12, 1),
              absl::InfinitePast(), 120);
    Spend(s, "sp6", "south", 1000, {}, "", Day(2025, 12, 5));
    s.RetireArea("literacy", Day(2025, 12, 10));
    ClosePriority(s, "pr2", Day(2025, 12, 15));
    s.FollowUpSession("fu5", "ben", "t4", Day(2026, 1, 3));
    s.Session("t6", "p1", {"questioning"}, {"ann"}, Day(2026, 1, 5),
              absl::InfinitePast(), 60);
  }

  insights::TimeAndMoneyView View(Scope scope,
                                  uint64_t position = UINT64_MAX) const {
    projections::ViewParams params = Params(Day(2025, 10, 1), Day(2026, 1, 1),
                                            Day(2026, 1, 1), std::move(scope));
    params.as_of_position =
        position == UINT64_MAX ? scenario_.head() : position;
    return TimeAndMoney(scenario_.History(position), params);
  }

  Scenario scenario_;
  uint64_t after_t2_ = 0;
};

TEST_F(TimeAndMoneyTest, TrustScope) {
  const insights::TimeAndMoneyView view = View(Scope::Trust());
  // A1: 3 staff in north on 1 Oct x 600 x 92/122 days = 1357 (floor);
  // A2: eve alone in south on 1 Nov (dan moved that day) = 100;
  // A3: ann ben dan fay on 15 Dec x 310 x 17/62 days = 340; A4: no overlap.
  EXPECT_EQ(view.minutes_allocated(), 1797);
  // t1 3x60 + t2 3x90 + t3 2x30 + t4 2x120.
  EXPECT_EQ(view.minutes_held(), 750);
  EXPECT_EQ(view.minutes_repurposed(), 75);
  // The 2025-26 budgets only, north's latest.
  EXPECT_EQ(view.budget_pence(), 900000);
  EXPECT_EQ(view.spend_pence(), 37000);
  // literacy is retired but listed: it has spend and minutes.
  ExpectAmounts(view.spend_by_area(), {{"", 1000, 0},
                                       {"behaviour", 5000, 60},
                                       {"feedback", 8000, 270},
                                       {"literacy", 3000, 240},
                                       {"questioning", 25000, 450},
                                       {"retrieval-practice", 0, 0}});
  ExpectAmounts(view.spend_by_programme(),
                {{"", 6000, 60}, {"p1", 20000, 450}, {"p2", 11000, 240}});
  // pr5 closed before the window; pr3 was active 1-5 Oct; sp2 counts in
  // full for pr1 and pr2.
  ExpectPriorities(view, {{"pr1", 450, 25000},
                          {"pr2", 60, 5000},
                          {"pr3", 0, 0},
                          {"pr4", 0, 8000}});
  // t4 (literacy) serves nothing; sp4 (literacy) and sp6 (no area) neither.
  ExpectRatio(view.minutes_serving_no_priority(), 240, 750);
  ExpectRatio(view.spend_serving_no_priority(), 4000, 37000);
  // Follow-ups of 20 Oct, 3 Nov, 12 Nov, 15 Nov.
  ExpectRatio(view.cost_per_evidenced_follow_up(), 37000, 4);
  EXPECT_TRUE(view.basis().scope().trust());
}

TEST_F(TimeAndMoneyTest, SchoolScopeTakesStaffWhereTheyWere) {
  const insights::TimeAndMoneyView north = View(Scope::School("north"));
  EXPECT_EQ(north.minutes_allocated(), 1697);
  // t1 ann ben 120 + t2 ann dan 180 + t3 cat 30 + t4 ben fay 240.
  EXPECT_EQ(north.minutes_held(), 570);
  EXPECT_EQ(north.minutes_repurposed(), 45);
  EXPECT_EQ(north.budget_pence(), 600000);
  EXPECT_EQ(north.spend_pence(), 25000);
  ExpectAmounts(north.spend_by_area(), {{"behaviour", 5000, 30},
                                        {"feedback", 0, 180},
                                        {"literacy", 0, 240},
                                        {"questioning", 25000, 300},
                                        {"retrieval-practice", 0, 0}});
  ExpectAmounts(north.spend_by_programme(),
                {{"", 5000, 30}, {"p1", 20000, 300}, {"p2", 0, 240}});
  ExpectPriorities(north, {{"pr1", 300, 25000}, {"pr2", 30, 5000}});
  ExpectRatio(north.minutes_serving_no_priority(), 240, 570);
  ExpectRatio(north.spend_serving_no_priority(), 0, 25000);
  // ann 20 Oct, dan 3 Nov (north by then), cat 12 Nov (before leaving).
  ExpectRatio(north.cost_per_evidenced_follow_up(), 25000, 3);

  const insights::TimeAndMoneyView south = View(Scope::School("south"));
  EXPECT_EQ(south.minutes_allocated(), 100);
  // t1 dan 60 + t2 eve 90 + t3 eve 30.
  EXPECT_EQ(south.minutes_held(), 180);
  EXPECT_EQ(south.minutes_repurposed(), 30);
  EXPECT_EQ(south.budget_pence(), 300000);
  EXPECT_EQ(south.spend_pence(), 12000);
  ExpectAmounts(south.spend_by_area(), {{"", 1000, 0},
                                        {"behaviour", 0, 30},
                                        {"feedback", 8000, 90},
                                        {"literacy", 3000, 0},
                                        {"questioning", 0, 150},
                                        {"retrieval-practice", 0, 0}});
  ExpectAmounts(south.spend_by_programme(),
                {{"", 1000, 30}, {"p1", 0, 150}, {"p2", 11000, 0}});
  // pr2 is north's: t3 serves it in north (cat) but not in south (eve).
  ExpectPriorities(south, {{"pr1", 150, 0}, {"pr3", 0, 0}, {"pr4", 0, 8000}});
  ExpectRatio(south.minutes_serving_no_priority(), 30, 180);
  ExpectRatio(south.spend_serving_no_priority(), 4000, 12000);
  ExpectRatio(south.cost_per_evidenced_follow_up(), 12000, 1);
}

TEST_F(TimeAndMoneyTest, DepartmentScope) {
  const insights::TimeAndMoneyView maths = View(Scope::Department("maths"));
  // A1: ann ben x 600 x 92/122 = 904 (floor); A3: ann ben dan x 310 x
  // 17/62 = 255.
  EXPECT_EQ(maths.minutes_allocated(), 1159);
  // t1 ann ben 120 + t2 ann dan 180 + t4 ben 120.
  EXPECT_EQ(maths.minutes_held(), 420);
  // School-level records: none in a department.
  EXPECT_EQ(maths.minutes_repurposed(), 0);
  EXPECT_EQ(maths.budget_pence(), 0);
  EXPECT_EQ(maths.spend_pence(), 0);
  ExpectAmounts(maths.spend_by_area(), {{"behaviour", 0, 0},
                                        {"feedback", 0, 180},
                                        {"literacy", 0, 120},
                                        {"questioning", 0, 300},
                                        {"retrieval-practice", 0, 0}});
  ExpectAmounts(maths.spend_by_programme(), {{"p1", 0, 300}, {"p2", 0, 120}});
  // The department's school's priorities and the trust's.
  ExpectPriorities(maths, {{"pr1", 300, 0}, {"pr2", 0, 0}});
  ExpectRatio(maths.minutes_serving_no_priority(), 120, 420);
  ExpectRatio(maths.spend_serving_no_priority(), 0, 0);
  ExpectRatio(maths.cost_per_evidenced_follow_up(), 0, 2);

  // English: A1 ben cat = 904; A3 ben = 85.
  EXPECT_EQ(View(Scope::Department("english")).minutes_allocated(), 989);
}

TEST_F(TimeAndMoneyTest, EmptyScopes) {
  const insights::TimeAndMoneyView art = View(Scope::Department("art"));
  EXPECT_EQ(art.minutes_allocated(), 0);
  EXPECT_EQ(art.minutes_held(), 0);
  EXPECT_EQ(art.minutes_repurposed(), 0);
  EXPECT_EQ(art.budget_pence(), 0);
  EXPECT_EQ(art.spend_pence(), 0);
  ExpectAmounts(art.spend_by_area(), {{"behaviour", 0, 0},
                                      {"feedback", 0, 0},
                                      {"questioning", 0, 0},
                                      {"retrieval-practice", 0, 0}});
  EXPECT_EQ(art.spend_by_programme_size(), 0);
  ExpectPriorities(art, {{"pr1", 0, 0}, {"pr2", 0, 0}});
  ExpectRatio(art.minutes_serving_no_priority(), 0, 0);
  ExpectRatio(art.spend_serving_no_priority(), 0, 0);
  ExpectRatio(art.cost_per_evidenced_follow_up(), 0, 0);

  const insights::TimeAndMoneyView nowhere = View(Scope::School("nowhere"));
  EXPECT_EQ(nowhere.minutes_allocated(), 0);
  EXPECT_EQ(nowhere.minutes_held(), 0);
  EXPECT_EQ(nowhere.budget_pence(), 0);
  EXPECT_EQ(nowhere.spend_by_area_size(), 4);
  ExpectPriorities(nowhere, {{"pr1", 0, 0}});
}

TEST_F(TimeAndMoneyTest, EarlierPositionGivesTheEarlierAnswer) {
  // Right after t2: cat has not left (5 in north on 15 Dec: A3 = 1550 x
  // 17/62 = 425), north's budget not yet revised, literacy not retired,
  // pr4 not adopted.
  const insights::TimeAndMoneyView view = View(Scope::Trust(), after_t2_);
  EXPECT_EQ(view.basis().as_of_position(), after_t2_);
  EXPECT_EQ(view.minutes_allocated(), 1882);
  EXPECT_EQ(view.minutes_held(), 450);
  EXPECT_EQ(view.minutes_repurposed(), 45);
  EXPECT_EQ(view.budget_pence(), 800000);
  EXPECT_EQ(view.spend_pence(), 25000);
  ExpectAmounts(view.spend_by_area(), {{"behaviour", 5000, 0},
                                       {"feedback", 0, 270},
                                       {"literacy", 0, 0},
                                       {"questioning", 25000, 450},
                                       {"retrieval-practice", 0, 0}});
  ExpectAmounts(view.spend_by_programme(), {{"", 5000, 0}, {"p1", 20000, 450}});
  ExpectPriorities(view,
                   {{"pr1", 450, 25000}, {"pr2", 0, 5000}, {"pr3", 0, 0}});
  ExpectRatio(view.minutes_serving_no_priority(), 0, 450);
  ExpectRatio(view.spend_serving_no_priority(), 0, 25000);
  ExpectRatio(view.cost_per_evidenced_follow_up(), 25000, 2);
}

TEST_F(TimeAndMoneyTest, BudgetCoversEveryAcademicYearTheWindowTouches) {
  const auto budget = [&](absl::Time from, absl::Time to) {
    return TimeAndMoney(scenario_.History(), Params(from, to, to))
        .budget_pence();
  };
  // August only: 2025-26.
  EXPECT_EQ(budget(Day(2026, 8, 1), Day(2026, 9, 1)), 900000);
  // Into September: 2025-26 and north's 2026-27.
  EXPECT_EQ(budget(Day(2026, 8, 1), Day(2026, 10, 1)), 900777);
  // From 31 Aug 2025: north's 2024-25 too.
  EXPECT_EQ(budget(Day(2025, 8, 31), Day(2025, 9, 2)), 900999);
}

// Amounts whose sum does not fit in 64 bits (the services accept any
// non-negative amount, and any EventStore client can append a CPD event) add
// up to the largest 64-bit value instead of overflowing. Reproduced under
// UBSan by fuzz/event_fuzzer.cc (docs/fuzzing.md).
TEST(TimeAndMoneyLimitsTest, SumsTooLargeForSixtyFourBitsSaturate) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Scenario s;
  const absl::Time sep1 = Day(2025, 9, 1);
  s.School("north", sep1);
  s.School("south", sep1);
  SetBudget(s, "north", "2025-26", kMax, sep1);
  SetBudget(s, "south", "2025-26", kMax, sep1);
  Spend(s, "sp1", "north", kMax, {"questioning"}, "p1", Day(2025, 10, 1));
  Spend(s, "sp2", "south", kMax, {"questioning"}, "p1", Day(2025, 10, 2));
  const insights::TimeAndMoneyView view =
      TimeAndMoney(s.History(), Params(sep1, Day(2026, 1, 1), Day(2026, 1, 1)));
  EXPECT_EQ(view.budget_pence(), kMax);
  EXPECT_EQ(view.spend_pence(), kMax);
  ExpectAmounts(view.spend_by_area(), {{"behaviour", 0, 0},
                                       {"feedback", 0, 0},
                                       {"literacy", 0, 0},
                                       {"questioning", kMax, 0},
                                       {"retrieval-practice", 0, 0}});
  ExpectAmounts(view.spend_by_programme(), {{"p1", kMax, 0}});
  ExpectRatio(view.spend_serving_no_priority(), kMax, kMax);
  ExpectRatio(view.cost_per_evidenced_follow_up(), kMax, 0);
}

}  // namespace
}  // namespace throughline::testing
