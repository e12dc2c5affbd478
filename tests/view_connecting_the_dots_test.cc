// Connecting the dots (docs/views/connecting-the-dots.md): hand-built
// scenarios with every expected figure written out.

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

// A ratio or roll-up as (key, numerator, denominator).
struct Share {
  std::string key;
  int64_t numerator = 0;
  int64_t denominator = 0;

  bool operator==(const Share& other) const {
    return std::tie(key, numerator, denominator) ==
           std::tie(other.key, other.numerator, other.denominator);
  }
};

void PrintTo(const Share& share, std::ostream* os) {
  *os << "{" << share.key << " " << share.numerator << "/" << share.denominator
      << "}";
}

// An unanswered point as (observation, staff, area, observed at).
struct Unanswered {
  std::string observation_id;
  std::string staff_id;
  std::string area;
  absl::Time observed_at;

  bool operator==(const Unanswered& other) const {
    return std::tie(observation_id, staff_id, area, observed_at) ==
           std::tie(other.observation_id, other.staff_id, other.area,
                    other.observed_at);
  }
};

void PrintTo(const Unanswered& point, std::ostream* os) {
  *os << "{" << point.observation_id << " " << point.staff_id << " "
      << point.area << " " << point.observed_at << "}";
}

Share Total(const insights::ConnectingTheDotsView& view) {
  return {"", view.responded().numerator(), view.responded().denominator()};
}

std::vector<Share> SharesOf(
    const google::protobuf::RepeatedPtrField<insights::DotsRollup>& rollups) {
  std::vector<Share> shares;
  for (const insights::DotsRollup& rollup : rollups) {
    shares.push_back({rollup.key(), rollup.responded().numerator(),
                      rollup.responded().denominator()});
  }
  return shares;
}

std::vector<Unanswered> UnansweredOf(
    const insights::ConnectingTheDotsView& view) {
  std::vector<Unanswered> points;
  for (const insights::DevelopmentPoint& point : view.unanswered()) {
    EXPECT_EQ(point.responses_size(), 0);
    points.push_back({point.observation_id(), point.staff_id(), point.area(),
                      absl::FromUnixSeconds(point.observed_at().seconds()) +
                          absl::Nanoseconds(point.observed_at().nanos())});
  }
  return points;
}

// A follow-up tagged with `areas`, following up the staff member's
// observation point.
void FollowUpPoint(Scenario& s, const std::string& follow_up_id,
                   const std::string& staff_id,
                   const std::string& observation_id,
                   const std::vector<std::string>& areas, absl::Time at) {
  cpd::CpdEvent event;
  cpd::FollowUpEvidenced* f = event.mutable_follow_up_evidenced();
  f->set_follow_up_id(follow_up_id);
  f->set_staff_id(staff_id);
  f->mutable_target()->mutable_observation_point()->set_observation_id(
      observation_id);
  f->mutable_target()->mutable_observation_point()->set_area(areas.front());
  f->set_evidence_kind(cpd::EVIDENCE_KIND_LESSON_SEEN);
  for (const std::string& area : areas) f->add_areas(area);
  s.Add(at, event);
}

// The window of the main scenario and its as-of time.
const absl::Time kFrom = Day(2026, 1, 1);
const absl::Time kTo = Day(2026, 3, 1);
const absl::Time kAsOf = Day(2026, 3, 15);

// The main scenario (docs/views/connecting-the-dots.md#worked-example).
// Sets `*cut` to the position of the last event dated in January 2026.
Scenario NorthSouth(uint64_t* cut) {
  const absl::Time start = Day(2025, 9, 1);
  Scenario s(start);
  s.Area("oracy", start);
  s.School("north", start);
  s.School("south", start);
  s.Department("north-maths", "north", start);
  s.Department("north-english", "north", start);
  s.Department("south-science", "south", start);
  s.Department("south-art", "south", start);
  s.Join("a1", "north", {"north-maths"}, start);
  s.Join("a2", "north", {"north-maths", "north-english"}, start);
  s.Join("b1", "north", {"north-english"}, start);
  s.Join("c1", "south", {"south-science"}, start);
  s.Join("c2", "south", {}, start);
  s.Join("d1", "north", {"north-maths"}, start);
  s.Join("e1", "south", {"south-science"}, start);

  // Before the window: not a point.
  s.Observe("o9", "a1", Day(2025, 12, 20), {"behaviour"});

  s.Observe("o1", "a1", Day(2026, 1, 5), {"questioning", "feedback"});
  s.Observe("o2", "a2", Day(2026, 1, 10), {"behaviour"});
  s.Observe("o3", "b1", Day(2026, 1, 15), {"literacy"});
  s.Goal("g1", "a1", {"questioning", "literacy"}, Day(2026, 1, 20));
  s.Observe("o6", "d1", Day(2026, 1, 20), {"behaviour"});
  s.Observe("o8", "e1", Day(2026, 1, 25), {"questioning"});
  FollowUpPoint(s, "f2", "a2", "o2", {"behaviour"}, Day(2026, 1, 25));
  *cut = s.head();

  s.Move("d1", "south", {"south-science"}, Day(2026, 2, 1));
  s.Observe("o7", "d1", Day(2026, 2, 5), {"feedback"});
  s.Session("s2", "", {"feedback"}, {"d1", "c2"}, Day(2026, 2, 6));
  s.Observe("o5", "c2", Day(2026, 2, 10), {"feedback"});
  s.Leave("e1", Day(2026, 2, 10));
  s.Observe("o11", "b1", Day(2026, 2, 12), {"oracy", "questioning"});
  s.Goal("g2", "b1", {"questioning"}, Day(2026, 2, 13));
  // Exactly 42 days after o1: in time.
  s.Session("s1", "", {"questioning"}, {"a1"}, Day(2026, 2, 16));
  // One second more than 42 days after o1: too late.
  s.Coach("k1", "a1", "feedback", Day(2026, 2, 16) + absl::Seconds(1));
  s.Observe("o4", "c1", Day(2026, 2, 20), {"questioning"});
  s.RetireArea("oracy", Day(2026, 2, 20));
  // After the window, within 42 days of o4.
  s.Coach("k2", "c1", "questioning", Day(2026, 3, 1));
  // After the window: not a point.
  s.Observe("o10", "a1", Day(2026, 3, 5), {"literacy"});
  return s;
}

TEST(ConnectingTheDotsTest, TrustScope) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  projections::ViewParams params = Params(kFrom, kTo, kAsOf);
  params.as_of_position = s.head();
  const insights::ConnectingTheDotsView view =
      projections::ConnectingTheDots(s.History(), params);

  EXPECT_TRUE(view.basis().scope().trust());
  EXPECT_EQ(view.basis().as_of_position(), s.head());
  // 11 points; answered: o1 questioning (goal, session), o2 behaviour
  // (follow-up), o4 questioning (coaching), o7 feedback (session), o11
  // questioning (goal).
  EXPECT_EQ(Total(view), (Share{"", 5, 11}));
  EXPECT_EQ(SharesOf(view.by_school()),
            (std::vector<Share>{{"north", 3, 7}, {"south", 2, 4}}));
  // c2 is in no department.
  EXPECT_EQ(SharesOf(view.by_department()),
            (std::vector<Share>{{"north-english", 2, 4},
                                {"north-maths", 2, 4},
                                {"south-science", 2, 3}}));
  EXPECT_EQ(UnansweredOf(view),
            (std::vector<Unanswered>{
                {"o1", "a1", "feedback", Day(2026, 1, 5)},
                {"o3", "b1", "literacy", Day(2026, 1, 15)},
                {"o6", "d1", "behaviour", Day(2026, 1, 20)},
                {"o8", "e1", "questioning", Day(2026, 1, 25)},
            }));
  // o5 feedback (until 24 March) and o11 oracy (until 26 March).
  EXPECT_EQ(view.awaiting(), 2);
}

TEST(ConnectingTheDotsTest, SchoolScopeUsesThePlacementAtTheObservation) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  const projections::TrustHistory history = s.History();

  // d1 counts for north on 20 January and for south on 5 February.
  const insights::ConnectingTheDotsView north = projections::ConnectingTheDots(
      history, Params(kFrom, kTo, kAsOf, Scope::School("north")));
  EXPECT_EQ(north.basis().scope().school_id(), "north");
  EXPECT_EQ(Total(north), (Share{"", 3, 7}));
  EXPECT_EQ(SharesOf(north.by_school()), (std::vector<Share>{{"north", 3, 7}}));
  EXPECT_EQ(
      SharesOf(north.by_department()),
      (std::vector<Share>{{"north-english", 2, 4}, {"north-maths", 2, 4}}));
  EXPECT_EQ(UnansweredOf(north),
            (std::vector<Unanswered>{
                {"o1", "a1", "feedback", Day(2026, 1, 5)},
                {"o3", "b1", "literacy", Day(2026, 1, 15)},
                {"o6", "d1", "behaviour", Day(2026, 1, 20)},
            }));
  EXPECT_EQ(north.awaiting(), 1);  // o11 oracy

  // e1 left on 10 February; their point of 25 January still counts.
  const insights::ConnectingTheDotsView south = projections::ConnectingTheDots(
      history, Params(kFrom, kTo, kAsOf, Scope::School("south")));
  EXPECT_EQ(Total(south), (Share{"", 2, 4}));
  EXPECT_EQ(SharesOf(south.by_school()), (std::vector<Share>{{"south", 2, 4}}));
  EXPECT_EQ(SharesOf(south.by_department()),
            (std::vector<Share>{{"south-science", 2, 3}}));
  EXPECT_EQ(
      UnansweredOf(south),
      (std::vector<Unanswered>{{"o8", "e1", "questioning", Day(2026, 1, 25)}}));
  EXPECT_EQ(south.awaiting(), 1);  // o5 feedback
}

TEST(ConnectingTheDotsTest, DepartmentScopes) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  const projections::TrustHistory history = s.History();

  // a2 is in both north departments: their point counts in each, and the
  // roll-up lists only the scope's department.
  const insights::ConnectingTheDotsView maths = projections::ConnectingTheDots(
      history, Params(kFrom, kTo, kAsOf, Scope::Department("north-maths")));
  EXPECT_EQ(maths.basis().scope().department_id(), "north-maths");
  EXPECT_EQ(Total(maths), (Share{"", 2, 4}));
  EXPECT_EQ(SharesOf(maths.by_school()), (std::vector<Share>{{"north", 2, 4}}));
  EXPECT_EQ(SharesOf(maths.by_department()),
            (std::vector<Share>{{"north-maths", 2, 4}}));
  EXPECT_EQ(UnansweredOf(maths),
            (std::vector<Unanswered>{
                {"o1", "a1", "feedback", Day(2026, 1, 5)},
                {"o6", "d1", "behaviour", Day(2026, 1, 20)},
            }));
  EXPECT_EQ(maths.awaiting(), 0);

  const insights::ConnectingTheDotsView english =
      projections::ConnectingTheDots(
          history,
          Params(kFrom, kTo, kAsOf, Scope::Department("north-english")));
  EXPECT_EQ(Total(english), (Share{"", 2, 4}));
  EXPECT_EQ(SharesOf(english.by_school()),
            (std::vector<Share>{{"north", 2, 4}}));
  EXPECT_EQ(SharesOf(english.by_department()),
            (std::vector<Share>{{"north-english", 2, 4}}));
  EXPECT_EQ(
      UnansweredOf(english),
      (std::vector<Unanswered>{{"o3", "b1", "literacy", Day(2026, 1, 15)}}));
  EXPECT_EQ(english.awaiting(), 1);  // o11 oracy, a retired area
}

TEST(ConnectingTheDotsTest, EmptyScope) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  const insights::ConnectingTheDotsView art = projections::ConnectingTheDots(
      s.History(), Params(kFrom, kTo, kAsOf, Scope::Department("south-art")));
  EXPECT_TRUE(art.has_responded());
  EXPECT_EQ(Total(art), (Share{"", 0, 0}));
  EXPECT_TRUE(art.by_school().empty());
  EXPECT_TRUE(art.by_department().empty());
  EXPECT_TRUE(art.unanswered().empty());
  EXPECT_EQ(art.awaiting(), 0);
}

TEST(ConnectingTheDotsTest, AsOfAnEarlierPositionGivesTheEarlierAnswer) {
  uint64_t cut = 0;
  const Scenario s = NorthSouth(&cut);
  projections::ViewParams params = Params(kFrom, kTo, Day(2026, 2, 1));
  params.as_of_position = cut;
  const insights::ConnectingTheDotsView view =
      projections::ConnectingTheDots(s.History(cut), params);

  // Points of January only; answered so far: o1 questioning (goal g1) and
  // o2 behaviour (follow-up f2). No 42 days have ended by 1 February.
  EXPECT_EQ(view.basis().as_of_position(), cut);
  EXPECT_EQ(Total(view), (Share{"", 2, 6}));
  EXPECT_EQ(SharesOf(view.by_school()),
            (std::vector<Share>{{"north", 2, 5}, {"south", 0, 1}}));
  EXPECT_EQ(SharesOf(view.by_department()),
            (std::vector<Share>{{"north-english", 1, 2},
                                {"north-maths", 2, 4},
                                {"south-science", 0, 1}}));
  EXPECT_TRUE(view.unanswered().empty());
  EXPECT_EQ(view.awaiting(), 4);
}

TEST(ConnectingTheDotsTest, UnansweredOnlyOnceFortyTwoDaysHaveEnded) {
  const absl::Time start = Day(2025, 9, 1);
  Scenario s(start);
  s.School("s", start);
  s.Join("t1", "s", {}, start);
  s.Join("t2", "s", {}, start);
  s.Observe("o1", "t1", Day(2026, 1, 5), {"feedback"});
  // Before the observation, and by someone else: no response.
  s.Coach("k1", "t1", "feedback", Day(2026, 1, 5) - absl::Seconds(1));
  s.Goal("g1", "t2", {"feedback"}, Day(2026, 1, 6));
  // Follow-up evidence on another area: no response.
  FollowUpPoint(s, "f1", "t1", "o1", {"literacy"}, Day(2026, 1, 7));
  const absl::Time ends = Day(2026, 2, 16);  // 5 January + 42 days.

  const insights::ConnectingTheDotsView at_end = projections::ConnectingTheDots(
      s.History(), Params(kFrom, kTo, ends, Scope::School("s")));
  EXPECT_EQ(Total(at_end), (Share{"", 0, 1}));
  EXPECT_TRUE(at_end.unanswered().empty());
  EXPECT_EQ(at_end.awaiting(), 1);

  const insights::ConnectingTheDotsView after = projections::ConnectingTheDots(
      s.History(),
      Params(kFrom, kTo, ends + absl::Seconds(1), Scope::School("s")));
  EXPECT_EQ(
      UnansweredOf(after),
      (std::vector<Unanswered>{{"o1", "t1", "feedback", Day(2026, 1, 5)}}));
  EXPECT_EQ(after.awaiting(), 0);
}

TEST(ConnectingTheDotsTest, FortyTwoDaysIncludeTheirLastMoment) {
  const absl::Time start = Day(2025, 9, 1);
  Scenario s(start);
  s.School("s", start);
  s.Join("t1", "s", {}, start);
  const absl::Time observed = Day(2026, 1, 5) + absl::Hours(10);
  s.Observe("o1", "t1", observed, {"feedback", "literacy", "questioning"});
  // Exactly 42 x 24 h later: a response. One second more: none.
  s.Session("s1", "", {"feedback"}, {"t1"}, observed + absl::Hours(42 * 24));
  s.Goal("g1", "t1", {"literacy"},
         observed + absl::Hours(42 * 24) + absl::Seconds(1));
  // At the observation's own time: a response.
  s.Coach("k1", "t1", "questioning", observed);

  const insights::ConnectingTheDotsView view =
      projections::ConnectingTheDots(s.History(), Params(kFrom, kTo, kAsOf));
  EXPECT_EQ(Total(view), (Share{"", 2, 3}));
  EXPECT_EQ(UnansweredOf(view),
            (std::vector<Unanswered>{{"o1", "t1", "literacy", observed}}));
  EXPECT_EQ(view.awaiting(), 0);
}

TEST(ConnectingTheDotsTest, EachAreaOfAnObservationIsOnePoint) {
  const absl::Time start = Day(2025, 9, 1);
  Scenario s(start);
  s.School("s", start);
  s.Join("t1", "s", {}, start);
  // The same area twice is one point; a session on two of its areas
  // answers both.
  s.Observe("o1", "t1", Day(2026, 1, 5),
            {"feedback", "literacy", "feedback", "behaviour"});
  s.Session("s1", "", {"feedback", "literacy"}, {"t1"}, Day(2026, 1, 6));

  const insights::ConnectingTheDotsView view =
      projections::ConnectingTheDots(s.History(), Params(kFrom, kTo, kAsOf));
  EXPECT_EQ(Total(view), (Share{"", 2, 3}));
  EXPECT_EQ(SharesOf(view.by_school()), (std::vector<Share>{{"s", 2, 3}}));
  EXPECT_TRUE(view.by_department().empty());
  EXPECT_EQ(
      UnansweredOf(view),
      (std::vector<Unanswered>{{"o1", "t1", "behaviour", Day(2026, 1, 5)}}));
}

}  // namespace
}  // namespace throughline::testing
