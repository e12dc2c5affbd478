#include "services/cpd/checks.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/timestamps.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

absl::Status Missing(absl::string_view field, absl::string_view what) {
  return FieldError(absl::StatusCode::kFailedPrecondition, field, what);
}

std::string Indexed(absl::string_view field, int index) {
  return absl::StrCat(field, "[", index, "]");
}

}  // namespace

absl::Status CheckId(const std::string& id, absl::string_view field) {
  if (id.empty()) return InvalidField(field, "must not be empty");
  if (id.size() > kMaxIdLength) {
    return InvalidField(
        field, absl::StrCat("longer than ", kMaxIdLength, " characters"));
  }
  for (char c : id) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) {
      return InvalidField(
          field, absl::StrCat("\"", absl::CEscape(id),
                              "\" may hold only letters, digits and \"-_.:\""));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOptionalId(const std::string& id, absl::string_view field) {
  return id.empty() ? absl::OkStatus() : CheckId(id, field);
}

absl::Status CheckText(const std::string& text, size_t max,
                       absl::string_view field, bool required) {
  if (required && text.empty()) return InvalidField(field, "must not be empty");
  if (text.size() > max) {
    return InvalidField(field, absl::StrCat(text.size(),
                                            " characters is more than the "
                                            "limit of ",
                                            max));
  }
  return absl::OkStatus();
}

absl::Status CheckListLength(int size, absl::string_view field) {
  if (size > kMaxListLength) {
    return InvalidField(field, absl::StrCat(size,
                                            " entries is more than the "
                                            "limit of ",
                                            kMaxListLength));
  }
  return absl::OkStatus();
}

absl::Status CheckEnum(int value, bool valid, absl::string_view field) {
  if (value == 0) return InvalidField(field, "must be set");
  if (!valid) return InvalidField(field, absl::StrCat("unknown value ", value));
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> CheckTimestamp(
    const google::protobuf::Timestamp& timestamp, absl::string_view field) {
  return TimeFromProto(timestamp, field);
}

absl::Status CheckArea(const TrustState& state, const std::string& code,
                       absl::string_view field) {
  if (code.empty()) return InvalidField(field, "must not be empty");
  const projections::Area* area = state.FindArea(code);
  if (area == nullptr) {
    return InvalidField(
        field, absl::StrCat("unknown area code \"", absl::CEscape(code), "\""));
  }
  if (area->retired) {
    return InvalidField(field,
                        absl::StrCat("area code \"", code, "\" is retired"));
  }
  return absl::OkStatus();
}

absl::Status CheckAreas(
    const TrustState& state,
    const google::protobuf::RepeatedPtrField<std::string>& codes,
    absl::string_view field, bool required) {
  if (required && codes.empty()) {
    return InvalidField(field, "needs at least one area");
  }
  if (absl::Status s = CheckListLength(codes.size(), field); !s.ok()) return s;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < codes.size(); ++i) {
    if (absl::Status s = CheckArea(state, codes[i], Indexed(field, i));
        !s.ok()) {
      return s;
    }
    if (!seen.insert(codes[i]).second) {
      return InvalidField(Indexed(field, i),
                          absl::StrCat("area \"", codes[i], "\" is repeated"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMechanisms(
    const google::protobuf::RepeatedField<int>& mechanisms,
    absl::string_view field) {
  if (absl::Status s = CheckListLength(mechanisms.size(), field); !s.ok()) {
    return s;
  }
  for (int i = 0; i < mechanisms.size(); ++i) {
    if (absl::Status s =
            CheckEnum(mechanisms[i], v1::Mechanism_IsValid(mechanisms[i]),
                      Indexed(field, i));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSchool(const TrustState& state, const std::string& id,
                         absl::string_view field) {
  if (absl::Status s = CheckId(id, field); !s.ok()) return s;
  if (!state.HasSchool(id)) {
    return Missing(field, absl::StrCat("unknown school \"", id, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckDepartment(const TrustState& state, const std::string& id,
                             const std::string& school_id,
                             absl::string_view field) {
  if (absl::Status s = CheckId(id, field); !s.ok()) return s;
  const std::string* school = state.DepartmentSchool(id);
  if (school == nullptr) {
    return Missing(field, absl::StrCat("unknown department \"", id, "\""));
  }
  if (*school != school_id) {
    return Missing(field,
                   absl::StrCat("department \"", id, "\" belongs to school \"",
                                *school, "\", not \"", school_id, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckStaffKnown(const TrustState& state, const std::string& id,
                             absl::string_view field) {
  if (absl::Status s = CheckId(id, field); !s.ok()) return s;
  if (state.FindStaff(id) == nullptr) {
    return Missing(field, absl::StrCat("unknown staff member \"", id, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckStaffActive(const TrustState& state, const std::string& id,
                              absl::Time at, absl::string_view field) {
  if (absl::Status s = CheckStaffKnown(state, id, field); !s.ok()) return s;
  const projections::StaffMember* member = state.FindStaff(id);
  if (member->left_at.has_value() && at >= *member->left_at) {
    return Missing(field, absl::StrCat("staff member \"", id, "\" left on ",
                                       absl::FormatTime(*member->left_at)));
  }
  if (at < member->joined_at) {
    return Missing(
        field,
        absl::StrCat("staff member \"", id, "\" had not joined yet (joined ",
                     absl::FormatTime(member->joined_at), ")"));
  }
  return absl::OkStatus();
}

std::string StreamFor(absl::string_view category, const std::string& id) {
  return absl::StrCat(category, "-", id);
}

}  // namespace throughline::services::cpd
