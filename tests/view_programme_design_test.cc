// Programme design view (docs/views/programme-design.md): hand-built
// scenarios with the expected figures written out.
//
// The main scenario (the worked example of the doc), window [1 Oct, 1 Dec
// 2025):
//   north: maths, english, art (empty); south: science.
//   ann north/maths; ben north/maths+english; cat north/english, leaves
//   20 Oct; dan south/science, moves to north/maths 15 Oct; eve
//   south/science.
//   p1 mastery, p2 enquiry, p3 mastery.
//   q0 p3 15 Sep (before the window) ann          C D
//   q1 p1  2 Oct ann dan                          A C
//   q4 p2  8 Oct cat eve (literacy, retired 25 Oct) A
//   f1 ann on q1, 9 Oct                           D
//   q6 --  9 Oct ann
//   q5 -- 10 Oct eve
//   f2 cat on q4, 12 Oct                          C
//   q2 p1 16 Oct ann ben dan                      C
//   q3 p1 19 Nov ben eve                          B
//   f3 eve on q3, 25 Nov                          (none)
//   q7 p2  1 Dec (at the window's end) eve        C D

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/view_scenario.h"

namespace throughline::testing {
namespace {

using projections::ProgrammeDesign;
using projections::Scope;
namespace insights = ::throughline::insights::v1;

void ExpectProgramme(const insights::ProgrammeDesign& row,
                     const std::string& programme_id, int64_t sessions_held,
                     int64_t span_weeks, int64_t followed_up, int64_t attendees,
                     const std::vector<std::string>& groups,
                     bool reaches_techniques, bool reaches_embedding,
                     bool flagged) {
  SCOPED_TRACE("programme " + programme_id);
  EXPECT_EQ(row.programme_id(), programme_id);
  EXPECT_EQ(row.title(), programme_id);
  EXPECT_EQ(row.sessions_held(), sessions_held);
  EXPECT_EQ(row.span_weeks(), span_weeks);
  EXPECT_EQ(row.attendees_with_follow_up().numerator(), followed_up);
  EXPECT_EQ(row.attendees_with_follow_up().denominator(), attendees);
  EXPECT_EQ(std::vector<std::string>(row.mechanism_groups().begin(),
                                     row.mechanism_groups().end()),
            groups);
  EXPECT_EQ(row.reaches_techniques(), reaches_techniques);
  EXPECT_EQ(row.reaches_embedding(), reaches_embedding);
  EXPECT_EQ(row.flagged(), flagged);
}

std::vector<std::string> OneOffIds(const insights::ProgrammeDesignView& view) {
  return {view.one_off_session_ids().begin(), view.one_off_session_ids().end()};
}

class ProgrammeDesignTest : public ::testing::Test {
 protected:
  ProgrammeDesignTest() {
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
    s.Programme("p1", {"questioning"}, sep1, cpd::PROGRAMME_KIND_MASTERY);
    s.Programme("p2", {"literacy"}, sep1, cpd::PROGRAMME_KIND_ENQUIRY);
    s.Programme("p3", {"feedback"}, sep1, cpd::PROGRAMME_KIND_MASTERY);

    const absl::Time none = absl::InfinitePast();
    s.Session("q0", "p3", {"feedback"}, {"ann"}, Day(2025, 9, 15), none, 60, 0,
              {cpd::MECHANISM_C_MODELLING, cpd::MECHANISM_D_PROMPTS_AND_CUES});
    s.Session(
        "q1", "p1", {"questioning"}, {"ann", "dan"}, Day(2025, 10, 2),
        Day(2025, 10, 16), 60, 0,
        {cpd::MECHANISM_A_MANAGING_COGNITIVE_LOAD, cpd::MECHANISM_C_MODELLING});
    s.Session("q4", "p2", {"literacy"}, {"cat", "eve"}, Day(2025, 10, 8), none,
              60, 0, {cpd::MECHANISM_A_REVISITING_PRIOR_LEARNING});
    after_q4_ = s.head();
    s.FollowUpSession("f1", "ann", "q1", Day(2025, 10, 9), {},
                      {cpd::MECHANISM_D_ACTION_PLANNING});
    s.Session("q6", "", {"behaviour"}, {"ann"}, Day(2025, 10, 9));
    s.Session("q5", "", {"behaviour"}, {"eve"}, Day(2025, 10, 10));
    s.FollowUpSession("f2", "cat", "q4", Day(2025, 10, 12), {},
                      {cpd::MECHANISM_C_MONITORING_AND_FEEDBACK});
    s.Move("dan", "north", {"maths"}, Day(2025, 10, 15));
    s.Session("q2", "p1", {"questioning"}, {"ann", "ben", "dan"},
              Day(2025, 10, 16), none, 60, 0, {cpd::MECHANISM_C_REHEARSING});
    s.Leave("cat", Day(2025, 10, 20));
    s.RetireArea("literacy", Day(2025, 10, 25));
    s.Session("q3", "p1", {"questioning"}, {"ben", "eve"}, Day(2025, 11, 19),
              none, 60, 0, {cpd::MECHANISM_B_CREDIBLE_SOURCE});
    s.FollowUpSession("f3", "eve", "q3", Day(2025, 11, 25));
    s.Session("q7", "p2", {"feedback"}, {"eve"}, Day(2025, 12, 1), none, 60, 0,
              {cpd::MECHANISM_C_MODELLING, cpd::MECHANISM_D_ACTION_PLANNING});
  }

  insights::ProgrammeDesignView View(Scope scope,
                                     uint64_t position = UINT64_MAX) const {
    projections::ViewParams params = Params(Day(2025, 10, 1), Day(2025, 12, 1),
                                            Day(2025, 12, 1), std::move(scope));
    params.as_of_position =
        position == UINT64_MAX ? scenario_.head() : position;
    return ProgrammeDesign(scenario_.History(position), params);
  }

  Scenario scenario_;
  uint64_t after_q4_ = 0;
};

TEST_F(ProgrammeDesignTest, TrustScope) {
  const insights::ProgrammeDesignView view = View(Scope::Trust());
  // p3 held nothing in the window; q7 is at the window's end.
  ASSERT_EQ(view.programmes_size(), 2);
  // 2 Oct to 19 Nov is 48 days: 6 whole weeks.
  ExpectProgramme(view.programmes(0), "p1", 3, 6, 2, 4, {"A", "B", "C", "D"},
                  true, true, false);
  EXPECT_EQ(view.programmes(0).kind(), cpd::PROGRAMME_KIND_MASTERY);
  // Reaches C only through cat's follow-up; never D.
  ExpectProgramme(view.programmes(1), "p2", 1, 0, 1, 2, {"A", "C"}, true, false,
                  true);
  EXPECT_EQ(view.programmes(1).kind(), cpd::PROGRAMME_KIND_ENQUIRY);
  EXPECT_EQ(view.one_off_sessions(), 2);
  EXPECT_EQ(OneOffIds(view), (std::vector<std::string>{"q5", "q6"}));
  EXPECT_TRUE(view.basis().scope().trust());
}

TEST_F(ProgrammeDesignTest, SchoolScopeTakesAttendeesWhereTheyWereWhenHeld) {
  // North: q1 through ann (dan was in south), q2 all three, q3 through ben;
  // only ann of {ann, ben, dan} followed up. cat counts for q4 although she
  // left later.
  const insights::ProgrammeDesignView north = View(Scope::School("north"));
  ASSERT_EQ(north.programmes_size(), 2);
  ExpectProgramme(north.programmes(0), "p1", 3, 6, 1, 3, {"A", "B", "C", "D"},
                  true, true, false);
  ExpectProgramme(north.programmes(1), "p2", 1, 0, 1, 1, {"A", "C"}, true,
                  false, true);
  EXPECT_EQ(north.one_off_sessions(), 1);
  EXPECT_EQ(OneOffIds(north), (std::vector<std::string>{"q6"}));

  // South: q1 through dan, q3 through eve (q2 came after dan moved). The
  // groups include those of every follow-up on these sessions (ann's D on
  // q1, cat's C on q4), whoever made it.
  const insights::ProgrammeDesignView south = View(Scope::School("south"));
  ASSERT_EQ(south.programmes_size(), 2);
  ExpectProgramme(south.programmes(0), "p1", 2, 6, 1, 2, {"A", "B", "C", "D"},
                  true, true, false);
  ExpectProgramme(south.programmes(1), "p2", 1, 0, 0, 1, {"A", "C"}, true,
                  false, true);
  EXPECT_EQ(south.one_off_sessions(), 1);
  EXPECT_EQ(OneOffIds(south), (std::vector<std::string>{"q5"}));
}

TEST_F(ProgrammeDesignTest, DepartmentScope) {
  // English: ben at q2 and q3 (16 Oct to 19 Nov: 34 days, 4 weeks), cat at
  // q4; no one-off session.
  const insights::ProgrammeDesignView english =
      View(Scope::Department("english"));
  ASSERT_EQ(english.programmes_size(), 2);
  ExpectProgramme(english.programmes(0), "p1", 2, 4, 0, 1, {"B", "C"}, true,
                  false, true);
  ExpectProgramme(english.programmes(1), "p2", 1, 0, 1, 1, {"A", "C"}, true,
                  false, true);
  EXPECT_EQ(english.one_off_sessions(), 0);
  EXPECT_EQ(english.basis().scope().department_id(), "english");
}

TEST_F(ProgrammeDesignTest, EmptyScopes) {
  for (const Scope& scope :
       {Scope::Department("art"), Scope::School("nowhere")}) {
    SCOPED_TRACE(scope.id);
    const insights::ProgrammeDesignView view = View(scope);
    EXPECT_EQ(view.programmes_size(), 0);
    EXPECT_EQ(view.one_off_sessions(), 0);
    EXPECT_EQ(view.one_off_session_ids_size(), 0);
  }
}

TEST_F(ProgrammeDesignTest, EarlierPositionGivesTheEarlierAnswer) {
  // Right after q4: no follow-up yet, q2, q3 and the one-offs not held.
  const insights::ProgrammeDesignView view = View(Scope::Trust(), after_q4_);
  EXPECT_EQ(view.basis().as_of_position(), after_q4_);
  ASSERT_EQ(view.programmes_size(), 2);
  ExpectProgramme(view.programmes(0), "p1", 1, 0, 0, 2, {"A", "C"}, true, false,
                  true);
  ExpectProgramme(view.programmes(1), "p2", 1, 0, 0, 2, {"A"}, false, false,
                  true);
  EXPECT_EQ(view.one_off_sessions(), 0);
}

TEST_F(ProgrammeDesignTest, WindowPicksSessionsByHeldTime) {
  // [1 Sep, 2 Oct): only p3's q0, which reaches C and D.
  const insights::ProgrammeDesignView view = ProgrammeDesign(
      scenario_.History(),
      Params(Day(2025, 9, 1), Day(2025, 10, 2), Day(2025, 12, 1)));
  ASSERT_EQ(view.programmes_size(), 1);
  ExpectProgramme(view.programmes(0), "p3", 1, 0, 0, 1, {"C", "D"}, true, true,
                  false);
  EXPECT_EQ(view.one_off_sessions(), 0);
}

}  // namespace
}  // namespace throughline::testing
