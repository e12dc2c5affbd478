// 1. Emergent training needs (docs/views/emergent-needs.md).
//
// Per active area, over facts whose occurred time is in [from, to):
// - observation: distinct observed staff with the area among development
//   points, the observed person in scope at the observation time;
// - coaching: distinct coachees with the area as focus (coachee in scope);
// - appraisal: distinct staff with a goal set on the area (reviews do not
//   count);
// - identified need: distinct staff named by staff-level needs (named person
//   in scope); trust-, school- and department-level needs count in
//   `scope_level_needs`, in the scopes that contain them (a trust need only
//   in trust scope; a school need in that school and the trust; a department
//   need in that department, its school and the trust);
// - learning walks: walks noting the area as a development point, counting
//   for their department (if any), their school and the trust.
// In trust scope every signal counts. silos = the five with a non-zero figure
// (a scope-level need makes the identified-need silo non-zero); flagged =
// the union of the four person-level silos; covered = flagged staff who
// attended any session held in the window on the area, whatever its scope;
// sessions = those sessions; previous = flagged over the window of equal
// length before `from`. Emergent: silos >= min_silos, uncovered >=
// min_uncovered_staff and 100 * uncovered >= min_uncovered_percent * staff in
// scope. Rows: every active area, by uncovered desc, silos desc, area code.

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "projections/views.h"

namespace throughline::projections {
namespace {

constexpr int64_t kDefaultMinSilos = 2;
constexpr int64_t kDefaultMinUncoveredStaff = 3;
constexpr int64_t kDefaultMinUncoveredPercent = 10;

using StaffSet = std::set<std::string>;

bool InWindow(absl::Time t, absl::Time from, absl::Time to) {
  return from <= t && t < to;
}

// Whether a record about `staff_id` at `t` counts in `scope`.
bool PersonInScope(const TrustState& state, const std::string& staff_id,
                   const Scope& scope, absl::Time t) {
  if (scope.kind == Scope::Kind::kTrust) return true;
  const StaffMember* member = state.FindStaff(staff_id);
  return member != nullptr && InScopeAt(*member, scope, t);
}

// Whether a trust-, school- or department-level need counts in `scope`.
bool NeedScopeInScope(const TrustState& state, const cpd::Scope& need,
                      const Scope& scope) {
  switch (need.target_case()) {
    case cpd::Scope::kTrust:
      return scope.kind == Scope::Kind::kTrust;
    case cpd::Scope::kSchoolId:
      return SchoolInScope(need.school_id(), scope);
    case cpd::Scope::kDepartmentId: {
      if (scope.kind == Scope::Kind::kDepartment) {
        return need.department_id() == scope.id;
      }
      const std::string* school = state.DepartmentSchool(need.department_id());
      return scope.kind == Scope::Kind::kTrust ||
             (school != nullptr && SchoolInScope(*school, scope));
    }
    case cpd::Scope::kStaffId:
    case cpd::Scope::TARGET_NOT_SET:
      return false;
  }
  return false;
}

// A walk counts for its department (if any), its school and the trust.
bool WalkInScope(const cpd::LearningWalkRecorded& walk, const Scope& scope) {
  if (scope.kind == Scope::Kind::kDepartment) {
    return !walk.department_id().empty() && walk.department_id() == scope.id;
  }
  return SchoolInScope(walk.school_id(), scope);
}

// The signals of one window and scope, per area.
struct Signals {
  std::map<std::string, StaffSet> observation;
  std::map<std::string, StaffSet> coaching;
  std::map<std::string, StaffSet> appraisal;
  std::map<std::string, StaffSet> identified_need;
  std::map<std::string, int64_t> scope_level_needs;
  std::map<std::string, std::set<std::string>> walks;  // Walk ids.

  // The union of the four person-level silos for `area`.
  StaffSet Flagged(const std::string& area) const {
    StaffSet flagged;
    for (const auto* silo :
         {&observation, &coaching, &appraisal, &identified_need}) {
      auto it = silo->find(area);
      if (it != silo->end())
        flagged.insert(it->second.begin(), it->second.end());
    }
    return flagged;
  }
};

Signals SignalsIn(const TrustHistory& history, const Scope& scope,
                  absl::Time from, absl::Time to) {
  const TrustState& state = history.state();
  Signals signals;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kObservationRecorded)) {
    const cpd::ObservationRecorded& o = fact.event.observation_recorded();
    if (!InWindow(fact.occurred_at, from, to) ||
        !PersonInScope(state, o.observed_staff_id(), scope, fact.occurred_at)) {
      continue;
    }
    for (const std::string& area : o.development_points()) {
      signals.observation[area].insert(o.observed_staff_id());
    }
  }
  for (const Fact& fact :
       history.Of(cpd::CpdEvent::kCoachingConversationHeld)) {
    const cpd::CoachingConversationHeld& c =
        fact.event.coaching_conversation_held();
    if (InWindow(fact.occurred_at, from, to) &&
        PersonInScope(state, c.coachee_staff_id(), scope, fact.occurred_at)) {
      signals.coaching[c.focus_area()].insert(c.coachee_staff_id());
    }
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kAppraisalGoalSet)) {
    const cpd::AppraisalGoalSet& g = fact.event.appraisal_goal_set();
    if (!InWindow(fact.occurred_at, from, to) ||
        !PersonInScope(state, g.staff_id(), scope, fact.occurred_at)) {
      continue;
    }
    for (const std::string& area : g.areas()) {
      signals.appraisal[area].insert(g.staff_id());
    }
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kTrainingNeedIdentified)) {
    const cpd::TrainingNeedIdentified& n =
        fact.event.training_need_identified();
    if (!InWindow(fact.occurred_at, from, to)) continue;
    if (n.scope().has_staff_id()) {
      if (PersonInScope(state, n.scope().staff_id(), scope, fact.occurred_at)) {
        signals.identified_need[n.area()].insert(n.scope().staff_id());
      }
    } else if (NeedScopeInScope(state, n.scope(), scope)) {
      ++signals.scope_level_needs[n.area()];
    }
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kLearningWalkRecorded)) {
    const cpd::LearningWalkRecorded& w = fact.event.learning_walk_recorded();
    if (!InWindow(fact.occurred_at, from, to) || !WalkInScope(w, scope)) {
      continue;
    }
    for (const std::string& area : w.development_points()) {
      signals.walks[area].insert(w.walk_id());
    }
  }
  return signals;
}

template <typename Map>
int64_t SizeFor(const Map& map, const std::string& area) {
  auto it = map.find(area);
  return it == map.end() ? 0 : static_cast<int64_t>(it->second.size());
}

int64_t Threshold(uint32_t configured, int64_t fallback) {
  return configured == 0 ? fallback : static_cast<int64_t>(configured);
}

}  // namespace

insights::EmergentNeedsView EmergentNeeds(const TrustHistory& history,
                                          const ViewParams& params) {
  insights::EmergentNeedsView view;
  SetBasis(params, view.mutable_basis());
  const TrustState& state = history.state();

  int64_t staff_in_scope = 0;
  for (const auto& [id, member] : state.staff()) {
    if (InScopeDuring(member, params.scope, params.from, params.to)) {
      ++staff_in_scope;
    }
  }
  view.set_staff_in_scope(staff_in_scope);
  const cpd::TrustRegistered& trust = state.trust();
  view.set_min_silos(Threshold(trust.emergent_min_silos(), kDefaultMinSilos));
  view.set_min_uncovered_staff(Threshold(trust.emergent_min_uncovered_staff(),
                                         kDefaultMinUncoveredStaff));
  view.set_min_uncovered_percent(Threshold(
      trust.emergent_min_uncovered_percent(), kDefaultMinUncoveredPercent));

  const Signals now = SignalsIn(history, params.scope, params.from, params.to);
  const Signals before =
      SignalsIn(history, params.scope, params.from - (params.to - params.from),
                params.from);

  // Sessions held in the window, and their attendees, per area (any scope).
  std::map<std::string, std::set<std::string>> sessions;
  std::map<std::string, StaffSet> attendees;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionHeld)) {
    if (!InWindow(fact.occurred_at, params.from, params.to)) continue;
    const cpd::SessionHeld& held = fact.event.session_held();
    for (const std::string& area : held.areas()) {
      sessions[area].insert(held.session_id());
      attendees[area].insert(held.attendee_staff_ids().begin(),
                             held.attendee_staff_ids().end());
    }
  }

  std::vector<insights::EmergentNeedRow> rows;
  for (const Area& area : state.areas()) {
    if (area.retired) continue;
    const std::string& code = area.code;
    insights::EmergentNeedRow row;
    row.set_area(code);
    row.set_label(area.label);
    row.set_observation_staff(SizeFor(now.observation, code));
    row.set_coaching_staff(SizeFor(now.coaching, code));
    row.set_appraisal_staff(SizeFor(now.appraisal, code));
    row.set_identified_need_staff(SizeFor(now.identified_need, code));
    auto scope_level = now.scope_level_needs.find(code);
    row.set_scope_level_needs(
        scope_level == now.scope_level_needs.end() ? 0 : scope_level->second);
    row.set_learning_walks(SizeFor(now.walks, code));
    row.set_silos((row.observation_staff() > 0) + (row.coaching_staff() > 0) +
                  (row.appraisal_staff() > 0) +
                  (row.identified_need_staff() + row.scope_level_needs() > 0) +
                  (row.learning_walks() > 0));

    const StaffSet flagged = now.Flagged(code);
    int64_t covered = 0;
    auto attended = attendees.find(code);
    if (attended != attendees.end()) {
      for (const std::string& id : flagged) {
        covered += static_cast<int64_t>(attended->second.count(id));
      }
    }
    row.set_staff_flagged(static_cast<int64_t>(flagged.size()));
    row.set_covered(covered);
    row.set_uncovered(row.staff_flagged() - covered);
    row.set_sessions(SizeFor(sessions, code));
    row.set_staff_flagged_previous(
        static_cast<int64_t>(before.Flagged(code).size()));
    row.set_trend(row.staff_flagged() - row.staff_flagged_previous());
    row.set_emergent(row.silos() >= view.min_silos() &&
                     row.uncovered() >= view.min_uncovered_staff() &&
                     100 * row.uncovered() >=
                         view.min_uncovered_percent() * staff_in_scope);
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(),
            [](const insights::EmergentNeedRow& a,
               const insights::EmergentNeedRow& b) {
              return std::make_tuple(-a.uncovered(), -a.silos(), a.area()) <
                     std::make_tuple(-b.uncovered(), -b.silos(), b.area());
            });
  for (insights::EmergentNeedRow& row : rows) {
    *view.add_rows() = std::move(row);
  }
  return view;
}

}  // namespace throughline::projections
