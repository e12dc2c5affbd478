// Field checks shared by the CPD silo services. Each returns OK or a status
// whose message and FieldViolation name `field` (a request field path such
// as "observation.development_points[2]"):
//   INVALID_ARGUMENT     malformed values, text over its limit, unknown or
//                        retired development areas
//   FAILED_PRECONDITION  references to things the trust does not hold

#ifndef THROUGHLINE_SERVICES_CPD_CHECKS_H_
#define THROUGHLINE_SERVICES_CPD_CHECKS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "projections/trust_state.h"
#include "throughline/cpd/v1/common.pb.h"

// Returns the status of `expr` from the enclosing function unless it is OK.
#define THROUGHLINE_RETURN_IF_ERROR(expr)               \
  do {                                                  \
    if (absl::Status status_ = (expr); !status_.ok()) { \
      return status_;                                   \
    }                                                   \
  } while (false)

namespace throughline::services::cpd {

namespace v1 = ::throughline::cpd::v1;
using projections::TrustState;

// Text limits, in characters (bytes of UTF-8).
inline constexpr size_t kMaxIdLength = 64;
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxShortTextLength = 500;
inline constexpr size_t kMaxDescriptionLength = 1000;
inline constexpr size_t kMaxLongTextLength = 4000;
inline constexpr size_t kMaxEmailLength = 254;
inline constexpr int kMaxListLength = 500;

// A record id: 1-64 of letters, digits and "-_.:".
absl::Status CheckId(const std::string& id, absl::string_view field);
// Optional id: empty, or as CheckId.
absl::Status CheckOptionalId(const std::string& id, absl::string_view field);
// Text up to `max` bytes; `required` also refuses empty text.
absl::Status CheckText(const std::string& text, size_t max,
                       absl::string_view field, bool required = false);
// A repeated field of at most kMaxListLength entries.
absl::Status CheckListLength(int size, absl::string_view field);
// A set enum value (not the UNSPECIFIED zero, and a known number).
absl::Status CheckEnum(int value, bool valid, absl::string_view field);
// A valid timestamp; returns it as absl::Time.
absl::StatusOr<absl::Time> CheckTimestamp(
    const google::protobuf::Timestamp& timestamp, absl::string_view field);

// A development area code of the trust that is not retired.
absl::Status CheckArea(const TrustState& state, const std::string& code,
                       absl::string_view field);
// Every code of a list (field paths "field[i]"); `required` refuses an empty
// list. Duplicates are refused.
absl::Status CheckAreas(
    const TrustState& state,
    const google::protobuf::RepeatedPtrField<std::string>& codes,
    absl::string_view field, bool required);
// Every mechanism is a set, known value.
absl::Status CheckMechanisms(
    const google::protobuf::RepeatedField<int>& mechanisms,
    absl::string_view field);

absl::Status CheckSchool(const TrustState& state, const std::string& id,
                         absl::string_view field);
// A department of `school_id`.
absl::Status CheckDepartment(const TrustState& state, const std::string& id,
                             const std::string& school_id,
                             absl::string_view field);
// A staff member the trust has ever had.
absl::Status CheckStaffKnown(const TrustState& state, const std::string& id,
                             absl::string_view field);
// A staff member of the trust at time `at` (joined, not yet left).
absl::Status CheckStaffActive(const TrustState& state, const std::string& id,
                              absl::Time at, absl::string_view field);

// Stream names: "<category>-<id>".
std::string StreamFor(absl::string_view category, const std::string& id);

}  // namespace throughline::services::cpd

#endif  // THROUGHLINE_SERVICES_CPD_CHECKS_H_
