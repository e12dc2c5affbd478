// Follow-through view (docs/views/follow-through.md): hand-built scenarios
// with the expected figures written out.
//
// The main scenario (the worked example of the doc), window [1 Oct, 1 Dec
// 2025), as-of time 20 Nov 2025:
//   north: maths, english, art (empty); south: science.
//   ann north/maths; ben north/maths+english; cat north/english, leaves
//   20 Oct; dan south/science, moves to north/maths 15 Oct; eve
//   south/science; fay north, no department.
//   s0 p1 20 Sep (before the window) ann, due 5 Oct
//   s1 p1  6 Oct ann ben cat dan, due 20 Oct
//   s2 p2  3 Nov ann dan eve,     due 10 Dec
//   s3 --  5 Nov fay eve (literacy, retired 15 Nov), due 12 Nov
//   s4 --  10 Nov ben eve, no follow-up
//   s5 p1  1 Dec (at the window's end) ann, due 15 Dec
//   evidence: ann s1 15 Oct (on time), dan s1 20 Oct (at the due time: on
//   time), ben s1 25 Oct and 30 Oct (late), eve s2 10 Nov (on time), fay s3
//   18 Nov (late); cat s1, eve s3 overdue; ann s2, dan s2 pending.

#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "tests/view_scenario.h"

namespace throughline::testing {
namespace {

using projections::FollowThrough;
using projections::Scope;
namespace insights = ::throughline::insights::v1;

void ExpectCounts(const insights::FollowThroughCounts& counts, int64_t pairs,
                  int64_t on_time, int64_t late, int64_t overdue,
                  int64_t pending) {
  EXPECT_EQ(counts.pairs(), pairs);
  EXPECT_EQ(counts.on_time(), on_time);
  EXPECT_EQ(counts.late(), late);
  EXPECT_EQ(counts.overdue(), overdue);
  EXPECT_EQ(counts.pending(), pending);
}

void ExpectRollup(const insights::FollowThroughRollup& rollup,
                  const std::string& key, int64_t sessions, int64_t pairs,
                  int64_t on_time, int64_t late, int64_t overdue,
                  int64_t pending) {
  SCOPED_TRACE("roll-up \"" + key + "\"");
  EXPECT_EQ(rollup.key(), key);
  EXPECT_EQ(rollup.sessions(), sessions);
  ExpectCounts(rollup.counts(), pairs, on_time, late, overdue, pending);
}

void ExpectRatio(const insights::Ratio& ratio, int64_t numerator,
                 int64_t denominator) {
  EXPECT_EQ(ratio.numerator(), numerator);
  EXPECT_EQ(ratio.denominator(), denominator);
}

int64_t Seconds(absl::Time t) { return absl::ToUnixSeconds(t); }

class FollowThroughTest : public ::testing::Test {
 protected:
  FollowThroughTest() {
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
    s.Join("fay", "north", {}, sep1);
    s.Programme("p1", {"questioning"}, sep1);
    s.Programme("p2", {"feedback"}, sep1);

    s.Session("s0", "p1", {"questioning"}, {"ann"}, Day(2025, 9, 20),
              Day(2025, 10, 5));
    s.Session("s1", "p1", {"questioning"}, {"ann", "ben", "cat", "dan"},
              Day(2025, 10, 6), Day(2025, 10, 20));
    s.Move("dan", "north", {"maths"}, Day(2025, 10, 15));
    s.FollowUpSession("f1", "ann", "s1", Day(2025, 10, 15));
    s.FollowUpSession("f2", "dan", "s1", Day(2025, 10, 20));
    s.Leave("cat", Day(2025, 10, 20));
    s.FollowUpSession("f3", "ben", "s1", Day(2025, 10, 25));
    s.FollowUpSession("f4", "ben", "s1", Day(2025, 10, 30));
    s.Session("s2", "p2", {"feedback"}, {"ann", "dan", "eve"}, Day(2025, 11, 3),
              Day(2025, 12, 10));
    s.Session("s3", "", {"literacy"}, {"fay", "eve"}, Day(2025, 11, 5),
              Day(2025, 11, 12));
    s.Session("s4", "", {"behaviour"}, {"ben", "eve"}, Day(2025, 11, 10));
    s.FollowUpSession("f5", "eve", "s2", Day(2025, 11, 10));
    s.RetireArea("literacy", Day(2025, 11, 15));
    before_fay_ = s.head();
    s.FollowUpSession("f6", "fay", "s3", Day(2025, 11, 18));
    s.Session("s5", "p1", {"questioning"}, {"ann"}, Day(2025, 12, 1),
              Day(2025, 12, 15));
  }

  insights::FollowThroughView View(Scope scope,
                                   uint64_t position = UINT64_MAX) const {
    projections::ViewParams params =
        Params(Day(2025, 10, 1), Day(2025, 12, 1), Day(2025, 11, 20),
               std::move(scope));
    params.as_of_position =
        position == UINT64_MAX ? scenario_.head() : position;
    return FollowThrough(scenario_.History(position), params);
  }

  Scenario scenario_;
  uint64_t before_fay_ = 0;
};

TEST_F(FollowThroughTest, TrustScopeListsEveryPair) {
  const insights::FollowThroughView view = View(Scope::Trust());

  ASSERT_EQ(view.sessions_size(), 3);
  EXPECT_EQ(view.sessions(0).session_id(), "s1");
  EXPECT_EQ(view.sessions(0).title(), "s1");
  EXPECT_EQ(view.sessions(0).programme_id(), "p1");
  EXPECT_EQ(view.sessions(0).held_at().seconds(), Seconds(Day(2025, 10, 6)));
  EXPECT_EQ(view.sessions(0).follow_up_due().seconds(),
            Seconds(Day(2025, 10, 20)));
  ExpectCounts(view.sessions(0).counts(), 4, 2, 1, 1, 0);
  EXPECT_EQ(view.sessions(1).session_id(), "s2");
  EXPECT_EQ(view.sessions(1).programme_id(), "p2");
  ExpectCounts(view.sessions(1).counts(), 3, 1, 0, 0, 2);
  EXPECT_EQ(view.sessions(2).session_id(), "s3");
  EXPECT_EQ(view.sessions(2).programme_id(), "");
  ExpectCounts(view.sessions(2).counts(), 2, 0, 1, 1, 0);

  ASSERT_EQ(view.by_programme_size(), 3);
  ExpectRollup(view.by_programme(0), "", 1, 2, 0, 1, 1, 0);
  ExpectRollup(view.by_programme(1), "p1", 1, 4, 2, 1, 1, 0);
  ExpectRollup(view.by_programme(2), "p2", 1, 3, 1, 0, 0, 2);

  // Departments at the held time: dan is in science for s1, maths for s2;
  // ben counts in maths and english; fay is in none.
  ASSERT_EQ(view.by_department_size(), 4);
  ExpectRollup(view.by_department(0), "", 1, 1, 0, 1, 0, 0);
  ExpectRollup(view.by_department(1), "english", 1, 2, 0, 1, 1, 0);
  ExpectRollup(view.by_department(2), "maths", 2, 4, 1, 1, 0, 2);
  ExpectRollup(view.by_department(3), "science", 3, 3, 2, 0, 1, 0);

  ASSERT_EQ(view.by_school_size(), 2);
  ExpectRollup(view.by_school(0), "north", 3, 6, 1, 2, 1, 2);
  ExpectRollup(view.by_school(1), "south", 3, 3, 2, 0, 1, 0);
  ExpectRollup(view.total(), "", 3, 9, 3, 2, 2, 2);

  EXPECT_EQ(view.sessions_held(), 4);
  ExpectRatio(view.one_off_share(), 2, 4);
  ExpectRatio(view.no_follow_up_share(), 1, 4);
  EXPECT_TRUE(view.basis().scope().trust());
  EXPECT_EQ(view.basis().from().seconds(), Seconds(Day(2025, 10, 1)));
  EXPECT_EQ(view.basis().to().seconds(), Seconds(Day(2025, 12, 1)));
  EXPECT_EQ(view.basis().as_of_time().seconds(), Seconds(Day(2025, 11, 20)));
}

TEST_F(FollowThroughTest, SchoolScopeTakesAttendeesWhereTheyWereWhenHeld) {
  // North: dan is out of s1 (south then) and in s2 (north by then); cat
  // counts for s1 although she left later.
  const insights::FollowThroughView north = View(Scope::School("north"));
  ASSERT_EQ(north.sessions_size(), 3);
  EXPECT_EQ(north.sessions(0).session_id(), "s1");
  ExpectCounts(north.sessions(0).counts(), 3, 1, 1, 1, 0);
  EXPECT_EQ(north.sessions(1).session_id(), "s2");
  ExpectCounts(north.sessions(1).counts(), 2, 0, 0, 0, 2);
  EXPECT_EQ(north.sessions(2).session_id(), "s3");
  ExpectCounts(north.sessions(2).counts(), 1, 0, 1, 0, 0);
  ASSERT_EQ(north.by_department_size(), 3);
  ExpectRollup(north.by_department(0), "", 1, 1, 0, 1, 0, 0);
  ExpectRollup(north.by_department(1), "english", 1, 2, 0, 1, 1, 0);
  ExpectRollup(north.by_department(2), "maths", 2, 4, 1, 1, 0, 2);
  ASSERT_EQ(north.by_school_size(), 1);
  ExpectRollup(north.by_school(0), "north", 3, 6, 1, 2, 1, 2);
  ExpectRollup(north.total(), "", 3, 6, 1, 2, 1, 2);
  EXPECT_EQ(north.sessions_held(), 4);
  ExpectRatio(north.one_off_share(), 2, 4);
  ExpectRatio(north.no_follow_up_share(), 1, 4);
  EXPECT_EQ(north.basis().scope().school_id(), "north");

  const insights::FollowThroughView south = View(Scope::School("south"));
  ASSERT_EQ(south.sessions_size(), 3);
  ExpectCounts(south.sessions(0).counts(), 1, 1, 0, 0, 0);  // s1: dan.
  ExpectCounts(south.sessions(1).counts(), 1, 1, 0, 0, 0);  // s2: eve.
  ExpectCounts(south.sessions(2).counts(), 1, 0, 0, 1, 0);  // s3: eve.
  ASSERT_EQ(south.by_programme_size(), 3);
  ExpectRollup(south.by_programme(0), "", 1, 1, 0, 0, 1, 0);
  ExpectRollup(south.by_programme(1), "p1", 1, 1, 1, 0, 0, 0);
  ExpectRollup(south.by_programme(2), "p2", 1, 1, 1, 0, 0, 0);
  ASSERT_EQ(south.by_department_size(), 1);
  ExpectRollup(south.by_department(0), "science", 3, 3, 2, 0, 1, 0);
  ExpectRollup(south.total(), "", 3, 3, 2, 0, 1, 0);
  EXPECT_EQ(south.sessions_held(), 4);
  ExpectRatio(south.one_off_share(), 2, 4);
  ExpectRatio(south.no_follow_up_share(), 1, 4);
}

TEST_F(FollowThroughTest, DepartmentScope) {
  // Maths: s1 with ann and ben (dan was in science), s2 with ann and dan,
  // s4 (ben) held without follow-up; s3 has no one from maths.
  const insights::FollowThroughView maths = View(Scope::Department("maths"));
  ASSERT_EQ(maths.sessions_size(), 2);
  EXPECT_EQ(maths.sessions(0).session_id(), "s1");
  ExpectCounts(maths.sessions(0).counts(), 2, 1, 1, 0, 0);
  EXPECT_EQ(maths.sessions(1).session_id(), "s2");
  ExpectCounts(maths.sessions(1).counts(), 2, 0, 0, 0, 2);
  ASSERT_EQ(maths.by_programme_size(), 2);
  ExpectRollup(maths.by_programme(0), "p1", 1, 2, 1, 1, 0, 0);
  ExpectRollup(maths.by_programme(1), "p2", 1, 2, 0, 0, 0, 2);
  // Ben belongs to english too, so his pair also counts there.
  ASSERT_EQ(maths.by_department_size(), 2);
  ExpectRollup(maths.by_department(0), "english", 1, 1, 0, 1, 0, 0);
  ExpectRollup(maths.by_department(1), "maths", 2, 4, 1, 1, 0, 2);
  ASSERT_EQ(maths.by_school_size(), 1);
  ExpectRollup(maths.by_school(0), "north", 2, 4, 1, 1, 0, 2);
  ExpectRollup(maths.total(), "", 2, 4, 1, 1, 0, 2);
  EXPECT_EQ(maths.sessions_held(), 3);
  ExpectRatio(maths.one_off_share(), 1, 3);
  ExpectRatio(maths.no_follow_up_share(), 1, 3);
  EXPECT_EQ(maths.basis().scope().department_id(), "maths");
}

TEST_F(FollowThroughTest, EmptyScopes) {
  for (const Scope& scope :
       {Scope::Department("art"), Scope::School("nowhere")}) {
    SCOPED_TRACE(scope.id);
    const insights::FollowThroughView view = View(scope);
    EXPECT_EQ(view.sessions_size(), 0);
    EXPECT_EQ(view.by_programme_size(), 0);
    EXPECT_EQ(view.by_department_size(), 0);
    EXPECT_EQ(view.by_school_size(), 0);
    ExpectRollup(view.total(), "", 0, 0, 0, 0, 0, 0);
    EXPECT_EQ(view.sessions_held(), 0);
    ExpectRatio(view.one_off_share(), 0, 0);
    ExpectRatio(view.no_follow_up_share(), 0, 0);
  }
}

TEST_F(FollowThroughTest, EarlierPositionGivesTheEarlierAnswer) {
  // Before fay's evidence, her s3 pair is overdue rather than late.
  const insights::FollowThroughView view = View(Scope::Trust(), before_fay_);
  EXPECT_EQ(view.basis().as_of_position(), before_fay_);
  ASSERT_EQ(view.sessions_size(), 3);
  ExpectCounts(view.sessions(0).counts(), 4, 2, 1, 1, 0);
  ExpectCounts(view.sessions(1).counts(), 3, 1, 0, 0, 2);
  ExpectCounts(view.sessions(2).counts(), 2, 0, 0, 2, 0);
  ASSERT_EQ(view.by_school_size(), 2);
  ExpectRollup(view.by_school(0), "north", 3, 6, 1, 1, 2, 2);
  ExpectRollup(view.by_school(1), "south", 3, 3, 2, 0, 1, 0);
  ExpectRollup(view.total(), "", 3, 9, 3, 1, 3, 2);
  EXPECT_EQ(view.sessions_held(), 4);

  // And the head says late.
  ExpectRollup(View(Scope::Trust()).total(), "", 3, 9, 3, 2, 2, 2);
}

TEST_F(FollowThroughTest, LaterAsOfTimeTurnsPendingIntoOverdue) {
  projections::ViewParams params =
      Params(Day(2025, 10, 1), Day(2025, 12, 1), Day(2025, 12, 11));
  const insights::FollowThroughView view =
      FollowThrough(scenario_.History(), params);
  ASSERT_EQ(view.sessions_size(), 3);
  ExpectCounts(view.sessions(1).counts(), 3, 1, 0, 2, 0);
  ExpectRollup(view.total(), "", 3, 9, 3, 2, 4, 0);

  // Due exactly at the as-of time is still pending.
  params.as_of_time = Day(2025, 12, 10);
  ExpectCounts(FollowThrough(scenario_.History(), params).sessions(1).counts(),
               3, 1, 0, 0, 2);
}

TEST_F(FollowThroughTest, WindowPicksSessionsByHeldTime) {
  // [20 Sep, 6 Oct): s0 only; its due (5 Oct) has passed, no evidence.
  const insights::FollowThroughView view = FollowThrough(
      scenario_.History(),
      Params(Day(2025, 9, 20), Day(2025, 10, 6), Day(2025, 11, 20)));
  ASSERT_EQ(view.sessions_size(), 1);
  EXPECT_EQ(view.sessions(0).session_id(), "s0");
  ExpectCounts(view.sessions(0).counts(), 1, 0, 0, 1, 0);
  EXPECT_EQ(view.sessions_held(), 1);
  ExpectRatio(view.one_off_share(), 0, 1);
  ExpectRatio(view.no_follow_up_share(), 0, 1);
}

}  // namespace
}  // namespace throughline::testing
