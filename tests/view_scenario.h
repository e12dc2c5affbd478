// Scenario: builds a trust's history by hand for view tests — facts with
// explicit occurred times and consecutive log positions, no server needed.
// Expected figures in view tests are written out by hand, never computed by
// the code under test.

#ifndef THROUGHLINE_TESTS_VIEW_SCENARIO_H_
#define THROUGHLINE_TESTS_VIEW_SCENARIO_H_

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "projections/history.h"
#include "projections/views.h"

namespace throughline::testing {

namespace cpd = ::throughline::cpd::v1;

// Midnight UTC of a day.
absl::Time Day(int year, int month, int day);

class Scenario {
 public:
  // Registers the trust at `registered` with the default thresholds and the
  // areas "behaviour", "questioning", "feedback", "literacy" and
  // "retrieval-practice".
  explicit Scenario(absl::Time registered = Day(2025, 9, 1));

  // Appends any event at `at`; returns its log position.
  uint64_t Add(absl::Time at, cpd::CpdEvent event);

  // Organisation.
  void School(const std::string& school_id, absl::Time at);
  void Department(const std::string& department_id,
                  const std::string& school_id, absl::Time at);
  void Area(const std::string& code, absl::Time at);
  void RetireArea(const std::string& code, absl::Time at);

  // Staff.
  void Join(const std::string& staff_id, const std::string& school_id,
            const std::vector<std::string>& departments, absl::Time at);
  void Move(const std::string& staff_id, const std::string& school_id,
            const std::vector<std::string>& departments, absl::Time at);
  void Leave(const std::string& staff_id, absl::Time at);

  // Silos.
  void Observe(const std::string& observation_id, const std::string& staff_id,
               absl::Time at,
               const std::vector<std::string>& development_points,
               const std::vector<std::pair<std::string, int>>& ratings = {},
               const std::string& observer_id = "observer");
  void Walk(const std::string& walk_id, const std::string& school_id,
            const std::string& department_id,
            const std::vector<std::string>& development_points, absl::Time at);
  void Coach(const std::string& conversation_id, const std::string& coachee_id,
             const std::string& focus_area, absl::Time at,
             const std::string& coach_id = "coach");
  void Goal(const std::string& goal_id, const std::string& staff_id,
            const std::vector<std::string>& areas, absl::Time at);
  void Review(const std::string& goal_id, cpd::GoalOutcome outcome,
              absl::Time at);
  void Need(const std::string& need_id, const cpd::Scope& scope,
            const std::string& area, absl::Time at);
  void Programme(const std::string& programme_id,
                 const std::vector<std::string>& areas, absl::Time at,
                 cpd::ProgrammeKind kind = cpd::PROGRAMME_KIND_MASTERY,
                 uint32_t follow_up_days = 0);
  // A session held at `at`; `follow_up_due` of InfinitePast means none.
  void Session(const std::string& session_id, const std::string& programme_id,
               const std::vector<std::string>& areas,
               const std::vector<std::string>& attendees, absl::Time at,
               absl::Time follow_up_due = absl::InfinitePast(),
               int minutes = 60, int64_t cost_pence = 0,
               const std::vector<cpd::Mechanism>& mechanisms = {});
  void FollowUpSession(const std::string& follow_up_id,
                       const std::string& staff_id,
                       const std::string& session_id, absl::Time at,
                       const std::vector<std::string>& areas = {},
                       const std::vector<cpd::Mechanism>& mechanisms = {});

  // The history with every fact added so far (or up to `position`).
  projections::TrustHistory History(uint64_t position = UINT64_MAX) const;

  uint64_t head() const { return facts_.size(); }

 private:
  std::vector<projections::Fact> facts_;
};

// Parameters for a trust-wide view over [from, to) as of `as_of`.
projections::ViewParams Params(
    absl::Time from, absl::Time to, absl::Time as_of,
    projections::Scope scope = projections::Scope::Trust());

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_VIEW_SCENARIO_H_
