// The eight views leaders read, as pure functions of a trust's history and
// the query's parameters. Their precise definitions (binding, from the
// product spec) are in docs/views/; each function's comment names its page.
//
// A view computed from TrustHistory as of position P is exactly the answer
// the view gave when the log ended at P, because it reads nothing else:
// callers pass the history cut at P and explicit times. Numbers are exact:
// integer counts, and ratios as integer numerator and denominator.

#ifndef THROUGHLINE_PROJECTIONS_VIEWS_H_
#define THROUGHLINE_PROJECTIONS_VIEWS_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "projections/history.h"
#include "throughline/insights/v1/insights.pb.h"

namespace throughline::projections {

namespace insights = ::throughline::insights::v1;

// Resolved parameters of one view query.
struct ViewParams {
  Scope scope;
  // The window of occurred times [from, to).
  absl::Time from;
  absl::Time to;
  // Follow-ups due before it are overdue; "now" for the view.
  absl::Time as_of_time;
  // The log position the history was cut at.
  uint64_t as_of_position = 0;
};

// The default window length.
inline constexpr absl::Duration kDefaultWindow = absl::Hours(24 * 180);
// How long after an observation another silo may respond (inclusive).
inline constexpr absl::Duration kResponseTime = absl::Hours(24 * 42);

// Names of the views, as cited in EvidenceReference.view.
inline constexpr char kEmergentNeedsView[] = "emergent-needs";
inline constexpr char kFollowThroughView[] = "follow-through";
inline constexpr char kConnectingTheDotsView[] = "connecting-the-dots";
inline constexpr char kTimeAndMoneyView[] = "time-and-money";
inline constexpr char kImpactView[] = "impact";
inline constexpr char kProgrammeDesignView[] = "programme-design";

// Fills a ViewBasis with `params`.
void SetBasis(const ViewParams& params, insights::ViewBasis* basis);

// The parameters of an EvidenceReference that cites a view computed with
// `params`: {"scope": "trust" | "school:<id>" | "department:<id>",
// "from", "to", "as_of_time": RFC 3339}; the reference's log_position is
// params.as_of_position.
std::map<std::string, std::string> EvidenceParameters(const ViewParams& params);
// The inverse: InvalidArgument naming the parameter when one is malformed
// or "from" or "to" is missing; a missing "as_of_time" means "to".
absl::StatusOr<ViewParams> ParamsFromEvidence(
    const std::map<std::string, std::string>& parameters,
    uint64_t log_position);

// 1. Emergent training needs (docs/views/emergent-needs.md).
insights::EmergentNeedsView EmergentNeeds(const TrustHistory& history,
                                          const ViewParams& params);

// 2. Follow-through (docs/views/follow-through.md).
insights::FollowThroughView FollowThrough(const TrustHistory& history,
                                          const ViewParams& params);

// 3. One person's record (docs/views/staff-record.md). NotFound for a
// staff id the trust never had.
absl::StatusOr<insights::StaffRecordView> StaffRecord(
    const TrustHistory& history, const ViewParams& params,
    const std::string& staff_id);

// 4. Connecting the dots (docs/views/connecting-the-dots.md).
insights::ConnectingTheDotsView ConnectingTheDots(const TrustHistory& history,
                                                  const ViewParams& params);

// 5. Time and money (docs/views/time-and-money.md).
insights::TimeAndMoneyView TimeAndMoney(const TrustHistory& history,
                                        const ViewParams& params);

// 6. Impact (docs/views/impact.md).
insights::ImpactView Impact(const TrustHistory& history,
                            const ViewParams& params);

// 7. Decision audit (docs/views/decision-audit.md): each decision in window
// and scope with the views its evidence cites, replayed as of the cited
// position and computed again as of `history`. `history` holds every fact up
// to params.as_of_position, so the history as of each cited position is
// rebuilt from it, in one pass in position order, without loading anything.
absl::StatusOr<insights::DecisionAuditView> DecisionAudit(
    const TrustHistory& history, const ViewParams& params);

// 8. Programme design (docs/views/programme-design.md).
insights::ProgrammeDesignView ProgrammeDesign(const TrustHistory& history,
                                              const ViewParams& params);

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_VIEWS_H_
