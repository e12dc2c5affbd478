// `throughline demo`: a realistic, synthetic multi-school trust recorded
// through the public CPD API.
//
// GenerateDemo (pure: no I/O, no clock, no global randomness) turns a seed
// and a reference time into the ordered list of (RPC, request) pairs that
// tell one academic year of a trust's story: schools, departments and staff
// (with leavers, movers and joiners); observations, learning walks, coaching,
// appraisal goals and reviews; sustained programmes and one-off sessions
// with follow-up on time, late and missing; CPD time, budgets and spend;
// improvement priorities, training needs, decisions with evidence and impact
// evaluations. By design one development area, "questioning", is flagged in
// observations, learning walks, coaching and appraisal for many staff while
// no session covers it: an emergent training need. Names are made up from
// small lists; ids and request ids derive from the seed and options, so
// sending the same plan to the same trust again appends nothing.
//
// SendDemo sends a plan, one call after another, through the same generic
// path as `throughline record`.

#ifndef THROUGHLINE_TOOLS_DEMO_H_
#define THROUGHLINE_TOOLS_DEMO_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "tools/cli_record.h"

namespace throughline::cli {

struct DemoOptions {
  uint64_t seed = 1;
  int schools = 3;  // 1 to 8.
  int staff = 150;  // 12 per school to 2000.
  // The time the plan is made for: the academic year is chosen from it (see
  // DemoRegistrationTime) and nothing in the plan happens after it.
  absl::Time now;
};

absl::Status ValidateDemoOptions(const DemoOptions& options);

// When the demo trust is registered: 1 September, 00:00 UTC, of the most
// recent year for which that is at least 300 days before `now`. The
// generated year runs from then to late June (under 300 days), so every
// event is in the past, and the plan only changes once a year.
absl::Time DemoRegistrationTime(absl::Time now);

struct DemoCall {
  std::string
      rpc;  // "Service.Rpc", e.g. "ObservationService.RecordObservation".
  std::shared_ptr<google::protobuf::Message> request;
  absl::Time occurred_at;       // As set in the request.
  std::string source_platform;  // The platform of the silo, for metadata.
};

struct DemoPlan {
  std::string trust_name;
  std::string academic_year;  // E.g. "2025-26".
  absl::Time registered_at;
  // In the order they must be sent (by occurred_at, causes first).
  std::vector<DemoCall> calls;
  // The trust's log head once every call is applied to a fresh trust.
  uint64_t expected_head = 0;
};

// The plan for `options`. The same options give the same plan, request for
// request; InvalidArgument for bad options.
absl::StatusOr<DemoPlan> GenerateDemo(const DemoOptions& options);

struct DemoOutcome {
  size_t sent = 0;             // Calls answered OK.
  size_t recorded = 0;         // ... of which appended something new.
  size_t already_applied = 0;  // ... of which were retries of earlier ones.
  uint64_t last_position = 0;  // The highest log position answered.
  // Calls answered OK per event recorded, e.g. "ObservationRecorded".
  std::map<std::string, size_t> calls_by_event;
  // The first call that failed (sending stops there), if any.
  std::optional<size_t> failed_call;
  grpc::Status failure;
};

// Sends every call of `plan` in order over `channel`, as tenant
// `metadata.tenant` (and actor, when set; each call's source platform
// unless `metadata.source_platform` is set), each with a deadline of
// `timeout`. Stops at the first failure.
DemoOutcome SendDemo(const std::shared_ptr<grpc::Channel>& channel,
                     const DemoPlan& plan, const CallMetadata& metadata,
                     absl::Duration timeout);

}  // namespace throughline::cli

#endif  // THROUGHLINE_TOOLS_DEMO_H_
