// 4. Connecting the dots (docs/views/connecting-the-dots.md).
//
// A development point is (observation, area): each distinct development
// point of each observation whose occurred time is in [from, to) and whose
// observed person belonged to the scope at that time (trust scope: every
// observation). It is responded to when the same person, at a time in
// [observed_at, observed_at + 42 x 24 h] (both ends included), has any of:
// an appraisal goal set on the area ("goal"), attendance at a session held
// on the area ("session"), a coaching conversation as coachee with the area
// as focus ("coaching"), follow-up evidence tagged with the area
// ("follow_up"). Responses count wherever they fall relative to the window,
// as long as they are in the history.
//
// `responded` = points with a response / all points; roll-ups by the school
// and departments the observed person belonged to at the observation time
// (in department scope only that department), keys sorted, only keys with
// points. Points with no response are `unanswered` (oldest first) when
// observed_at + 42 days < as-of time, and `awaiting` otherwise.

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "projections/views.h"
#include "projections/views_internal.h"

namespace throughline::projections {
namespace {

// The kinds of response, in the order they are listed.
enum Kind { kGoal, kSession, kCoaching, kFollowUp, kKinds };
constexpr std::array<const char*, kKinds> kKindNames = {
    "goal", "session", "coaching", "follow_up"};

// A record by which a person may respond to a development point.
struct Response {
  Kind kind;
  absl::Time at;
  std::vector<std::string> areas;
};

// Every possible response in the history, per person.
std::map<std::string, std::vector<Response>> ResponsesByStaff(
    const TrustHistory& history) {
  std::map<std::string, std::vector<Response>> responses;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kAppraisalGoalSet)) {
    const cpd::AppraisalGoalSet& g = fact.event.appraisal_goal_set();
    responses[g.staff_id()].push_back(
        {kGoal, fact.occurred_at, {g.areas().begin(), g.areas().end()}});
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kSessionHeld)) {
    const cpd::SessionHeld& s = fact.event.session_held();
    for (const std::string& attendee : s.attendee_staff_ids()) {
      responses[attendee].push_back(
          {kSession, fact.occurred_at, {s.areas().begin(), s.areas().end()}});
    }
  }
  for (const Fact& fact :
       history.Of(cpd::CpdEvent::kCoachingConversationHeld)) {
    const cpd::CoachingConversationHeld& c =
        fact.event.coaching_conversation_held();
    responses[c.coachee_staff_id()].push_back(
        {kCoaching, fact.occurred_at, {c.focus_area()}});
  }
  for (const Fact& fact : history.Of(cpd::CpdEvent::kFollowUpEvidenced)) {
    const cpd::FollowUpEvidenced& f = fact.event.follow_up_evidenced();
    responses[f.staff_id()].push_back(
        {kFollowUp, fact.occurred_at, {f.areas().begin(), f.areas().end()}});
  }
  return responses;
}

struct Point {
  std::string observation_id;
  std::string staff_id;
  std::string area;
  absl::Time observed_at;
  // Where the person worked when observed; null if not a member then.
  const Placement* placement = nullptr;
  std::vector<std::string> responses;  // Kind names, in kKindNames order.
};

// The kinds of response to `point` among `responses`.
std::vector<std::string> KindsResponding(
    const Point& point, const std::vector<Response>& responses) {
  std::array<bool, kKinds> found = {};
  const absl::Time last = point.observed_at + kResponseTime;
  for (const Response& response : responses) {
    if (response.at >= point.observed_at && response.at <= last &&
        std::find(response.areas.begin(), response.areas.end(), point.area) !=
            response.areas.end()) {
      found[response.kind] = true;
    }
  }
  std::vector<std::string> kinds;
  for (int kind = 0; kind < kKinds; ++kind) {
    if (found[kind]) kinds.push_back(kKindNames[kind]);
  }
  return kinds;
}

void Count(bool responded, insights::Ratio* ratio) {
  ratio->set_denominator(ratio->denominator() + 1);
  if (responded) ratio->set_numerator(ratio->numerator() + 1);
}

void EmitRollups(
    const std::map<std::string, insights::Ratio>& rollups,
    google::protobuf::RepeatedPtrField<insights::DotsRollup>* out) {
  for (const auto& [key, ratio] : rollups) {
    insights::DotsRollup* rollup = out->Add();
    rollup->set_key(key);
    *rollup->mutable_responded() = ratio;
  }
}

}  // namespace

insights::ConnectingTheDotsView ConnectingTheDots(const TrustHistory& history,
                                                  const ViewParams& params) {
  insights::ConnectingTheDotsView view;
  SetBasis(params, view.mutable_basis());
  const TrustState& state = history.state();
  const Scope& scope = params.scope;

  std::vector<Point> points;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kObservationRecorded)) {
    const cpd::ObservationRecorded& o = fact.event.observation_recorded();
    const absl::Time at = fact.occurred_at;
    if (at < params.from || at >= params.to) continue;
    const StaffMember* member = state.FindStaff(o.observed_staff_id());
    if (scope.kind != Scope::Kind::kTrust &&
        (member == nullptr || !InScopeAt(*member, scope, at))) {
      continue;
    }
    const std::set<std::string> areas(o.development_points().begin(),
                                      o.development_points().end());
    for (const std::string& area : areas) {
      points.push_back({o.observation_id(),
                        o.observed_staff_id(),
                        area,
                        at,
                        member == nullptr ? nullptr : member->PlacementAt(at),
                        {}});
    }
  }

  const std::map<std::string, std::vector<Response>> responses =
      ResponsesByStaff(history);
  std::map<std::string, insights::Ratio> by_school;
  std::map<std::string, insights::Ratio> by_department;
  std::vector<const Point*> unanswered;
  for (Point& point : points) {
    auto it = responses.find(point.staff_id);
    if (it != responses.end())
      point.responses = KindsResponding(point, it->second);
    const bool responded = !point.responses.empty();
    Count(responded, view.mutable_responded());
    if (point.placement != nullptr) {
      Count(responded, &by_school[point.placement->school_id]);
      for (const std::string& department : point.placement->department_ids) {
        if (scope.kind != Scope::Kind::kDepartment || department == scope.id) {
          Count(responded, &by_department[department]);
        }
      }
    }
    if (responded) continue;
    if (point.observed_at + kResponseTime < params.as_of_time) {
      unanswered.push_back(&point);
    } else {
      view.set_awaiting(view.awaiting() + 1);
    }
  }
  view.mutable_responded();  // Present even with no points (0 / 0).
  EmitRollups(by_school, view.mutable_by_school());
  EmitRollups(by_department, view.mutable_by_department());

  std::sort(unanswered.begin(), unanswered.end(),
            [](const Point* a, const Point* b) {
              return std::tie(a->observed_at, a->observation_id, a->area) <
                     std::tie(b->observed_at, b->observation_id, b->area);
            });
  for (const Point* point : unanswered) {
    insights::DevelopmentPoint* out = view.add_unanswered();
    out->set_observation_id(point->observation_id);
    out->set_staff_id(point->staff_id);
    out->set_area(point->area);
    SetTimestamp(point->observed_at, out->mutable_observed_at());
    // `responses` stays empty: only points with none are listed.
  }
  return view;
}

}  // namespace throughline::projections
