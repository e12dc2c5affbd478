// Helpers shared by the view implementations (projections/views_*.cc).
// Not part of the views' interface.

#ifndef THROUGHLINE_PROJECTIONS_VIEWS_INTERNAL_H_
#define THROUGHLINE_PROJECTIONS_VIEWS_INTERNAL_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "projections/history.h"

namespace throughline::projections {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* timestamp);
absl::Time TimeOf(const google::protobuf::Timestamp& timestamp);

// The attendees of a session held at `held_at` who belonged to `scope` then
// (every attendee in trust scope), sorted and distinct.
std::vector<std::string> AttendeesInScope(const TrustState& state,
                                          const cpd::SessionHeld& held,
                                          const Scope& scope,
                                          absl::Time held_at);

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_VIEWS_INTERNAL_H_
