// 7. Decision audit (docs/views/decision-audit.md): each CpdDecisionRecorded
// in the window [from, to) (occurred time) and scope (trust: all; school or
// department: the decider belonged to it at the decision's time), oldest
// first (occurred time, then position), with each evidence reference copied
// and, when it cites one of the views below at a log position > 0, replayed:
//
// - then: the view computed on the history as of the cited position (the
//   audit's own facts up to it), with the cited parameters
//   (ParamsFromEvidence);
// - now: the same view (same scope and window) computed on this audit's
//   history, as of this audit's position and as-of time.
//
// Otherwise (a record reference, a view this service does not compute,
// position 0, malformed parameters, or a position beyond the audit's) neither
// is set and not_replayed_reason says why.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "projections/views.h"
#include "projections/views_internal.h"

namespace throughline::projections {
namespace {

bool Replayable(const std::string& view) {
  for (const char* name :
       {kEmergentNeedsView, kFollowThroughView, kConnectingTheDotsView,
        kTimeAndMoneyView, kImpactView, kProgrammeDesignView}) {
    if (view == name) return true;
  }
  return false;
}

// Computes the view named `view` into the `then` (or else the `now`) field.
// REQUIRES: Replayable(view).
void Compute(const std::string& view, const TrustHistory& history,
             const ViewParams& params, bool then,
             insights::ReplayedEvidence* out) {
  if (view == kEmergentNeedsView) {
    *(then ? out->mutable_emergent_needs_then()
           : out->mutable_emergent_needs_now()) =
        EmergentNeeds(history, params);
  } else if (view == kFollowThroughView) {
    *(then ? out->mutable_follow_through_then()
           : out->mutable_follow_through_now()) =
        FollowThrough(history, params);
  } else if (view == kConnectingTheDotsView) {
    *(then ? out->mutable_connecting_the_dots_then()
           : out->mutable_connecting_the_dots_now()) =
        ConnectingTheDots(history, params);
  } else if (view == kTimeAndMoneyView) {
    *(then ? out->mutable_time_and_money_then()
           : out->mutable_time_and_money_now()) = TimeAndMoney(history, params);
  } else if (view == kImpactView) {
    *(then ? out->mutable_impact_then() : out->mutable_impact_now()) =
        Impact(history, params);
  } else if (view == kProgrammeDesignView) {
    *(then ? out->mutable_programme_design_then()
           : out->mutable_programme_design_now()) =
        ProgrammeDesign(history, params);
  }
}

// A cited view still to be computed as of its position.
struct ThenReplay {
  uint64_t position;
  std::string view;
  ViewParams params;
  insights::ReplayedEvidence* out;
};

// Copies `reference` into `out` and computes the view it cites as of now;
// the view as of the cited position is left to `then`.
void Replay(const cpd::EvidenceReference& reference,
            const TrustHistory& history, const ViewParams& params,
            insights::ReplayedEvidence* out, std::vector<ThenReplay>* then) {
  out->set_view(reference.view());
  out->mutable_parameters()->insert(reference.parameters().begin(),
                                    reference.parameters().end());
  out->set_log_position(reference.log_position());
  *out->mutable_record_ids() = reference.record_ids();
  out->set_summary(reference.summary());

  if (reference.view().empty()) {
    out->set_not_replayed_reason("a reference to records, not to a view");
    return;
  }
  if (!Replayable(reference.view())) {
    out->set_not_replayed_reason(absl::StrCat(
        "\"", reference.view(), "\" is not a view this service computes"));
    return;
  }
  if (reference.log_position() == 0) {
    out->set_not_replayed_reason("cites no log position");
    return;
  }
  if (reference.log_position() > params.as_of_position) {
    out->set_not_replayed_reason(
        absl::StrCat("cites position ", reference.log_position(),
                     ", beyond the audit's position ", params.as_of_position));
    return;
  }
  const std::map<std::string, std::string> parameters(
      reference.parameters().begin(), reference.parameters().end());
  absl::StatusOr<ViewParams> then_params =
      ParamsFromEvidence(parameters, reference.log_position());
  if (!then_params.ok()) {
    out->set_not_replayed_reason(std::string(then_params.status().message()));
    return;
  }
  then->push_back(
      {reference.log_position(), reference.view(), *then_params, out});

  ViewParams now_params = *then_params;
  now_params.as_of_position = params.as_of_position;
  now_params.as_of_time = params.as_of_time;
  Compute(reference.view(), history, now_params, /*then=*/false, out);
}

// Computes each view of `then` as of its position: one history, grown from
// `history`'s facts in position order, serves every cited position in turn.
void ReplayThen(const TrustHistory& history, std::vector<ThenReplay>& then) {
  std::stable_sort(then.begin(), then.end(),
                   [](const ThenReplay& a, const ThenReplay& b) {
                     return a.position < b.position;
                   });
  const std::vector<const Fact*> facts = history.AllFacts();
  size_t next = 0;
  TrustHistory past;
  for (const ThenReplay& replay : then) {
    while (next < facts.size() && facts[next]->position <= replay.position) {
      past.Add(*facts[next++]);
    }
    Compute(replay.view, past, replay.params, /*then=*/true, replay.out);
  }
}

}  // namespace

absl::StatusOr<insights::DecisionAuditView> DecisionAudit(
    const TrustHistory& history, const ViewParams& params) {
  std::vector<const Fact*> decisions;
  for (const Fact& fact : history.Of(cpd::CpdEvent::kCpdDecisionRecorded)) {
    if (fact.occurred_at < params.from || fact.occurred_at >= params.to) {
      continue;
    }
    if (params.scope.kind != Scope::Kind::kTrust) {
      const StaffMember* decider = history.state().FindStaff(
          fact.event.cpd_decision_recorded().decided_by_staff_id());
      if (decider == nullptr ||
          !InScopeAt(*decider, params.scope, fact.occurred_at)) {
        continue;
      }
    }
    decisions.push_back(&fact);
  }
  // Facts come in position order: a stable sort by time keeps it for ties.
  std::stable_sort(decisions.begin(), decisions.end(),
                   [](const Fact* a, const Fact* b) {
                     return a->occurred_at < b->occurred_at;
                   });

  insights::DecisionAuditView view;
  SetBasis(params, view.mutable_basis());
  std::vector<ThenReplay> then;
  for (const Fact* fact : decisions) {
    const auto& recorded = fact->event.cpd_decision_recorded();
    insights::AuditedDecision* decision = view.add_decisions();
    decision->set_decision_id(recorded.decision_id());
    SetTimestamp(fact->occurred_at, decision->mutable_decided_at());
    decision->set_position(fact->position);
    decision->set_decided_by_staff_id(recorded.decided_by_staff_id());
    decision->set_decision(recorded.decision());
    decision->set_rationale(recorded.rationale());
    *decision->mutable_alternatives_considered() =
        recorded.alternatives_considered();
    *decision->mutable_areas() = recorded.areas();
    for (const cpd::EvidenceReference& reference : recorded.evidence()) {
      Replay(reference, history, params, decision->add_evidence(), &then);
    }
  }
  // Every evidence entry is in place: `then` points into `view`, which no
  // longer grows.
  ReplayThen(history, then);
  return view;
}

}  // namespace throughline::projections
