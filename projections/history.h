// TrustHistory: a trust as of one log position, for the views to compute
// from — every fact up to that position by event type, with the
// organisation, taxonomy and staff placements folded in (TrustState).

#ifndef THROUGHLINE_PROJECTIONS_HISTORY_H_
#define THROUGHLINE_PROJECTIONS_HISTORY_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "projections/fact_store.h"
#include "projections/trust_state.h"

namespace throughline::projections {

class TrustHistory {
 public:
  // Adds the next fact. REQUIRES: facts are added in position order.
  void Add(Fact fact);

  // The organisation, taxonomy and staff as of the last fact added.
  const TrustState& state() const { return state_; }
  // The position of the last fact added (0 for none).
  uint64_t position() const { return position_; }

  // Every fact of one event type, in position order.
  const std::vector<Fact>& Of(cpd::CpdEvent::EventCase type) const;

  // Every fact, in position order.
  std::vector<const Fact*> AllFacts() const;

 private:
  TrustState state_;
  uint64_t position_ = 0;
  absl::flat_hash_map<int, std::vector<Fact>> by_type_;
};

// Which part of the trust a view covers.
struct Scope {
  enum class Kind { kTrust, kSchool, kDepartment };
  Kind kind = Kind::kTrust;
  std::string id;  // School or department id; empty for the trust.

  static Scope Trust() { return {Kind::kTrust, ""}; }
  static Scope School(std::string id) { return {Kind::kSchool, std::move(id)}; }
  static Scope Department(std::string id) {
    return {Kind::kDepartment, std::move(id)};
  }
};

// Whether the placement puts a person in `scope`. Trust scope takes every
// placement.
bool PlacementInScope(const Placement& placement, const Scope& scope);

// Whether `member` belonged to `scope` at time `t` (membership runs over
// [joined, left); a move takes effect at its own time).
bool InScopeAt(const StaffMember& member, const Scope& scope, absl::Time t);

// Whether `member` belonged to `scope` at some moment of [from, to) and had
// not left before `from` ("staff in scope" of the emergent-needs threshold).
bool InScopeDuring(const StaffMember& member, const Scope& scope,
                   absl::Time from, absl::Time to);

// Whether a school belongs to `scope` (trust: every school; school: itself;
// department: never — school-level records do not count in departments).
bool SchoolInScope(const std::string& school_id, const Scope& scope);

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_HISTORY_H_
