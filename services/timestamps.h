// google.protobuf.Timestamp <-> absl::Time, with the validity rules every
// RPC applies: seconds within 0001-01-01..9999-12-31, nanos in [0, 1e9).

#ifndef THROUGHLINE_SERVICES_TIMESTAMPS_H_
#define THROUGHLINE_SERVICES_TIMESTAMPS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace throughline::services {

// The time `timestamp` denotes; InvalidArgument naming `field` when it is
// not a valid Timestamp.
absl::StatusOr<absl::Time> TimeFromProto(
    const google::protobuf::Timestamp& timestamp, absl::string_view field);

void TimeToProto(absl::Time t, google::protobuf::Timestamp* timestamp);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_TIMESTAMPS_H_
