// 5. Time and money (docs/views/time-and-money.md).
//
// Over the window [from, to) of occurred times, in scope:
// - minutes_allocated: for each CpdTimeAllocated of a school in scope (in
//   department scope: the department's school) whose period overlaps the
//   window, minutes_per_staff_member x the staff who belonged to that school
//   (and, in department scope, to the department) at max(period start,
//   from), pro rata: floor(that x overlap / period length), in whole seconds;
// - minutes_held: over sessions held in window, minutes x attendees who
//   belonged to the scope when it was held (every attendee in trust scope);
// - minutes_repurposed, spend_pence: MeetingTimeRepurposed and
//   CpdSpendRecorded in window of a school in scope (SchoolInScope: none in
//   department scope, as these are school-level records);
// - budget_pence: the latest CpdBudgetSet (by position) per school in scope
//   (SchoolInScope) and academic year, for every academic year the window
//   touches ("YYYY-YY": 1 Sep YYYY 00:00 UTC to 1 Sep YYYY+1);
// - spend_by_area / spend_by_programme: spend counted in full under each of
//   its areas / under its programme ("" for none), with the minutes held on
//   sessions with that area / programme (same rule as minutes_held);
// - by_priority: every priority active at some moment of the window
//   (adopted at or before t, not closed at or before t) that is trust-wide
//   or of a school in scope (department scope: the department's school),
//   with the minutes held and the spend that serve it. A session or spend
//   serves a priority when they share an area, the priority is active at its
//   time, and it is trust-wide or of its school (a session's schools: those
//   of its attendees in scope, at the held time);
// - minutes/spend_serving_no_priority: shares of minutes_held / spend_pence;
// - cost_per_evidenced_follow_up: spend_pence over the FollowUpEvidenced in
//   window by staff who belonged to the scope at the follow-up's time.

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "projections/views.h"
#include "projections/views_internal.h"

namespace throughline::projections {
namespace {

// a + b, held at the nearest 64-bit limit instead of overflowing: amounts
// are only checked to be non-negative, so a sum of huge ones must not wrap.
int64_t Add(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max()
               : std::numeric_limits<int64_t>::min();
}

bool InWindow(absl::Time t, const ViewParams& params) {
  return params.from <= t && t < params.to;
}

// Whether a member of `scope` at time `t` (every staff id in trust scope).
bool StaffInScopeAt(const TrustState& state, const std::string& staff_id,
                    const Scope& scope, absl::Time t) {
  if (scope.kind == Scope::Kind::kTrust) return true;
  const StaffMember* member = state.FindStaff(staff_id);
  return member != nullptr && InScopeAt(*member, scope, t);
}

// The school whose allocations and priorities concern `scope`: in
// department scope, the department's school.
bool SchoolConcernsScope(const TrustState& state, const std::string& school_id,
                         const Scope& scope) {
  if (scope.kind != Scope::Kind::kDepartment) {
    return SchoolInScope(school_id, scope);
  }
  const std::string* school = state.DepartmentSchool(scope.id);
  return school != nullptr && *school == school_id;
}

// The academic year "YYYY-YY" a time falls in (years start 1 Sep, UTC).
int AcademicYearOf(absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, absl::UTCTimeZone());
  return day.month() >= 9 ? static_cast<int>(day.year())
                          : static_cast<int>(day.year()) - 1;
}

std::string AcademicYearName(int first_year) {
  const int next = (first_year + 1) % 100;
  return absl::StrCat(first_year, "-", next / 10, next % 10);
}

// The areas a session or spend is counted under: each distinct area, or ""
// for none.
std::set<std::string> Keys(
    const google::protobuf::RepeatedPtrField<std::string>& areas) {
  std::set<std::string> keys(areas.begin(), areas.end());
  if (keys.empty()) keys.insert("");
  return keys;
}

bool ShareArea(const google::protobuf::RepeatedPtrField<std::string>& areas,
               const std::set<std::string>& priority_areas) {
  return std::any_of(areas.begin(), areas.end(), [&](const std::string& a) {
    return priority_areas.contains(a);
  });
}

struct Priority {
  std::string id;
  std::string school_id;  // Empty: trust-wide.
  std::string title;
  std::set<std::string> areas;
  absl::Time adopted;
  std::optional<absl::Time> closed;

  bool ActiveAt(absl::Time t) const {
    return adopted <= t && (!closed.has_value() || *closed > t);
  }
  // Active at some moment of [from, to).
  bool ActiveDuring(absl::Time from, absl::Time to) const {
    const absl::Time end = closed.has_value() ? std::min(to, *closed) : to;
    return std::max(from, adopted) < end;
  }
  bool AppliesTo(const std::string& school) const {
    return school_id.empty() || school_id == school;
  }
};

// Improvement priorities of the history, by id.
std::map<std::string, Priority> Priorities(const TrustHistory& history) {
  std::map<std::string, Priority> priorities;
  for (const Fact& fact :
       history.Of(cpd::CpdEvent::kImprovementPriorityAdopted)) {
    const auto& adopted = fact.event.improvement_priority_adopted();
    Priority& priority = priorities[adopted.priority_id()];
    priority.id = adopted.priority_id();
    priority.school_id = adopted.school_id();
    priority.title = adopted.title();
    priority.areas = {adopted.areas().begin(), adopted.areas().end()};
    priority.adopted = fact.occurred_at;
  }
  for (const Fact& fact :
       history.Of(cpd::CpdEvent::kImprovementPriorityClosed)) {
    auto it =
        priorities.find(fact.event.improvement_priority_closed().priority_id());
    if (it == priorities.end()) continue;
    std::optional<absl::Time>& closed = it->second.closed;
    closed = closed.has_value() ? std::min(*closed, fact.occurred_at)
                                : fact.occurred_at;
  }
  return priorities;
}

int64_t MinutesAllocated(const TrustHistory& history,
                         const ViewParams& params) {
  const TrustState& state = history.state();
  int64_t total = 0;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kCpdTimeAllocated)) {
    const cpd::CpdTimeAllocated& allocation = fact.event.cpd_time_allocated();
    if (!SchoolConcernsScope(state, allocation.school_id(), params.scope)) {
      continue;
    }
    const absl::Time start = TimeOf(allocation.period_start());
    const absl::Time end = TimeOf(allocation.period_end());
    const absl::Time overlap_start = std::max(start, params.from);
    const absl::Time overlap_end = std::min(end, params.to);
    const int64_t length = absl::ToInt64Seconds(end - start);
    const int64_t overlap = absl::ToInt64Seconds(overlap_end - overlap_start);
    if (length <= 0 || overlap <= 0) continue;
    int64_t staff = 0;
    for (const auto& [id, member] : state.staff()) {
      const Placement* placement = member.PlacementAt(overlap_start);
      if (placement == nullptr ||
          placement->school_id != allocation.school_id()) {
        continue;
      }
      if (params.scope.kind == Scope::Kind::kDepartment &&
          !PlacementInScope(*placement, params.scope)) {
        continue;
      }
      ++staff;
    }
    const __int128 minutes =
        static_cast<__int128>(allocation.minutes_per_staff_member()) * staff;
    total = Add(total, static_cast<int64_t>(minutes * overlap / length));
  }
  return total;
}

int64_t Budget(const TrustHistory& history, const ViewParams& params) {
  if (params.from >= params.to) return 0;
  std::set<std::string> years;
  for (int year = AcademicYearOf(params.from);
       year <= AcademicYearOf(params.to - absl::Nanoseconds(1)); ++year) {
    years.insert(AcademicYearName(year));
  }
  // The latest budget per (school, academic year).
  std::map<std::pair<std::string, std::string>, int64_t> latest;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kCpdBudgetSet)) {
    const cpd::CpdBudgetSet& budget = fact.event.cpd_budget_set();
    if (SchoolInScope(budget.school_id(), params.scope) &&
        years.contains(budget.academic_year())) {
      latest[{budget.school_id(), budget.academic_year()}] =
          budget.amount_pence();
    }
  }
  int64_t total = 0;
  for (const auto& [key, pence] : latest) total = Add(total, pence);
  return total;
}

// Emits the rows of `amounts` by key: those in `always` even when zero, the
// others only when non-zero.
void EmitAmounts(const std::map<std::string, insights::Amount>& amounts,
                 const std::set<std::string>& always,
                 google::protobuf::RepeatedPtrField<insights::Amount>* out) {
  for (const auto& [key, amount] : amounts) {
    if (!always.contains(key) && amount.pence() == 0 && amount.minutes() == 0) {
      continue;
    }
    insights::Amount* row = out->Add();
    *row = amount;
    row->set_key(key);
  }
}

}  // namespace

insights::TimeAndMoneyView TimeAndMoney(const TrustHistory& history,
                                        const ViewParams& params) {
  insights::TimeAndMoneyView view;
  SetBasis(params, view.mutable_basis());
  const TrustState& state = history.state();
  const Scope& scope = params.scope;

  // The priorities listed: active in the window, trust-wide or of a school
  // concerning the scope.
  std::vector<Priority> priorities;
  for (auto& [id, priority] : Priorities(history)) {
    if (priority.ActiveDuring(params.from, params.to) &&
        (priority.school_id.empty() ||
         SchoolConcernsScope(state, priority.school_id, scope))) {
      priorities.push_back(std::move(priority));
    }
  }
  std::map<std::string, insights::PriorityShare> by_priority;
  for (const Priority& priority : priorities) {
    insights::PriorityShare& share = by_priority[priority.id];
    share.set_priority_id(priority.id);
    share.set_title(priority.title);
  }

  // Every active area is listed, zero rows included.
  std::set<std::string> active_areas;
  for (const Area& area : state.areas()) {
    if (!area.retired) active_areas.insert(area.code);
  }
  std::map<std::string, insights::Amount> by_area;
  // Every programme with a spend or a session in window and scope.
  std::map<std::string, insights::Amount> by_programme;
  std::set<std::string> programmes_seen;

  view.set_minutes_allocated(MinutesAllocated(history, params));

  // Minutes of CPD held.
  int64_t minutes_held = 0;
  int64_t minutes_serving_none = 0;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionHeld)) {
    if (!InWindow(fact.occurred_at, params)) continue;
    const cpd::SessionHeld& held = fact.event.session_held();
    std::set<std::string> attendees;
    std::set<std::string> schools;  // Of the attendees in scope.
    for (const std::string& id : held.attendee_staff_ids()) {
      if (!StaffInScopeAt(state, id, scope, fact.occurred_at)) continue;
      attendees.insert(id);
      const StaffMember* member = state.FindStaff(id);
      const Placement* placement =
          member == nullptr ? nullptr : member->PlacementAt(fact.occurred_at);
      if (placement != nullptr) schools.insert(placement->school_id);
    }
    if (scope.kind != Scope::Kind::kTrust && attendees.empty()) continue;
    const int64_t minutes = static_cast<int64_t>(held.minutes()) *
                            static_cast<int64_t>(attendees.size());
    minutes_held = Add(minutes_held, minutes);
    for (const std::string& key : Keys(held.areas())) {
      by_area[key].set_minutes(Add(by_area[key].minutes(), minutes));
    }
    programmes_seen.insert(held.programme_id());
    insights::Amount& programme = by_programme[held.programme_id()];
    programme.set_minutes(Add(programme.minutes(), minutes));

    bool serves_any = false;
    for (const Priority& priority : priorities) {
      const bool applies = std::any_of(schools.begin(), schools.end(),
                                       [&](const std::string& s) {
                                         return priority.AppliesTo(s);
                                       }) ||
                           (priority.school_id.empty() && !attendees.empty());
      if (applies && priority.ActiveAt(fact.occurred_at) &&
          ShareArea(held.areas(), priority.areas)) {
        serves_any = true;
        insights::PriorityShare& share = by_priority[priority.id];
        share.set_minutes_held(Add(share.minutes_held(), minutes));
      }
    }
    if (!serves_any) {
      minutes_serving_none = Add(minutes_serving_none, minutes);
    }
  }
  view.set_minutes_held(minutes_held);

  int64_t repurposed = 0;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kMeetingTimeRepurposed)) {
    const cpd::MeetingTimeRepurposed& record =
        fact.event.meeting_time_repurposed();
    if (InWindow(fact.occurred_at, params) &&
        SchoolInScope(record.school_id(), scope)) {
      repurposed = Add(repurposed, record.minutes());
    }
  }
  view.set_minutes_repurposed(repurposed);
  view.set_budget_pence(Budget(history, params));

  // Spend.
  int64_t spend = 0;
  int64_t spend_serving_none = 0;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kCpdSpendRecorded)) {
    const cpd::CpdSpendRecorded& record = fact.event.cpd_spend_recorded();
    if (!InWindow(fact.occurred_at, params) ||
        !SchoolInScope(record.school_id(), scope)) {
      continue;
    }
    const int64_t pence = record.amount_pence();
    spend = Add(spend, pence);
    for (const std::string& key : Keys(record.areas())) {
      by_area[key].set_pence(Add(by_area[key].pence(), pence));
    }
    programmes_seen.insert(record.programme_id());
    insights::Amount& programme = by_programme[record.programme_id()];
    programme.set_pence(Add(programme.pence(), pence));

    bool serves_any = false;
    for (const Priority& priority : priorities) {
      if (priority.AppliesTo(record.school_id()) &&
          priority.ActiveAt(fact.occurred_at) &&
          ShareArea(record.areas(), priority.areas)) {
        serves_any = true;
        insights::PriorityShare& share = by_priority[priority.id];
        share.set_spend_pence(Add(share.spend_pence(), pence));
      }
    }
    if (!serves_any) spend_serving_none = Add(spend_serving_none, pence);
  }
  view.set_spend_pence(spend);
  for (const std::string& code : active_areas) by_area[code];
  EmitAmounts(by_area, active_areas, view.mutable_spend_by_area());
  EmitAmounts(by_programme, programmes_seen, view.mutable_spend_by_programme());
  for (const auto& [id, share] : by_priority) *view.add_by_priority() = share;

  view.mutable_minutes_serving_no_priority()->set_numerator(
      minutes_serving_none);
  view.mutable_minutes_serving_no_priority()->set_denominator(minutes_held);
  view.mutable_spend_serving_no_priority()->set_numerator(spend_serving_none);
  view.mutable_spend_serving_no_priority()->set_denominator(spend);

  int64_t follow_ups = 0;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kFollowUpEvidenced)) {
    if (InWindow(fact.occurred_at, params) &&
        StaffInScopeAt(state, fact.event.follow_up_evidenced().staff_id(),
                       scope, fact.occurred_at)) {
      ++follow_ups;
    }
  }
  view.mutable_cost_per_evidenced_follow_up()->set_numerator(spend);
  view.mutable_cost_per_evidenced_follow_up()->set_denominator(follow_ups);
  return view;
}

}  // namespace throughline::projections
