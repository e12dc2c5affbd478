// StaffDirectoryService: staff joining, moving and leaving. Each staff
// member's events go to their own stream "staff-<staff_id>", the consistency
// boundary for one person's placement history.

#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/cpd/checks.h"
#include "services/cpd/silo_services.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;

constexpr char kCategory[] = "staff";

// The placement fields shared by StaffMemberJoined and StaffMemberMoved.
absl::Status CheckPlacement(
    const TrustState& state, absl::Time at, const std::string& staff_id,
    const std::string& school_id,
    const google::protobuf::RepeatedPtrField<std::string>& department_ids,
    int role, const std::string& line_manager_id, const std::string& prefix) {
  THROUGHLINE_RETURN_IF_ERROR(
      CheckSchool(state, school_id, absl::StrCat(prefix, ".school_id")));
  const std::string departments = absl::StrCat(prefix, ".department_ids");
  THROUGHLINE_RETURN_IF_ERROR(
      CheckListLength(department_ids.size(), departments));
  for (int i = 0; i < department_ids.size(); ++i) {
    THROUGHLINE_RETURN_IF_ERROR(
        CheckDepartment(state, department_ids[i], school_id,
                        absl::StrCat(departments, "[", i, "]")));
  }
  THROUGHLINE_RETURN_IF_ERROR(CheckEnum(role, v1::StaffRole_IsValid(role),
                                        absl::StrCat(prefix, ".role")));
  if (!line_manager_id.empty()) {
    const std::string field = absl::StrCat(prefix, ".line_manager_id");
    if (line_manager_id == staff_id) {
      return eventstore::InvalidField(field,
                                      "a staff member cannot manage themself");
    }
    THROUGHLINE_RETURN_IF_ERROR(
        CheckStaffActive(state, line_manager_id, at, field));
  }
  return absl::OkStatus();
}

// A member of the trust who has not left.
absl::Status CheckCurrentMember(const TrustState& state,
                                const std::string& staff_id, absl::Time at,
                                const std::string& field) {
  THROUGHLINE_RETURN_IF_ERROR(CheckStaffKnown(state, staff_id, field));
  const projections::StaffMember* member = state.FindStaff(staff_id);
  if (member->left_at.has_value()) {
    return FieldError(
        absl::StatusCode::kFailedPrecondition, field,
        absl::StrCat("staff member \"", staff_id, "\" has already left"));
  }
  if (at < member->joined_at) {
    return eventstore::InvalidField(
        "occurred_at",
        absl::StrCat("before staff member \"", staff_id, "\" joined"));
  }
  return absl::OkStatus();
}

Decision ForStaff(const std::string& staff_id, v1::CpdEvent event) {
  Decision decision;
  decision.stream = StreamFor(kCategory, staff_id);
  decision.events.push_back(std::move(event));
  return decision;
}

}  // namespace

grpc::Status StaffDirectoryService::RecordStaffJoined(
    grpc::ServerContext* context, const v1::RecordStaffJoinedRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::StaffMemberJoined& joined = request->joined();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(joined.staff_id(), "joined.staff_id"));
        if (state.FindStaff(joined.staff_id()) != nullptr) {
          return FieldError(absl::StatusCode::kAlreadyExists, "joined.staff_id",
                            absl::StrCat("staff member \"", joined.staff_id(),
                                         "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckPlacement(state, at, joined.staff_id(), joined.school_id(),
                           joined.department_ids(), joined.role(),
                           joined.line_manager_id(), "joined"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckText(joined.personal().display_name(), kMaxNameLength,
                      "joined.personal.display_name", /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(joined.personal().email(),
                                              kMaxEmailLength,
                                              "joined.personal.email"));
        v1::CpdEvent event;
        *event.mutable_staff_member_joined() = joined;
        Decision decision = ForStaff(joined.staff_id(), std::move(event));
        decision.expected = eventstore::ExpectedRevision::NoStream();
        return decision;
      },
      response);
}

grpc::Status StaffDirectoryService::RecordStaffMoved(
    grpc::ServerContext* context, const v1::RecordStaffMovedRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::StaffMemberMoved& moved = request->moved();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckCurrentMember(state, moved.staff_id(), at, "moved.staff_id"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckPlacement(state, at, moved.staff_id(), moved.school_id(),
                           moved.department_ids(), moved.role(),
                           moved.line_manager_id(), "moved"));
        v1::CpdEvent event;
        *event.mutable_staff_member_moved() = moved;
        return ForStaff(moved.staff_id(), std::move(event));
      },
      response);
}

grpc::Status StaffDirectoryService::RecordStaffLeft(
    grpc::ServerContext* context, const v1::RecordStaffLeftRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::StaffMemberLeft& left = request->left();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckCurrentMember(state, left.staff_id(), at, "left.staff_id"));
        v1::CpdEvent event;
        *event.mutable_staff_member_left() = left;
        return ForStaff(left.staff_id(), std::move(event));
      },
      response);
}

}  // namespace throughline::services::cpd
