#include "services/timestamps.h"

#include "eventstore/errors.h"

namespace throughline::services {
namespace {

constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

}  // namespace

absl::StatusOr<absl::Time> TimeFromProto(
    const google::protobuf::Timestamp& timestamp, absl::string_view field) {
  if (timestamp.seconds() < kMinSeconds || timestamp.seconds() > kMaxSeconds ||
      timestamp.nanos() < 0 || timestamp.nanos() > 999999999) {
    return eventstore::InvalidField(field, "not a valid timestamp");
  }
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

void TimeToProto(absl::Time t, google::protobuf::Timestamp* timestamp) {
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

}  // namespace throughline::services
