#include "eventstore/errors.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace throughline::eventstore {
namespace {

constexpr char kFieldPayload[] = "throughline/field";
constexpr char kConflictPayload[] = "throughline/revision-conflict";

}  // namespace

absl::Status FieldError(absl::StatusCode code, absl::string_view field,
                        absl::string_view description) {
  absl::Status status(code, absl::StrCat(field, ": ", description));
  status.SetPayload(kFieldPayload, absl::Cord(field));
  return status;
}

std::optional<std::string> ErrorField(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kFieldPayload);
  if (!payload) return std::nullopt;
  return std::string(*payload);
}

absl::Status RevisionConflictError(const RevisionConflict& conflict) {
  const std::string actual =
      conflict.stream_exists
          ? absl::StrCat("its revision is ", conflict.actual_revision)
          : std::string("it has no events");
  absl::Status status(absl::StatusCode::kAborted,
                      absl::StrCat("expected_revision: stream \"",
                                   conflict.stream, "\" was expected to be ",
                                   conflict.expected, " but ", actual));
  // Stream names cannot contain '\n' (see ValidateStreamName).
  status.SetPayload(
      kConflictPayload,
      absl::Cord(absl::StrCat(conflict.stream, "\n", conflict.expected, "\n",
                              conflict.stream_exists ? 1 : 0, "\n",
                              conflict.actual_revision)));
  return status;
}

std::optional<RevisionConflict> ErrorRevisionConflict(
    const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kConflictPayload);
  if (!payload) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(std::string(*payload), '\n');
  if (parts.size() != 4) return std::nullopt;
  RevisionConflict conflict;
  conflict.stream = parts[0];
  conflict.expected = parts[1];
  conflict.stream_exists = parts[2] == "1";
  if (!absl::SimpleAtoi(parts[3], &conflict.actual_revision)) {
    return std::nullopt;
  }
  return conflict;
}

}  // namespace throughline::eventstore
