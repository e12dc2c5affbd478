#include "tests/view_scenario.h"

#include "absl/strings/str_cat.h"

namespace throughline::testing {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* timestamp) {
  const int64_t micros = absl::ToUnixMicros(t);
  timestamp->set_seconds(micros / 1000000);
  timestamp->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

}  // namespace

absl::Time Day(int year, int month, int day) {
  return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
}

Scenario::Scenario(absl::Time registered) {
  cpd::CpdEvent event;
  event.mutable_trust_registered()->set_name("Scenario Trust");
  Add(registered, event);
  for (const char* code : {"behaviour", "questioning", "feedback", "literacy",
                           "retrieval-practice"}) {
    Area(code, registered);
  }
}

uint64_t Scenario::Add(absl::Time at, cpd::CpdEvent event) {
  projections::Fact fact;
  fact.position = facts_.size() + 1;
  fact.occurred_at = at;
  fact.recorded_at = at;
  fact.event = std::move(event);
  facts_.push_back(std::move(fact));
  return facts_.size();
}

void Scenario::School(const std::string& school_id, absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_school_added()->set_school_id(school_id);
  event.mutable_school_added()->set_name(school_id);
  Add(at, event);
}

void Scenario::Department(const std::string& department_id,
                          const std::string& school_id, absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_department_added()->set_department_id(department_id);
  event.mutable_department_added()->set_school_id(school_id);
  event.mutable_department_added()->set_name(department_id);
  Add(at, event);
}

void Scenario::Area(const std::string& code, absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_development_area_added()->set_code(code);
  event.mutable_development_area_added()->set_label(code);
  Add(at, event);
}

void Scenario::RetireArea(const std::string& code, absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_development_area_retired()->set_code(code);
  Add(at, event);
}

void Scenario::Join(const std::string& staff_id, const std::string& school_id,
                    const std::vector<std::string>& departments,
                    absl::Time at) {
  cpd::CpdEvent event;
  cpd::StaffMemberJoined* joined = event.mutable_staff_member_joined();
  joined->set_staff_id(staff_id);
  joined->set_school_id(school_id);
  for (const std::string& d : departments) joined->add_department_ids(d);
  joined->set_role(cpd::STAFF_ROLE_TEACHER);
  joined->mutable_personal()->set_display_name(
      absl::StrCat("Teacher ", staff_id));
  Add(at, event);
}

void Scenario::Move(const std::string& staff_id, const std::string& school_id,
                    const std::vector<std::string>& departments,
                    absl::Time at) {
  cpd::CpdEvent event;
  cpd::StaffMemberMoved* moved = event.mutable_staff_member_moved();
  moved->set_staff_id(staff_id);
  moved->set_school_id(school_id);
  for (const std::string& d : departments) moved->add_department_ids(d);
  moved->set_role(cpd::STAFF_ROLE_TEACHER);
  Add(at, event);
}

void Scenario::Leave(const std::string& staff_id, absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_staff_member_left()->set_staff_id(staff_id);
  Add(at, event);
}

void Scenario::Observe(const std::string& observation_id,
                       const std::string& staff_id, absl::Time at,
                       const std::vector<std::string>& development_points,
                       const std::vector<std::pair<std::string, int>>& ratings,
                       const std::string& observer_id) {
  cpd::CpdEvent event;
  cpd::ObservationRecorded* o = event.mutable_observation_recorded();
  o->set_observation_id(observation_id);
  o->set_observed_staff_id(staff_id);
  o->set_observer_staff_id(observer_id);
  o->set_kind(cpd::OBSERVATION_KIND_DROP_IN);
  for (const std::string& area : development_points) {
    o->add_development_points(area);
  }
  for (const auto& [area, rating] : ratings) {
    cpd::AreaRating* r = o->add_ratings();
    r->set_area(area);
    r->set_rating(rating);
  }
  Add(at, event);
}

void Scenario::Walk(const std::string& walk_id, const std::string& school_id,
                    const std::string& department_id,
                    const std::vector<std::string>& development_points,
                    absl::Time at) {
  cpd::CpdEvent event;
  cpd::LearningWalkRecorded* w = event.mutable_learning_walk_recorded();
  w->set_walk_id(walk_id);
  w->set_school_id(school_id);
  w->set_department_id(department_id);
  for (const std::string& area : development_points) {
    w->add_development_points(area);
  }
  w->set_lessons_seen(5);
  Add(at, event);
}

void Scenario::Coach(const std::string& conversation_id,
                     const std::string& coachee_id,
                     const std::string& focus_area, absl::Time at,
                     const std::string& coach_id) {
  cpd::CpdEvent event;
  cpd::CoachingConversationHeld* c = event.mutable_coaching_conversation_held();
  c->set_conversation_id(conversation_id);
  c->set_coach_staff_id(coach_id);
  c->set_coachee_staff_id(coachee_id);
  c->set_kind(cpd::COACHING_KIND_COACHING);
  c->set_focus_area(focus_area);
  Add(at, event);
}

void Scenario::Goal(const std::string& goal_id, const std::string& staff_id,
                    const std::vector<std::string>& areas, absl::Time at) {
  cpd::CpdEvent event;
  cpd::AppraisalGoalSet* g = event.mutable_appraisal_goal_set();
  g->set_goal_id(goal_id);
  g->set_staff_id(staff_id);
  g->set_set_by_staff_id("leader");
  for (const std::string& area : areas) g->add_areas(area);
  Add(at, event);
}

void Scenario::Review(const std::string& goal_id, cpd::GoalOutcome outcome,
                      absl::Time at) {
  cpd::CpdEvent event;
  event.mutable_appraisal_goal_reviewed()->set_goal_id(goal_id);
  event.mutable_appraisal_goal_reviewed()->set_outcome(outcome);
  event.mutable_appraisal_goal_reviewed()->set_reviewed_by_staff_id("leader");
  Add(at, event);
}

void Scenario::Need(const std::string& need_id, const cpd::Scope& scope,
                    const std::string& area, absl::Time at) {
  cpd::CpdEvent event;
  cpd::TrainingNeedIdentified* n = event.mutable_training_need_identified();
  n->set_need_id(need_id);
  *n->mutable_scope() = scope;
  n->set_area(area);
  n->set_identified_by_staff_id("leader");
  Add(at, event);
}

void Scenario::Programme(const std::string& programme_id,
                         const std::vector<std::string>& areas, absl::Time at,
                         cpd::ProgrammeKind kind, uint32_t follow_up_days) {
  cpd::CpdEvent event;
  cpd::ProgrammeLaunched* p = event.mutable_programme_launched();
  p->set_programme_id(programme_id);
  p->set_title(programme_id);
  for (const std::string& area : areas) p->add_areas(area);
  p->set_kind(kind);
  p->set_owner_staff_id("leader");
  p->set_follow_up_days(follow_up_days);
  Add(at, event);
}

void Scenario::Session(const std::string& session_id,
                       const std::string& programme_id,
                       const std::vector<std::string>& areas,
                       const std::vector<std::string>& attendees, absl::Time at,
                       absl::Time follow_up_due, int minutes,
                       int64_t cost_pence,
                       const std::vector<cpd::Mechanism>& mechanisms) {
  cpd::CpdEvent event;
  cpd::SessionHeld* s = event.mutable_session_held();
  s->set_session_id(session_id);
  s->set_programme_id(programme_id);
  s->set_title(session_id);
  for (const std::string& area : areas) s->add_areas(area);
  s->set_facilitator_staff_id("leader");
  s->set_minutes(minutes);
  for (const std::string& a : attendees) s->add_attendee_staff_ids(a);
  s->set_cost_pence(cost_pence);
  if (follow_up_due != absl::InfinitePast()) {
    SetTime(follow_up_due, s->mutable_follow_up_due());
  }
  for (cpd::Mechanism m : mechanisms) s->add_mechanisms(m);
  Add(at, event);
}

void Scenario::FollowUpSession(const std::string& follow_up_id,
                               const std::string& staff_id,
                               const std::string& session_id, absl::Time at,
                               const std::vector<std::string>& areas,
                               const std::vector<cpd::Mechanism>& mechanisms) {
  cpd::CpdEvent event;
  cpd::FollowUpEvidenced* f = event.mutable_follow_up_evidenced();
  f->set_follow_up_id(follow_up_id);
  f->set_staff_id(staff_id);
  f->mutable_target()->set_session_id(session_id);
  f->set_evidence_kind(cpd::EVIDENCE_KIND_REFLECTION);
  for (const std::string& area : areas) f->add_areas(area);
  for (cpd::Mechanism m : mechanisms) f->add_mechanisms(m);
  Add(at, event);
}

projections::TrustHistory Scenario::History(uint64_t position) const {
  projections::TrustHistory history;
  for (const projections::Fact& fact : facts_) {
    if (fact.position > position) break;
    history.Add(fact);
  }
  return history;
}

projections::ViewParams Params(absl::Time from, absl::Time to, absl::Time as_of,
                               projections::Scope scope) {
  projections::ViewParams params;
  params.scope = std::move(scope);
  params.from = from;
  params.to = to;
  params.as_of_time = as_of;
  return params;
}

}  // namespace throughline::testing
