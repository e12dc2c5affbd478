#include "projections/history.h"

#include <algorithm>

namespace throughline::projections {

void TrustHistory::Add(Fact fact) {
  position_ = fact.position;
  state_.Apply(fact.position, fact.occurred_at, fact.event);
  by_type_[fact.event.event_case()].push_back(std::move(fact));
}

const std::vector<Fact>& TrustHistory::Of(cpd::CpdEvent::EventCase type) const {
  static const auto* const kNone = new std::vector<Fact>();
  auto it = by_type_.find(type);
  return it == by_type_.end() ? *kNone : it->second;
}

std::vector<const Fact*> TrustHistory::AllFacts() const {
  std::vector<const Fact*> facts;
  for (const auto& [type, of_type] : by_type_) {
    for (const Fact& fact : of_type) facts.push_back(&fact);
  }
  std::sort(facts.begin(), facts.end(), [](const Fact* a, const Fact* b) {
    return a->position < b->position;
  });
  return facts;
}

bool PlacementInScope(const Placement& placement, const Scope& scope) {
  switch (scope.kind) {
    case Scope::Kind::kTrust:
      return true;
    case Scope::Kind::kSchool:
      return placement.school_id == scope.id;
    case Scope::Kind::kDepartment:
      return std::find(placement.department_ids.begin(),
                       placement.department_ids.end(),
                       scope.id) != placement.department_ids.end();
  }
  return false;
}

bool InScopeAt(const StaffMember& member, const Scope& scope, absl::Time t) {
  const Placement* placement = member.PlacementAt(t);
  return placement != nullptr && PlacementInScope(*placement, scope);
}

bool InScopeDuring(const StaffMember& member, const Scope& scope,
                   absl::Time from, absl::Time to) {
  if (member.left_at.has_value() && *member.left_at <= from) return false;
  const absl::Time end =
      member.left_at.has_value() ? std::min(to, *member.left_at) : to;
  const absl::Time start = std::max(from, member.joined_at);
  if (start >= end) return false;
  // Each placement holds from its own time until the next one.
  for (size_t i = 0; i < member.placements.size(); ++i) {
    const absl::Time begins =
        i == 0 ? member.joined_at : member.placements[i].from;
    const absl::Time ends = i + 1 < member.placements.size()
                                ? member.placements[i + 1].from
                                : absl::InfiniteFuture();
    if (begins < end && ends > start &&
        PlacementInScope(member.placements[i], scope)) {
      return true;
    }
  }
  return false;
}

bool SchoolInScope(const std::string& school_id, const Scope& scope) {
  switch (scope.kind) {
    case Scope::Kind::kTrust:
      return true;
    case Scope::Kind::kSchool:
      return school_id == scope.id;
    case Scope::Kind::kDepartment:
      return false;
  }
  return false;
}

}  // namespace throughline::projections
