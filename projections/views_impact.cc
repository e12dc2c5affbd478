// 6. Impact (docs/views/impact.md): per active area, observation ratings on
// the area before and after CPD on it, for attendees and for everyone else,
// over facts in the window [from, to) of occurred times.
//
// - A session "on the area" is a SessionHeld in the window whose areas
//   include it and that belongs to the scope: trust scope takes every
//   session; a school or department scope takes a session when at least one
//   attendee belonged to the scope when it was held, and only those
//   attendees count (as in follow-through).
// - Ratings count from ObservationRecorded in the window whose observed
//   person belonged to the scope at the observation's time (trust: all).
// - attendees = distinct staff counted at sessions on the area. For each,
//   T(a) = the held time of their first such session: attendees_before sums
//   their ratings on the area at times < T(a), attendees_after at >= T(a).
// - others = everyone else observed: split at T0, the held time of the
//   area's first session on it (with none, every rating is "before").
// - evaluations_by_level: ImpactEvaluated in the window whose session has the
//   area among its areas, or whose programme has; 5 counts, index 0 = level
//   1. Evaluations are not filtered by scope.
// Ratios are (sum of ratings, number of ratings).

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "projections/views.h"

namespace throughline::projections {
namespace {

constexpr int kLevels = 5;

// Who attended sessions on one area, and when first.
struct AreaSessions {
  // Attendee -> held time of their first session on the area.
  absl::flat_hash_map<std::string, absl::Time> first_attended;
  // Held time of the area's first session.
  std::optional<absl::Time> first_session;
};

struct AreaFigures {
  insights::Ratio attendees_before;
  insights::Ratio attendees_after;
  insights::Ratio others_before;
  insights::Ratio others_after;
  int64_t evaluations_by_level[kLevels] = {};
};

void AddRating(int rating, insights::Ratio* ratio) {
  ratio->set_numerator(ratio->numerator() + rating);
  ratio->set_denominator(ratio->denominator() + 1);
}

void KeepEarliest(absl::Time t, std::optional<absl::Time>* earliest) {
  if (!earliest->has_value() || t < **earliest) *earliest = t;
}

}  // namespace

insights::ImpactView Impact(const TrustHistory& history,
                            const ViewParams& params) {
  const TrustState& state = history.state();
  const bool trust = params.scope.kind == Scope::Kind::kTrust;
  auto in_window = [&](absl::Time t) {
    return params.from <= t && t < params.to;
  };
  auto in_scope = [&](const std::string& staff_id, absl::Time t) {
    if (trust) return true;
    const StaffMember* member = state.FindStaff(staff_id);
    return member != nullptr && InScopeAt(*member, params.scope, t);
  };

  // Sessions on each area, with their attendees in scope.
  absl::flat_hash_map<std::string, AreaSessions> sessions;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionHeld)) {
    if (!in_window(fact.occurred_at)) continue;
    const auto& held = fact.event.session_held();
    std::vector<std::string> attendees;
    for (const std::string& a : held.attendee_staff_ids()) {
      if (in_scope(a, fact.occurred_at)) attendees.push_back(a);
    }
    if (!trust && attendees.empty()) continue;
    for (const std::string& area : held.areas()) {
      AreaSessions& on_area = sessions[area];
      KeepEarliest(fact.occurred_at, &on_area.first_session);
      for (const std::string& a : attendees) {
        auto [it, added] =
            on_area.first_attended.try_emplace(a, fact.occurred_at);
        if (!added && fact.occurred_at < it->second) {
          it->second = fact.occurred_at;
        }
      }
    }
  }

  absl::flat_hash_map<std::string, AreaFigures> figures;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kObservationRecorded)) {
    const auto& observation = fact.event.observation_recorded();
    const std::string& staff_id = observation.observed_staff_id();
    if (!in_window(fact.occurred_at) || !in_scope(staff_id, fact.occurred_at)) {
      continue;
    }
    for (const cpd::AreaRating& rating : observation.ratings()) {
      AreaFigures& area = figures[rating.area()];
      auto on_area = sessions.find(rating.area());
      if (on_area != sessions.end()) {
        auto first = on_area->second.first_attended.find(staff_id);
        if (first != on_area->second.first_attended.end()) {
          AddRating(rating.rating(), fact.occurred_at < first->second
                                         ? &area.attendees_before
                                         : &area.attendees_after);
          continue;
        }
      }
      const bool before = on_area == sessions.end() ||
                          !on_area->second.first_session.has_value() ||
                          fact.occurred_at < *on_area->second.first_session;
      AddRating(rating.rating(),
                before ? &area.others_before : &area.others_after);
    }
  }

  // Evaluations, by the areas of their session or programme.
  absl::flat_hash_map<std::string, std::vector<std::string>> programme_areas;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kProgrammeLaunched)) {
    const auto& launched = fact.event.programme_launched();
    programme_areas[launched.programme_id()].assign(launched.areas().begin(),
                                                    launched.areas().end());
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kImpactEvaluated)) {
    const auto& evaluation = fact.event.impact_evaluated();
    const int level = static_cast<int>(evaluation.level());
    if (!in_window(fact.occurred_at) || level < 1 || level > kLevels) continue;
    const std::vector<std::string>* areas = nullptr;
    if (!evaluation.session_id().empty()) {
      const Session* session = state.FindSession(evaluation.session_id());
      if (session != nullptr) areas = &session->areas;
    } else {
      auto it = programme_areas.find(evaluation.programme_id());
      if (it != programme_areas.end()) areas = &it->second;
    }
    if (areas == nullptr) continue;
    absl::flat_hash_set<std::string> counted;
    for (const std::string& area : *areas) {
      if (counted.insert(area).second) {
        ++figures[area].evaluations_by_level[level - 1];
      }
    }
  }

  // Every active area, by code.
  std::vector<const Area*> active;
  for (const Area& area : state.areas()) {
    if (!area.retired) active.push_back(&area);
  }
  std::sort(active.begin(), active.end(),
            [](const Area* a, const Area* b) { return a->code < b->code; });

  insights::ImpactView view;
  SetBasis(params, view.mutable_basis());
  for (const Area* area : active) {
    insights::AreaImpact* row = view.add_areas();
    row->set_area(area->code);
    const AreaFigures& f = figures[area->code];
    *row->mutable_attendees_before() = f.attendees_before;
    *row->mutable_attendees_after() = f.attendees_after;
    *row->mutable_others_before() = f.others_before;
    *row->mutable_others_after() = f.others_after;
    auto on_area = sessions.find(area->code);
    row->set_attendees(
        on_area == sessions.end()
            ? 0
            : static_cast<int64_t>(on_area->second.first_attended.size()));
    for (int64_t count : f.evaluations_by_level) {
      row->add_evaluations_by_level(count);
    }
  }
  return view;
}

}  // namespace throughline::projections
