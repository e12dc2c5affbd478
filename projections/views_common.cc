#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "eventstore/errors.h"
#include "projections/views.h"
#include "projections/views_internal.h"

namespace throughline::projections {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseTime(const std::string& text,
                                     const std::string& name) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return eventstore::InvalidField(
        absl::StrCat("parameters.", name),
        absl::StrCat("\"", text, "\" is not an RFC 3339 time"));
  }
  return t;
}

}  // namespace

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* timestamp) {
  const absl::Duration since_epoch = t - absl::UnixEpoch();
  int64_t seconds = absl::ToInt64Seconds(since_epoch);
  int64_t nanos =
      absl::ToInt64Nanoseconds(since_epoch - absl::Seconds(seconds));
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>(nanos));
}

absl::Time TimeOf(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

std::vector<std::string> AttendeesInScope(const TrustState& state,
                                          const cpd::SessionHeld& held,
                                          const Scope& scope,
                                          absl::Time held_at) {
  std::vector<std::string> attendees;
  for (const std::string& id : held.attendee_staff_ids()) {
    const StaffMember* member = state.FindStaff(id);
    if (scope.kind == Scope::Kind::kTrust ||
        (member != nullptr && InScopeAt(*member, scope, held_at))) {
      attendees.push_back(id);
    }
  }
  std::sort(attendees.begin(), attendees.end());
  attendees.erase(std::unique(attendees.begin(), attendees.end()),
                  attendees.end());
  return attendees;
}

void SetBasis(const ViewParams& params, insights::ViewBasis* basis) {
  switch (params.scope.kind) {
    case Scope::Kind::kTrust:
      basis->mutable_scope()->set_trust(true);
      break;
    case Scope::Kind::kSchool:
      basis->mutable_scope()->set_school_id(params.scope.id);
      break;
    case Scope::Kind::kDepartment:
      basis->mutable_scope()->set_department_id(params.scope.id);
      break;
  }
  SetTimestamp(params.from, basis->mutable_from());
  SetTimestamp(params.to, basis->mutable_to());
  SetTimestamp(params.as_of_time, basis->mutable_as_of_time());
  basis->set_as_of_position(params.as_of_position);
}

std::map<std::string, std::string> EvidenceParameters(
    const ViewParams& params) {
  std::map<std::string, std::string> parameters;
  switch (params.scope.kind) {
    case Scope::Kind::kTrust:
      parameters["scope"] = "trust";
      break;
    case Scope::Kind::kSchool:
      parameters["scope"] = absl::StrCat("school:", params.scope.id);
      break;
    case Scope::Kind::kDepartment:
      parameters["scope"] = absl::StrCat("department:", params.scope.id);
      break;
  }
  parameters["from"] = Rfc3339(params.from);
  parameters["to"] = Rfc3339(params.to);
  parameters["as_of_time"] = Rfc3339(params.as_of_time);
  return parameters;
}

absl::StatusOr<ViewParams> ParamsFromEvidence(
    const std::map<std::string, std::string>& parameters,
    uint64_t log_position) {
  ViewParams params;
  params.as_of_position = log_position;
  auto scope = parameters.find("scope");
  if (scope == parameters.end() || scope->second == "trust") {
    params.scope = Scope::Trust();
  } else {
    absl::string_view text = scope->second;
    if (absl::ConsumePrefix(&text, "school:") && !text.empty()) {
      params.scope = Scope::School(std::string(text));
    } else if (absl::ConsumePrefix(&text, "department:") && !text.empty()) {
      params.scope = Scope::Department(std::string(text));
    } else {
      return eventstore::InvalidField(
          "parameters.scope",
          absl::StrCat("\"", scope->second,
                       "\" is not trust, school:<id> or department:<id>"));
    }
  }
  for (const char* name : {"from", "to"}) {
    if (!parameters.contains(name)) {
      return eventstore::InvalidField(absl::StrCat("parameters.", name),
                                      "missing");
    }
  }
  absl::StatusOr<absl::Time> from = ParseTime(parameters.at("from"), "from");
  if (!from.ok()) return from.status();
  absl::StatusOr<absl::Time> to = ParseTime(parameters.at("to"), "to");
  if (!to.ok()) return to.status();
  // A reference without an as-of time means the end of its window.
  absl::StatusOr<absl::Time> as_of =
      parameters.contains("as_of_time")
          ? ParseTime(parameters.at("as_of_time"), "as_of_time")
          : absl::StatusOr<absl::Time>(*to);
  if (!as_of.ok()) return as_of.status();
  params.from = *from;
  params.to = *to;
  params.as_of_time = *as_of;
  return params;
}

}  // namespace throughline::projections
