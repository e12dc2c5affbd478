#include "projections/trust_state.h"

#include "absl/strings/str_cat.h"

namespace throughline::projections {
namespace {

template <typename Map>
const typename Map::mapped_type* Find(const Map& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

Placement MakePlacement(
    absl::Time from, const std::string& school_id,
    const google::protobuf::RepeatedPtrField<std::string>& department_ids,
    cpd::StaffRole role, const std::string& line_manager_id) {
  Placement placement;
  placement.from = from;
  placement.school_id = school_id;
  placement.department_ids.assign(department_ids.begin(), department_ids.end());
  placement.role = role;
  placement.line_manager_id = line_manager_id;
  return placement;
}

absl::Time TimeOf(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

}  // namespace

const Placement* StaffMember::PlacementAt(absl::Time t) const {
  if (!ActiveAt(t)) return nullptr;
  const Placement* found = nullptr;
  for (const Placement& placement : placements) {
    if (placement.from > t) break;
    found = &placement;
  }
  return found != nullptr ? found : &placements.front();
}

const std::string* TrustState::DepartmentSchool(const std::string& id) const {
  return Find(department_school_, id);
}

const Area* TrustState::FindArea(const std::string& code) const {
  auto it = area_index_.find(code);
  return it == area_index_.end() ? nullptr : &areas_[it->second];
}

const StaffMember* TrustState::FindStaff(const std::string& id) const {
  return Find(staff_, id);
}

const Programme* TrustState::FindProgramme(const std::string& id) const {
  return Find(programmes_, id);
}

const Session* TrustState::FindSession(const std::string& id) const {
  return Find(sessions_, id);
}

const Goal* TrustState::FindGoal(const std::string& id) const {
  return Find(goals_, id);
}

const Observation* TrustState::FindObservation(const std::string& id) const {
  return Find(observations_, id);
}

const std::string* TrustState::CoachingCoachee(const std::string& id) const {
  return Find(coaching_coachee_, id);
}

std::optional<bool> TrustState::PriorityClosed(const std::string& id) const {
  const bool* closed = Find(priority_closed_, id);
  if (closed == nullptr) return std::nullopt;
  return *closed;
}

bool TrustState::IdUsed(const std::string& kind, const std::string& id) const {
  return used_ids_.contains(absl::StrCat(kind, "/", id));
}

void TrustState::Apply(uint64_t position, absl::Time occurred_at,
                       const cpd::CpdEvent& event) {
  position_ = position;
  switch (event.event_case()) {
    case cpd::CpdEvent::kTrustRegistered:
      if (!registered_at_.has_value()) {
        registered_at_ = occurred_at;
        trust_ = event.trust_registered();
      }
      break;
    case cpd::CpdEvent::kSchoolAdded:
      schools_.insert(event.school_added().school_id());
      break;
    case cpd::CpdEvent::kDepartmentAdded:
      department_school_[event.department_added().department_id()] =
          event.department_added().school_id();
      break;
    case cpd::CpdEvent::kDevelopmentAreaAdded: {
      const auto& added = event.development_area_added();
      if (area_index_.contains(added.code())) break;
      area_index_[added.code()] = areas_.size();
      areas_.push_back(
          Area{added.code(), added.label(), added.description(), false});
      break;
    }
    case cpd::CpdEvent::kDevelopmentAreaRelabelled: {
      auto it = area_index_.find(event.development_area_relabelled().code());
      if (it != area_index_.end()) {
        areas_[it->second].label = event.development_area_relabelled().label();
      }
      break;
    }
    case cpd::CpdEvent::kDevelopmentAreaRetired: {
      auto it = area_index_.find(event.development_area_retired().code());
      if (it != area_index_.end()) areas_[it->second].retired = true;
      break;
    }
    case cpd::CpdEvent::kStaffMemberJoined: {
      const auto& joined = event.staff_member_joined();
      StaffMember& member = staff_[joined.staff_id()];
      member.staff_id = joined.staff_id();
      member.joined_at = occurred_at;
      member.left_at.reset();
      member.placements = {MakePlacement(occurred_at, joined.school_id(),
                                         joined.department_ids(), joined.role(),
                                         joined.line_manager_id())};
      break;
    }
    case cpd::CpdEvent::kStaffMemberMoved: {
      const auto& moved = event.staff_member_moved();
      auto it = staff_.find(moved.staff_id());
      if (it == staff_.end()) break;
      it->second.placements.push_back(
          MakePlacement(occurred_at, moved.school_id(), moved.department_ids(),
                        moved.role(), moved.line_manager_id()));
      break;
    }
    case cpd::CpdEvent::kStaffMemberLeft: {
      auto it = staff_.find(event.staff_member_left().staff_id());
      if (it != staff_.end()) it->second.left_at = occurred_at;
      break;
    }
    case cpd::CpdEvent::kObservationRecorded: {
      const auto& recorded = event.observation_recorded();
      Observation& observation = observations_[recorded.observation_id()];
      observation.observation_id = recorded.observation_id();
      observation.observed_staff_id = recorded.observed_staff_id();
      observation.development_points.assign(
          recorded.development_points().begin(),
          recorded.development_points().end());
      break;
    }
    case cpd::CpdEvent::kLearningWalkRecorded:
      used_ids_.insert(
          absl::StrCat("walk/", event.learning_walk_recorded().walk_id()));
      break;
    case cpd::CpdEvent::kCoachingConversationHeld:
      coaching_coachee_[event.coaching_conversation_held().conversation_id()] =
          event.coaching_conversation_held().coachee_staff_id();
      break;
    case cpd::CpdEvent::kAppraisalGoalSet: {
      const auto& set = event.appraisal_goal_set();
      goals_[set.goal_id()] =
          Goal{set.goal_id(), set.staff_id(), false, occurred_at};
      break;
    }
    case cpd::CpdEvent::kAppraisalGoalReviewed: {
      const auto& reviewed = event.appraisal_goal_reviewed();
      auto it = goals_.find(reviewed.goal_id());
      if (it != goals_.end() &&
          reviewed.outcome() != cpd::GOAL_OUTCOME_CARRIED_FORWARD) {
        it->second.closed = true;
      }
      break;
    }
    case cpd::CpdEvent::kProgrammeLaunched: {
      const auto& launched = event.programme_launched();
      Programme& programme = programmes_[launched.programme_id()];
      programme.programme_id = launched.programme_id();
      programme.kind = launched.kind();
      programme.follow_up_days = launched.follow_up_days();
      programme.owner_staff_id = launched.owner_staff_id();
      programme.school_id = launched.school_id();
      break;
    }
    case cpd::CpdEvent::kSessionPlanned: {
      const auto& planned = event.session_planned();
      Session& session = sessions_[planned.session_id()];
      session.session_id = planned.session_id();
      session.programme_id = planned.programme_id();
      session.planned = true;
      session.areas.assign(planned.areas().begin(), planned.areas().end());
      break;
    }
    case cpd::CpdEvent::kSessionHeld: {
      const auto& held = event.session_held();
      Session& session = sessions_[held.session_id()];
      session.session_id = held.session_id();
      session.programme_id = held.programme_id();
      session.held = true;
      session.held_at = occurred_at;
      session.areas.assign(held.areas().begin(), held.areas().end());
      if (held.has_follow_up_due()) {
        session.follow_up_due = TimeOf(held.follow_up_due());
      }
      session.attendees.insert(held.attendee_staff_ids().begin(),
                               held.attendee_staff_ids().end());
      break;
    }
    case cpd::CpdEvent::kFollowUpEvidenced:
      used_ids_.insert(absl::StrCat(
          "follow_up/", event.follow_up_evidenced().follow_up_id()));
      break;
    case cpd::CpdEvent::kImprovementPriorityAdopted:
      priority_closed_[event.improvement_priority_adopted().priority_id()] =
          false;
      break;
    case cpd::CpdEvent::kImprovementPriorityClosed: {
      auto it = priority_closed_.find(
          event.improvement_priority_closed().priority_id());
      if (it != priority_closed_.end()) it->second = true;
      break;
    }
    case cpd::CpdEvent::kCpdSpendRecorded:
      used_ids_.insert(
          absl::StrCat("spend/", event.cpd_spend_recorded().spend_id()));
      break;
    case cpd::CpdEvent::kTrainingNeedIdentified:
      used_ids_.insert(
          absl::StrCat("need/", event.training_need_identified().need_id()));
      break;
    case cpd::CpdEvent::kCpdDecisionRecorded:
      used_ids_.insert(absl::StrCat(
          "decision/", event.cpd_decision_recorded().decision_id()));
      break;
    case cpd::CpdEvent::kImpactEvaluated:
      used_ids_.insert(absl::StrCat("evaluation/",
                                    event.impact_evaluated().evaluation_id()));
      break;
    case cpd::CpdEvent::kEnquiryFindingsShared:
    case cpd::CpdEvent::kCpdTimeAllocated:
    case cpd::CpdEvent::kMeetingTimeRepurposed:
    case cpd::CpdEvent::kCpdBudgetSet:
    case cpd::CpdEvent::EVENT_NOT_SET:
      break;
  }
}

}  // namespace throughline::projections
