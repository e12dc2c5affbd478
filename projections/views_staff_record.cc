// 3. Staff record (docs/views/staff-record.md): one person's joined-up record
// across every silo, over their whole history as of the history's position
// (the query's scope and window are ignored).
//
// - NotFound for a staff id the trust never had in the history.
// - personal: from their (latest) StaffMemberJoined; joined_at, left_at and
//   placements as the trust's state holds them.
// - timeline: one entry per (fact, part the person plays in it) for every
//   fact that names the person, oldest first (occurred time, then position):
//   joined/moved/left, line_manager (a join or move naming them as line
//   manager), observed/observer, coachee/coach, appraisee/set_by (goals set),
//   appraisee/reviewer (reviews), attendee/facilitator (sessions held),
//   facilitator (sessions planned), evidence (follow-ups), owner
//   (programmes), named/identified_by (training needs), decided_by
//   (decisions). Summaries carry no personal data: no notes, no names.
// - open_goals: goals set for them with no review closing them (met, partly
//   met, not met close; carried forward keeps open), oldest first.
// - latest_development_points: those of their most recent observation.
// - sessions_attended: held sessions listing them, in held order.
// - outstanding_follow_ups: sessions attended with a follow-up due and no
//   FollowUpEvidenced by them targeting it; overdue when due < as-of time.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "projections/views.h"
#include "projections/views_internal.h"

namespace throughline::projections {
namespace {

using ::google::protobuf::RepeatedPtrField;

std::string Date(const google::protobuf::Timestamp& timestamp) {
  return absl::FormatTime("%Y-%m-%d", TimeOf(timestamp), absl::UTCTimeZone());
}

// The facts of one type, oldest first (occurred time, then position).
std::vector<const Fact*> ByTime(const TrustHistory& history,
                                cpd::CpdEvent::EventCase type) {
  std::vector<const Fact*> facts;
  for (const Fact& fact : history.Of(type)) facts.push_back(&fact);
  std::stable_sort(facts.begin(), facts.end(),
                   [](const Fact* a, const Fact* b) {
                     return a->occurred_at < b->occurred_at;
                   });
  return facts;
}

// "2 development points (questioning, feedback)".
std::string Counted(const RepeatedPtrField<std::string>& items,
                    absl::string_view singular, absl::string_view plural) {
  return absl::StrCat(items.size(), " ", items.size() == 1 ? singular : plural,
                      " (", absl::StrJoin(items, ", "), ")");
}

std::string AreaList(const RepeatedPtrField<std::string>& areas) {
  return areas.empty() ? "no area" : absl::StrJoin(areas, ", ");
}

std::string RoleName(cpd::StaffRole role) {
  switch (role) {
    case cpd::STAFF_ROLE_TEACHER:
      return "teacher";
    case cpd::STAFF_ROLE_EARLY_CAREER_TEACHER:
      return "early-career teacher";
    case cpd::STAFF_ROLE_TEACHING_ASSISTANT:
      return "teaching assistant";
    case cpd::STAFF_ROLE_MIDDLE_LEADER:
      return "middle leader";
    case cpd::STAFF_ROLE_SENIOR_LEADER:
      return "senior leader";
    default:
      return "unspecified role";
  }
}

std::string ObservationKindName(cpd::ObservationKind kind) {
  switch (kind) {
    case cpd::OBSERVATION_KIND_FORMAL:
      return "Formal observation";
    case cpd::OBSERVATION_KIND_DROP_IN:
      return "Drop-in observation";
    case cpd::OBSERVATION_KIND_PEER:
      return "Peer observation";
    case cpd::OBSERVATION_KIND_VIDEO:
      return "Video observation";
    default:
      return "Observation";
  }
}

std::string OutcomeName(cpd::GoalOutcome outcome) {
  switch (outcome) {
    case cpd::GOAL_OUTCOME_MET:
      return "met";
    case cpd::GOAL_OUTCOME_PARTLY_MET:
      return "partly met";
    case cpd::GOAL_OUTCOME_NOT_MET:
      return "not met";
    case cpd::GOAL_OUTCOME_CARRIED_FORWARD:
      return "carried forward";
    default:
      return "no outcome";
  }
}

std::string EvidenceKindName(cpd::EvidenceKind kind) {
  switch (kind) {
    case cpd::EVIDENCE_KIND_LESSON_SEEN:
      return "lesson seen";
    case cpd::EVIDENCE_KIND_RESOURCE:
      return "resource";
    case cpd::EVIDENCE_KIND_REFLECTION:
      return "reflection";
    case cpd::EVIDENCE_KIND_PUPIL_WORK:
      return "pupil work";
    case cpd::EVIDENCE_KIND_COACHING_NOTE:
      return "coaching note";
    default:
      return "unspecified kind";
  }
}

bool Closes(cpd::GoalOutcome outcome) {
  return outcome == cpd::GOAL_OUTCOME_MET ||
         outcome == cpd::GOAL_OUTCOME_PARTLY_MET ||
         outcome == cpd::GOAL_OUTCOME_NOT_MET;
}

// "Joined school north (departments maths), teacher".
std::string Placed(absl::string_view verb, const std::string& school_id,
                   const RepeatedPtrField<std::string>& departments,
                   cpd::StaffRole role) {
  std::string text = absl::StrCat(verb, " school ", school_id);
  if (!departments.empty()) {
    absl::StrAppend(&text, " (departments ", absl::StrJoin(departments, ", "),
                    ")");
  }
  absl::StrAppend(&text, ", ", RoleName(role));
  return text;
}

// Collects the timeline entries of one person.
class Timeline {
 public:
  explicit Timeline(const std::string& staff_id) : staff_id_(staff_id) {}

  // Adds an entry when `named` is the person.
  template <typename Areas>
  void Add(const Fact& fact, const std::string& named, absl::string_view role,
           const std::string& record_id, const Areas& areas,
           std::string summary) {
    if (named.empty() || named != staff_id_) return;
    insights::TimelineEntry entry;
    SetTimestamp(fact.occurred_at, entry.mutable_occurred_at());
    entry.set_position(fact.position);
    const auto* field =
        cpd::CpdEvent::descriptor()->FindFieldByNumber(fact.event.event_case());
    if (field != nullptr && field->message_type() != nullptr) {
      entry.set_type(field->message_type()->name());
    }
    entry.set_record_id(record_id);
    entry.set_role(std::string(role));
    for (const std::string& area : areas) {
      if (std::find(entry.areas().begin(), entry.areas().end(), area) ==
          entry.areas().end()) {
        entry.add_areas(area);
      }
    }
    entry.set_summary(std::move(summary));
    entries_.emplace_back(&fact, std::move(entry));
  }

  // The entries, oldest first; the parts of one fact keep the order added.
  void MoveTo(RepeatedPtrField<insights::TimelineEntry>* out) {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const auto& a, const auto& b) {
                       if (a.first->occurred_at != b.first->occurred_at) {
                         return a.first->occurred_at < b.first->occurred_at;
                       }
                       return a.first->position < b.first->position;
                     });
    for (auto& [fact, entry] : entries_) *out->Add() = std::move(entry);
  }

 private:
  std::string staff_id_;
  std::vector<std::pair<const Fact*, insights::TimelineEntry>> entries_;
};

void AddStaffFacts(const TrustHistory& history, Timeline* timeline) {
  for (const Fact& fact : history.Of(cpd::CpdEvent::kStaffMemberJoined)) {
    const auto& e = fact.event.staff_member_joined();
    timeline->Add(
        fact, e.staff_id(), "joined", e.staff_id(), std::vector<std::string>(),
        Placed("Joined", e.school_id(), e.department_ids(), e.role()));
    timeline->Add(
        fact, e.line_manager_id(), "line_manager", e.staff_id(),
        std::vector<std::string>(),
        absl::StrCat("Named line manager of ", e.staff_id(), " on joining"));
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kStaffMemberMoved)) {
    const auto& e = fact.event.staff_member_moved();
    timeline->Add(
        fact, e.staff_id(), "moved", e.staff_id(), std::vector<std::string>(),
        Placed("Moved to", e.school_id(), e.department_ids(), e.role()));
    timeline->Add(
        fact, e.line_manager_id(), "line_manager", e.staff_id(),
        std::vector<std::string>(),
        absl::StrCat("Named line manager of ", e.staff_id(), " on moving"));
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kStaffMemberLeft)) {
    const auto& e = fact.event.staff_member_left();
    timeline->Add(fact, e.staff_id(), "left", e.staff_id(),
                  std::vector<std::string>(), "Left the trust");
  }
}

void AddObservations(const TrustHistory& history, Timeline* timeline) {
  for (const Fact& fact : history.Of(cpd::CpdEvent::kObservationRecorded)) {
    const auto& e = fact.event.observation_recorded();
    std::vector<std::string> areas(e.development_points().begin(),
                                   e.development_points().end());
    areas.insert(areas.end(), e.strengths().begin(), e.strengths().end());
    for (const cpd::AreaRating& rating : e.ratings()) {
      areas.push_back(rating.area());
    }
    std::string details = Counted(e.development_points(), "development point",
                                  "development points");
    if (!e.strengths().empty()) {
      absl::StrAppend(&details, ", ",
                      Counted(e.strengths(), "strength", "strengths"));
    }
    if (!e.ratings().empty()) {
      absl::StrAppend(&details, ", ", e.ratings().size(),
                      e.ratings().size() == 1 ? " rating" : " ratings");
    }
    const std::string kind = ObservationKindName(e.kind());
    timeline->Add(fact, e.observed_staff_id(), "observed", e.observation_id(),
                  areas, absl::StrCat(kind, ": ", details));
    timeline->Add(
        fact, e.observer_staff_id(), "observer", e.observation_id(), areas,
        absl::StrCat(kind, " of ", e.observed_staff_id(), ": ", details));
  }
}

void AddCoaching(const TrustHistory& history, Timeline* timeline) {
  for (const Fact& fact :
       history.Of(cpd::CpdEvent::kCoachingConversationHeld)) {
    const auto& e = fact.event.coaching_conversation_held();
    const std::vector<std::string> areas = {e.focus_area()};
    const std::string kind = e.kind() == cpd::COACHING_KIND_MENTORING
                                 ? "Mentoring conversation"
                                 : "Coaching conversation";
    std::string details = absl::StrCat(" on ", e.focus_area());
    if (e.has_next_step_due()) {
      absl::StrAppend(&details, "; next step due ", Date(e.next_step_due()));
    }
    timeline->Add(fact, e.coachee_staff_id(), "coachee", e.conversation_id(),
                  areas, absl::StrCat(kind, details));
    timeline->Add(fact, e.coach_staff_id(), "coach", e.conversation_id(), areas,
                  absl::StrCat(kind, " with ", e.coachee_staff_id(), details));
  }
}

void AddAppraisal(const TrustHistory& history, Timeline* timeline) {
  absl::flat_hash_map<std::string, const cpd::AppraisalGoalSet*> goals;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kAppraisalGoalSet)) {
    const auto& e = fact.event.appraisal_goal_set();
    goals[e.goal_id()] = &e;
    std::string details = absl::StrCat(" on ", AreaList(e.areas()));
    if (e.has_review_due()) {
      absl::StrAppend(&details, "; review due ", Date(e.review_due()));
    }
    timeline->Add(fact, e.staff_id(), "appraisee", e.goal_id(), e.areas(),
                  absl::StrCat("Appraisal goal set", details));
    timeline->Add(
        fact, e.set_by_staff_id(), "set_by", e.goal_id(), e.areas(),
        absl::StrCat("Appraisal goal set for ", e.staff_id(), details));
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kAppraisalGoalReviewed)) {
    const auto& e = fact.event.appraisal_goal_reviewed();
    auto goal = goals.find(e.goal_id());
    if (goal == goals.end()) continue;
    const std::string& appraisee = goal->second->staff_id();
    const std::string outcome = OutcomeName(e.outcome());
    timeline->Add(fact, appraisee, "appraisee", e.goal_id(),
                  goal->second->areas(),
                  absl::StrCat("Appraisal goal reviewed: ", outcome));
    timeline->Add(
        fact, e.reviewed_by_staff_id(), "reviewer", e.goal_id(),
        goal->second->areas(),
        absl::StrCat("Appraisal goal of ", appraisee, " reviewed: ", outcome));
  }
}

void AddCpd(const TrustHistory& history, Timeline* timeline) {
  for (const Fact& fact : history.Of(cpd::CpdEvent::kProgrammeLaunched)) {
    const auto& e = fact.event.programme_launched();
    std::string summary = absl::StrCat(
        e.kind() == cpd::PROGRAMME_KIND_ENQUIRY ? "Enquiry" : "Mastery",
        " programme launched on ", AreaList(e.areas()));
    if (e.follow_up_days() > 0) {
      absl::StrAppend(&summary, "; follow-up ", e.follow_up_days(),
                      " days after each session");
    }
    timeline->Add(fact, e.owner_staff_id(), "owner", e.programme_id(),
                  e.areas(), std::move(summary));
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionPlanned)) {
    const auto& e = fact.event.session_planned();
    timeline->Add(
        fact, e.facilitator_staff_id(), "facilitator", e.session_id(),
        e.areas(),
        absl::StrCat("Session planned on ", AreaList(e.areas()), " for ",
                     Date(e.scheduled_for()), ", ", e.minutes(), " minutes"));
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionHeld)) {
    const auto& e = fact.event.session_held();
    std::string summary = absl::StrCat(
        "Session held on ", AreaList(e.areas()), ": ",
        e.programme_id().empty() ? "one-off"
                                 : absl::StrCat("programme ", e.programme_id()),
        ", ", e.minutes(), " minutes, ", e.attendee_staff_ids_size(),
        e.attendee_staff_ids_size() == 1 ? " attendee" : " attendees", ", ",
        e.has_follow_up_due()
            ? absl::StrCat("follow-up due ", Date(e.follow_up_due()))
            : "no follow-up planned");
    for (const std::string& attendee : e.attendee_staff_ids()) {
      timeline->Add(fact, attendee, "attendee", e.session_id(), e.areas(),
                    summary);
    }
    timeline->Add(fact, e.facilitator_staff_id(), "facilitator", e.session_id(),
                  e.areas(), summary);
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kFollowUpEvidenced)) {
    const auto& e = fact.event.follow_up_evidenced();
    std::string target;
    switch (e.target().target_case()) {
      case cpd::FollowUpTarget::kSessionId:
        target = absl::StrCat("session ", e.target().session_id());
        break;
      case cpd::FollowUpTarget::kGoalId:
        target = absl::StrCat("appraisal goal ", e.target().goal_id());
        break;
      case cpd::FollowUpTarget::kObservationPoint:
        target = absl::StrCat("observation ",
                              e.target().observation_point().observation_id(),
                              " point ", e.target().observation_point().area());
        break;
      case cpd::FollowUpTarget::kCoachingConversationId:
        target = absl::StrCat("coaching conversation ",
                              e.target().coaching_conversation_id());
        break;
      case cpd::FollowUpTarget::TARGET_NOT_SET:
        target = "nothing named";
        break;
    }
    timeline->Add(
        fact, e.staff_id(), "evidence", e.follow_up_id(), e.areas(),
        absl::StrCat("Follow-up evidence (",
                     EvidenceKindName(e.evidence_kind()), ") for ", target));
  }
}

void AddDecisions(const TrustHistory& history, Timeline* timeline) {
  for (const Fact& fact : history.Of(cpd::CpdEvent::kTrainingNeedIdentified)) {
    const auto& e = fact.event.training_need_identified();
    const std::vector<std::string> areas = {e.area()};
    std::string named = "the trust";
    switch (e.scope().target_case()) {
      case cpd::Scope::kSchoolId:
        named = absl::StrCat("school ", e.scope().school_id());
        break;
      case cpd::Scope::kDepartmentId:
        named = absl::StrCat("department ", e.scope().department_id());
        break;
      case cpd::Scope::kStaffId:
        named = absl::StrCat("staff member ", e.scope().staff_id());
        break;
      default:
        break;
    }
    timeline->Add(fact, e.scope().staff_id(), "named", e.need_id(), areas,
                  absl::StrCat("Training need identified on ", e.area()));
    timeline->Add(
        fact, e.identified_by_staff_id(), "identified_by", e.need_id(), areas,
        absl::StrCat("Training need identified on ", e.area(), " for ", named));
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kCpdDecisionRecorded)) {
    const auto& e = fact.event.cpd_decision_recorded();
    std::string summary =
        absl::StrCat("CPD decision recorded on ", AreaList(e.areas()));
    if (!e.programme_id().empty()) {
      absl::StrAppend(&summary, " for programme ", e.programme_id());
    }
    absl::StrAppend(&summary, ", ", e.evidence_size(),
                    e.evidence_size() == 1 ? " evidence reference"
                                           : " evidence references");
    timeline->Add(fact, e.decided_by_staff_id(), "decided_by", e.decision_id(),
                  e.areas(), std::move(summary));
  }
}

}  // namespace

absl::StatusOr<insights::StaffRecordView> StaffRecord(
    const TrustHistory& history, const ViewParams& params,
    const std::string& staff_id) {
  const StaffMember* member = history.state().FindStaff(staff_id);
  if (member == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown staff member \"", staff_id, "\""));
  }
  insights::StaffRecordView view;
  SetBasis(params, view.mutable_basis());
  view.set_staff_id(staff_id);

  for (const Fact& fact : history.Of(cpd::CpdEvent::kStaffMemberJoined)) {
    if (fact.event.staff_member_joined().staff_id() == staff_id) {
      *view.mutable_personal() = fact.event.staff_member_joined().personal();
    }
  }
  SetTimestamp(member->joined_at, view.mutable_joined_at());
  if (member->left_at.has_value()) {
    SetTimestamp(*member->left_at, view.mutable_left_at());
  }
  for (const Placement& placement : member->placements) {
    insights::Placement* out = view.add_placements();
    SetTimestamp(placement.from, out->mutable_from());
    out->set_school_id(placement.school_id);
    for (const std::string& d : placement.department_ids) {
      out->add_department_ids(d);
    }
    out->set_role(placement.role);
    out->set_line_manager_id(placement.line_manager_id);
  }

  Timeline timeline(staff_id);
  AddStaffFacts(history, &timeline);
  AddObservations(history, &timeline);
  AddCoaching(history, &timeline);
  AddAppraisal(history, &timeline);
  AddCpd(history, &timeline);
  AddDecisions(history, &timeline);
  timeline.MoveTo(view.mutable_timeline());

  // Open goals: set for them, with no closing review.
  absl::flat_hash_set<std::string> closed;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kAppraisalGoalReviewed)) {
    const auto& e = fact.event.appraisal_goal_reviewed();
    if (Closes(e.outcome())) closed.insert(e.goal_id());
  }
  for (const Fact* fact : ByTime(history, cpd::CpdEvent::kAppraisalGoalSet)) {
    const auto& e = fact->event.appraisal_goal_set();
    if (e.staff_id() != staff_id || closed.contains(e.goal_id())) continue;
    insights::OpenGoal* goal = view.add_open_goals();
    goal->set_goal_id(e.goal_id());
    *goal->mutable_areas() = e.areas();
    SetTimestamp(fact->occurred_at, goal->mutable_set_at());
    if (e.has_review_due()) *goal->mutable_review_due() = e.review_due();
  }

  // The development points of their most recent observation.
  const cpd::ObservationRecorded* latest = nullptr;
  for (const Fact* fact :
       ByTime(history, cpd::CpdEvent::kObservationRecorded)) {
    if (fact->event.observation_recorded().observed_staff_id() == staff_id) {
      latest = &fact->event.observation_recorded();
    }
  }
  if (latest != nullptr) {
    *view.mutable_latest_development_points() = latest->development_points();
  }

  // Sessions attended, and those with follow-up due and no evidence.
  absl::flat_hash_set<std::string> evidenced;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kFollowUpEvidenced)) {
    const auto& e = fact.event.follow_up_evidenced();
    if (e.staff_id() == staff_id &&
        e.target().target_case() == cpd::FollowUpTarget::kSessionId) {
      evidenced.insert(e.target().session_id());
    }
  }
  absl::flat_hash_set<std::string> listed;
  for (const Fact* fact : ByTime(history, cpd::CpdEvent::kSessionHeld)) {
    const auto& e = fact->event.session_held();
    const auto& attendees = e.attendee_staff_ids();
    if (std::find(attendees.begin(), attendees.end(), staff_id) ==
            attendees.end() ||
        !listed.insert(e.session_id()).second) {
      continue;
    }
    view.add_sessions_attended(e.session_id());
    if (!e.has_follow_up_due() || evidenced.contains(e.session_id())) continue;
    insights::OutstandingFollowUp* outstanding =
        view.add_outstanding_follow_ups();
    outstanding->set_session_id(e.session_id());
    *outstanding->mutable_due() = e.follow_up_due();
    outstanding->set_overdue(TimeOf(e.follow_up_due()) < params.as_of_time);
  }
  return view;
}

}  // namespace throughline::projections
