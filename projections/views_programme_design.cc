// 8. Programme design (docs/views/programme-design.md).
//
// Sessions are picked by held (occurred) time in [from, to). A session
// belongs to a school or department scope when at least one attendee
// belonged to it when the session was held, and its attendees in scope are
// those who did (every attendee in trust scope).
//
// Every programme launched in the history with at least one such session is
// listed, by programme id, with: sessions_held = its sessions held in window
// and scope; span_weeks = whole weeks (floor of days / 7) from the first to
// the last of them; attendees_with_follow_up = distinct attendees in scope of
// those sessions with at least one FollowUpEvidenced (any date) targeting any
// of those sessions, over the distinct attendees in scope; mechanism_groups =
// the groups (letter after MECHANISM_) of the mechanisms of those sessions
// and of every follow-up targeting them, sorted; reaches_techniques = "C"
// used; reaches_embedding = "D" used; flagged = not both. Beside them: the
// one-off sessions (no programme) held in window and scope.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "projections/views.h"
#include "projections/views_internal.h"

namespace throughline::projections {
namespace {

// The EEF group of a mechanism ("A".."D"), or "" for none.
std::string Group(int mechanism) {
  if (!cpd::Mechanism_IsValid(mechanism)) return "";
  const std::string& name =
      cpd::Mechanism_Name(static_cast<cpd::Mechanism>(mechanism));
  // "MECHANISM_<group>_<name>"; MECHANISM_UNSPECIFIED has no group.
  constexpr size_t kGroupAt = sizeof("MECHANISM_") - 1;
  if (name.size() <= kGroupAt + 1 || name[kGroupAt + 1] != '_') return "";
  return name.substr(kGroupAt, 1);
}

template <typename Mechanisms>
void AddGroups(const Mechanisms& mechanisms, std::set<std::string>* groups) {
  for (int mechanism : mechanisms) {
    std::string group = Group(mechanism);
    if (!group.empty()) groups->insert(std::move(group));
  }
}

// A programme's sessions held in window and scope, being gathered.
struct Gathered {
  int64_t sessions = 0;
  absl::Time first = absl::InfiniteFuture();
  absl::Time last = absl::InfinitePast();
  std::set<std::string> session_ids;
  std::set<std::string> attendees;  // In scope.
  std::set<std::string> groups;
};

}  // namespace

insights::ProgrammeDesignView ProgrammeDesign(const TrustHistory& history,
                                              const ViewParams& params) {
  insights::ProgrammeDesignView view;
  SetBasis(params, view.mutable_basis());
  const TrustState& state = history.state();

  // Programmes launched in the history, by id.
  std::map<std::string, const cpd::ProgrammeLaunched*> launched;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kProgrammeLaunched)) {
    const cpd::ProgrammeLaunched& programme = fact.event.programme_launched();
    launched.emplace(programme.programme_id(), &programme);
  }

  std::map<std::string, Gathered> gathered;         // By programme id.
  std::map<std::string, std::string> programme_of;  // Session id -> programme.
  std::vector<std::string> one_off_ids;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionHeld)) {
    if (fact.occurred_at < params.from || fact.occurred_at >= params.to) {
      continue;
    }
    const cpd::SessionHeld& held = fact.event.session_held();
    const std::vector<std::string> attendees =
        AttendeesInScope(state, held, params.scope, fact.occurred_at);
    if (params.scope.kind != Scope::Kind::kTrust && attendees.empty()) {
      continue;
    }
    if (held.programme_id().empty()) {
      one_off_ids.push_back(held.session_id());
      continue;
    }
    if (!launched.contains(held.programme_id())) continue;
    Gathered& programme = gathered[held.programme_id()];
    ++programme.sessions;
    programme.first = std::min(programme.first, fact.occurred_at);
    programme.last = std::max(programme.last, fact.occurred_at);
    programme.session_ids.insert(held.session_id());
    programme.attendees.insert(attendees.begin(), attendees.end());
    AddGroups(held.mechanisms(), &programme.groups);
    programme_of[held.session_id()] = held.programme_id();
  }

  // Follow-ups targeting those sessions: their mechanisms, and who followed
  // up, per programme.
  std::map<std::string, std::set<std::string>> followed_up;  // By programme.
  for (const Fact& fact : history.Of(cpd::CpdEvent::kFollowUpEvidenced)) {
    const cpd::FollowUpEvidenced& evidence = fact.event.follow_up_evidenced();
    if (!evidence.target().has_session_id()) continue;
    auto it = programme_of.find(evidence.target().session_id());
    if (it == programme_of.end()) continue;
    Gathered& programme = gathered[it->second];
    AddGroups(evidence.mechanisms(), &programme.groups);
    if (programme.attendees.contains(evidence.staff_id())) {
      followed_up[it->second].insert(evidence.staff_id());
    }
  }

  for (const auto& [programme_id, programme] : gathered) {
    const cpd::ProgrammeLaunched& launch = *launched.at(programme_id);
    insights::ProgrammeDesign* row = view.add_programmes();
    row->set_programme_id(programme_id);
    row->set_title(launch.title());
    row->set_kind(launch.kind());
    row->set_sessions_held(programme.sessions);
    absl::Duration remainder;
    row->set_span_weeks(absl::IDivDuration(programme.last - programme.first,
                                           absl::Hours(24 * 7), &remainder));
    row->mutable_attendees_with_follow_up()->set_numerator(
        static_cast<int64_t>(followed_up[programme_id].size()));
    row->mutable_attendees_with_follow_up()->set_denominator(
        static_cast<int64_t>(programme.attendees.size()));
    for (const std::string& group : programme.groups) {
      row->add_mechanism_groups(group);
    }
    row->set_reaches_techniques(programme.groups.contains("C"));
    row->set_reaches_embedding(programme.groups.contains("D"));
    row->set_flagged(!row->reaches_techniques() || !row->reaches_embedding());
  }

  std::sort(one_off_ids.begin(), one_off_ids.end());
  view.set_one_off_sessions(static_cast<int64_t>(one_off_ids.size()));
  for (const std::string& id : one_off_ids) view.add_one_off_session_ids(id);
  return view;
}

}  // namespace throughline::projections
