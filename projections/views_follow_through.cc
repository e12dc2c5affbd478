// 2. Follow-through (docs/views/follow-through.md).
//
// Sessions are picked by held (occurred) time in [from, to). A session
// belongs to a school or department scope when at least one attendee
// belonged to it when the session was held; in that scope only those
// attendees form (session, attendee) pairs; in trust scope every attendee
// does. A pair exists only when the session has a follow-up due time. Its
// evidence is the FollowUpEvidenced by that attendee targeting that session
// (any date, any position in the history): on time = first evidence at or
// before the due time; late = first evidence after it; overdue = none and
// due < as-of time; pending = none and due >= as-of time.
//
// Pairs are listed per session (held time, then id) and rolled up per
// programme ("" for one-off), per department and per school the attendee
// belonged to at the held time ("" for none), and in total; a roll-up's
// `sessions` counts the distinct sessions contributing pairs. Beside them:
// every session held in window and scope, and the shares of those with no
// programme and with no follow-up due.

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "projections/views.h"
#include "projections/views_internal.h"

namespace throughline::projections {
namespace {

enum class Outcome { kOnTime, kLate, kOverdue, kPending };

void Count(Outcome outcome, insights::FollowThroughCounts* counts) {
  counts->set_pairs(counts->pairs() + 1);
  switch (outcome) {
    case Outcome::kOnTime:
      counts->set_on_time(counts->on_time() + 1);
      break;
    case Outcome::kLate:
      counts->set_late(counts->late() + 1);
      break;
    case Outcome::kOverdue:
      counts->set_overdue(counts->overdue() + 1);
      break;
    case Outcome::kPending:
      counts->set_pending(counts->pending() + 1);
      break;
  }
}

// A roll-up being built: the sessions contributing pairs, and the pairs.
struct Rollup {
  std::set<std::string> sessions;
  insights::FollowThroughCounts counts;

  void Add(const std::string& session_id, Outcome outcome) {
    sessions.insert(session_id);
    Count(outcome, &counts);
  }
};

void Emit(const std::string& key, const Rollup& rollup,
          insights::FollowThroughRollup* out) {
  out->set_key(key);
  out->set_sessions(static_cast<int64_t>(rollup.sessions.size()));
  *out->mutable_counts() = rollup.counts;
}

}  // namespace

insights::FollowThroughView FollowThrough(const TrustHistory& history,
                                          const ViewParams& params) {
  insights::FollowThroughView view;
  SetBasis(params, view.mutable_basis());
  const TrustState& state = history.state();

  // The first evidence of each (session, staff member), whatever its date.
  std::map<std::pair<std::string, std::string>, absl::Time> first_evidence;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kFollowUpEvidenced)) {
    const cpd::FollowUpEvidenced& evidence = fact.event.follow_up_evidenced();
    if (!evidence.target().has_session_id()) continue;
    const auto key =
        std::make_pair(evidence.target().session_id(), evidence.staff_id());
    auto [it, inserted] = first_evidence.emplace(key, fact.occurred_at);
    if (!inserted) it->second = std::min(it->second, fact.occurred_at);
  }

  // Sessions held in window and scope, by held time then id.
  struct HeldSession {
    absl::Time held_at;
    const cpd::SessionHeld* held;
    std::vector<std::string> attendees;  // In scope.
  };
  std::vector<HeldSession> sessions;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionHeld)) {
    if (fact.occurred_at < params.from || fact.occurred_at >= params.to) {
      continue;
    }
    const cpd::SessionHeld& held = fact.event.session_held();
    std::vector<std::string> attendees =
        AttendeesInScope(state, held, params.scope, fact.occurred_at);
    if (params.scope.kind != Scope::Kind::kTrust && attendees.empty()) {
      continue;
    }
    sessions.push_back({fact.occurred_at, &held, std::move(attendees)});
  }
  std::sort(sessions.begin(), sessions.end(),
            [](const HeldSession& a, const HeldSession& b) {
              if (a.held_at != b.held_at) return a.held_at < b.held_at;
              return a.held->session_id() < b.held->session_id();
            });

  std::map<std::string, Rollup> by_programme;
  std::map<std::string, Rollup> by_department;
  std::map<std::string, Rollup> by_school;
  Rollup total;
  int64_t one_off = 0;
  int64_t no_follow_up = 0;
  for (const HeldSession& session : sessions) {
    const cpd::SessionHeld& held = *session.held;
    if (held.programme_id().empty()) ++one_off;
    if (!held.has_follow_up_due()) {
      ++no_follow_up;
      continue;
    }
    const absl::Time due = TimeOf(held.follow_up_due());
    insights::SessionFollowThrough* row = view.add_sessions();
    row->set_session_id(held.session_id());
    row->set_title(held.title());
    row->set_programme_id(held.programme_id());
    SetTimestamp(session.held_at, row->mutable_held_at());
    SetTimestamp(due, row->mutable_follow_up_due());
    row->mutable_counts();  // Present even with no pairs.

    for (const std::string& staff_id : session.attendees) {
      Outcome outcome;
      auto evidence =
          first_evidence.find(std::make_pair(held.session_id(), staff_id));
      if (evidence != first_evidence.end()) {
        outcome = evidence->second <= due ? Outcome::kOnTime : Outcome::kLate;
      } else {
        outcome =
            due < params.as_of_time ? Outcome::kOverdue : Outcome::kPending;
      }
      Count(outcome, row->mutable_counts());
      by_programme[held.programme_id()].Add(held.session_id(), outcome);
      total.Add(held.session_id(), outcome);

      // Where the attendee belonged when the session was held.
      const StaffMember* member = state.FindStaff(staff_id);
      const Placement* placement =
          member == nullptr ? nullptr : member->PlacementAt(session.held_at);
      std::set<std::string> departments;
      if (placement != nullptr) {
        departments.insert(placement->department_ids.begin(),
                           placement->department_ids.end());
      }
      if (departments.empty()) departments.insert("");
      for (const std::string& department : departments) {
        by_department[department].Add(held.session_id(), outcome);
      }
      by_school[placement == nullptr ? "" : placement->school_id].Add(
          held.session_id(), outcome);
    }
  }

  for (const auto& [key, rollup] : by_programme) {
    Emit(key, rollup, view.add_by_programme());
  }
  for (const auto& [key, rollup] : by_department) {
    Emit(key, rollup, view.add_by_department());
  }
  for (const auto& [key, rollup] : by_school) {
    Emit(key, rollup, view.add_by_school());
  }
  Emit("", total, view.mutable_total());

  const int64_t held = static_cast<int64_t>(sessions.size());
  view.set_sessions_held(held);
  view.mutable_one_off_share()->set_numerator(one_off);
  view.mutable_one_off_share()->set_denominator(held);
  view.mutable_no_follow_up_share()->set_numerator(no_follow_up);
  view.mutable_no_follow_up_share()->set_denominator(held);
  return view;
}

}  // namespace throughline::projections
