// TrustState: what a trust currently holds, folded from its event log — the
// organisation, taxonomy, staff with their placement history, and every
// record id in use. The silo services check requests against it; views use
// it for scope membership.
//
// It only reads events. Not thread-safe: callers serialize access.

#ifndef THROUGHLINE_PROJECTIONS_TRUST_STATE_H_
#define THROUGHLINE_PROJECTIONS_TRUST_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "throughline/cpd/v1/events.pb.h"

namespace throughline::projections {

namespace cpd = ::throughline::cpd::v1;

struct Area {
  std::string code;
  std::string label;
  std::string description;
  bool retired = false;
};

// Where a staff member works from `from` until the next placement.
struct Placement {
  absl::Time from;
  std::string school_id;
  std::vector<std::string> department_ids;
  cpd::StaffRole role = cpd::STAFF_ROLE_UNSPECIFIED;
  std::string line_manager_id;
};

struct StaffMember {
  std::string staff_id;
  absl::Time joined_at;
  std::optional<absl::Time> left_at;
  std::vector<Placement> placements;  // In time order; never empty.

  // Member over [joined_at, left_at).
  bool ActiveAt(absl::Time t) const {
    return t >= joined_at && (!left_at.has_value() || t < *left_at);
  }
  // The placement in force at `t`, or null outside membership.
  const Placement* PlacementAt(absl::Time t) const;
};

struct Programme {
  std::string programme_id;
  cpd::ProgrammeKind kind = cpd::PROGRAMME_KIND_UNSPECIFIED;
  uint32_t follow_up_days = 0;
  std::string owner_staff_id;
  std::string school_id;  // Empty for a trust-wide programme.
};

struct Session {
  std::string session_id;
  std::string programme_id;
  bool planned = false;
  bool held = false;
  absl::Time held_at;
  // The areas of the held session, or of the plan until it is held.
  std::vector<std::string> areas;
  absl::flat_hash_set<std::string> attendees;
  // As recorded in SessionHeld (unset: no follow-through planned).
  std::optional<absl::Time> follow_up_due;
};

struct Goal {
  std::string goal_id;
  std::string staff_id;
  bool closed = false;
  absl::Time set_at;  // When the goal was set (occurred time).
};

struct Observation {
  std::string observation_id;
  std::string observed_staff_id;
  std::vector<std::string> development_points;
};

class TrustState {
 public:
  // Folds in the trust's next event.
  // REQUIRES: position > position().
  void Apply(uint64_t position, absl::Time occurred_at,
             const cpd::CpdEvent& event);
  // Records that `position` held no CPD event.
  void Skip(uint64_t position) { position_ = position; }

  // The last log position folded in (0 before any).
  uint64_t position() const { return position_; }

  bool registered() const { return registered_at_.has_value(); }
  // REQUIRES: registered().
  absl::Time registered_at() const { return *registered_at_; }
  const cpd::TrustRegistered& trust() const { return trust_; }

  bool HasSchool(const std::string& id) const { return schools_.contains(id); }
  // The school of a department, or null if unknown.
  const std::string* DepartmentSchool(const std::string& id) const;
  const Area* FindArea(const std::string& code) const;
  const StaffMember* FindStaff(const std::string& id) const;
  const Programme* FindProgramme(const std::string& id) const;
  const Session* FindSession(const std::string& id) const;
  const Goal* FindGoal(const std::string& id) const;
  const Observation* FindObservation(const std::string& id) const;
  // The coachee of a coaching conversation, or null if unknown.
  const std::string* CoachingCoachee(const std::string& id) const;
  // Whether an improvement priority exists, and whether it is closed.
  std::optional<bool> PriorityClosed(const std::string& id) const;
  // Whether `id` is already used by a record of `kind`, for kinds whose
  // records are never looked up otherwise: "walk", "follow_up", "spend",
  // "need", "decision", "evaluation".
  bool IdUsed(const std::string& kind, const std::string& id) const;

  // Areas in the order they were added (retired ones included).
  const std::vector<Area>& areas() const { return areas_; }
  const absl::flat_hash_map<std::string, StaffMember>& staff() const {
    return staff_;
  }

 private:
  uint64_t position_ = 0;
  std::optional<absl::Time> registered_at_;
  cpd::TrustRegistered trust_;
  absl::flat_hash_set<std::string> schools_;
  absl::flat_hash_map<std::string, std::string> department_school_;
  std::vector<Area> areas_;
  absl::flat_hash_map<std::string, size_t> area_index_;
  absl::flat_hash_map<std::string, StaffMember> staff_;
  absl::flat_hash_map<std::string, Programme> programmes_;
  absl::flat_hash_map<std::string, Session> sessions_;
  absl::flat_hash_map<std::string, Goal> goals_;
  absl::flat_hash_map<std::string, Observation> observations_;
  absl::flat_hash_map<std::string, std::string> coaching_coachee_;
  absl::flat_hash_map<std::string, bool> priority_closed_;
  absl::flat_hash_set<std::string> used_ids_;  // "kind/id"
};

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_TRUST_STATE_H_
