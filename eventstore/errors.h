// Structured errors of the event store. Every error is an absl::Status whose
// message starts with the request field it concerns ("events[2].type: ...").
// The field path, and for expected-revision conflicts the actual revision,
// are also attached as payloads so that a transport can turn them into typed
// error details without parsing messages.

#ifndef THROUGHLINE_EVENTSTORE_ERRORS_H_
#define THROUGHLINE_EVENTSTORE_ERRORS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace throughline::eventstore {

// A status with `code` and message "`field`: `description`", carrying the
// field path as a payload.
absl::Status FieldError(absl::StatusCode code, absl::string_view field,
                        absl::string_view description);
inline absl::Status InvalidField(absl::string_view field,
                                 absl::string_view description) {
  return FieldError(absl::StatusCode::kInvalidArgument, field, description);
}

// The field path attached by FieldError, if any.
std::optional<std::string> ErrorField(const absl::Status& status);

// An append's expected revision did not hold.
struct RevisionConflict {
  std::string stream;
  std::string expected;  // "any", "no_stream", "stream_exists" or a number.
  bool stream_exists = false;
  uint64_t actual_revision = 0;  // Meaningful only if stream_exists.
};

// An ABORTED status describing `conflict`, with the conflict attached.
absl::Status RevisionConflictError(const RevisionConflict& conflict);

// The conflict attached by RevisionConflictError, if any.
std::optional<RevisionConflict> ErrorRevisionConflict(
    const absl::Status& status);

}  // namespace throughline::eventstore

#endif  // THROUGHLINE_EVENTSTORE_ERRORS_H_
