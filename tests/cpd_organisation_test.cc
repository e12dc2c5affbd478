// OrganisationService and StaffDirectoryService rules, and the conventions
// every CPD RPC shares (request ids, occurred_at, registration).

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cpd_fixture.h"

namespace throughline::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class OrganisationTest : public CpdFixture {
 protected:
  grpc::Status AddSchool(const std::string& id, cpd::RecordResponse* response,
                         const std::string& request_id = NewRequestId()) {
    cpd::AddSchoolRequest request;
    request.set_request_id(request_id);
    request.mutable_school()->set_school_id(id);
    request.mutable_school()->set_name(absl::StrCat("School ", id));
    return organisation_->AddSchool(Context().get(), request, response);
  }
};

TEST_F(OrganisationTest, UnregisteredTrustRefusesRecords) {
  cpd::RecordResponse response;
  ExpectRefused(AddSchool("north", &response),
                grpc::StatusCode::FAILED_PRECONDITION, "tenant", 0);
}

TEST_F(OrganisationTest, RegisteringGivesTheDefaultTaxonomyOnce) {
  SeedTrust();
  cpd::ListDevelopmentAreasResponse areas;
  ASSERT_TRUE(
      organisation_->ListDevelopmentAreas(Context().get(), {}, &areas).ok());
  ASSERT_EQ(areas.areas_size(), 12);
  EXPECT_EQ(areas.areas(0).code(), "behaviour");
  EXPECT_EQ(areas.areas(2).code(), "questioning");
  EXPECT_EQ(areas.areas(11).code(), "professional-conduct");

  const uint64_t head = Head();
  cpd::RegisterTrustRequest again;
  again.set_request_id(NewRequestId());
  again.mutable_trust()->set_name("Again");
  cpd::RecordResponse response;
  ExpectRefused(organisation_->RegisterTrust(Context().get(), again, &response),
                grpc::StatusCode::FAILED_PRECONDITION, "tenant", head);
}

TEST_F(OrganisationTest, TrustNameIsRequired) {
  cpd::RegisterTrustRequest request;
  request.set_request_id(NewRequestId());
  cpd::RecordResponse response;
  ExpectRefused(
      organisation_->RegisterTrust(Context().get(), request, &response),
      grpc::StatusCode::INVALID_ARGUMENT, "trust.name", 0);
}

TEST_F(OrganisationTest, SchoolsAndDepartmentsAreChecked) {
  SeedTrust();
  const uint64_t head = Head();
  cpd::RecordResponse response;
  ExpectRefused(AddSchool("north", &response), grpc::StatusCode::ALREADY_EXISTS,
                "school.school_id", head);
  ExpectRefused(AddSchool("bad id!", &response),
                grpc::StatusCode::INVALID_ARGUMENT, "school.school_id", head);

  cpd::AddDepartmentRequest department;
  department.set_request_id(NewRequestId());
  department.mutable_department()->set_department_id("east-science");
  department.mutable_department()->set_school_id("east");
  department.mutable_department()->set_name("Science");
  ExpectRefused(
      organisation_->AddDepartment(Context().get(), department, &response),
      grpc::StatusCode::FAILED_PRECONDITION, "department.school_id", head);
  department.mutable_department()->set_department_id("north-maths");
  department.mutable_department()->set_school_id("north");
  ExpectRefused(
      organisation_->AddDepartment(Context().get(), department, &response),
      grpc::StatusCode::ALREADY_EXISTS, "department.department_id", head);
}

TEST_F(OrganisationTest, TaxonomyCanGrowBeRelabelledAndRetire) {
  SeedTrust();
  cpd::RecordResponse response;
  cpd::AddDevelopmentAreaRequest add;
  add.set_request_id(NewRequestId());
  add.mutable_area()->set_code("oracy");
  add.mutable_area()->set_label("Oracy");
  ASSERT_TRUE(
      organisation_->AddDevelopmentArea(Context().get(), add, &response).ok());
  uint64_t head = Head();
  add.set_request_id(NewRequestId());
  ExpectRefused(
      organisation_->AddDevelopmentArea(Context().get(), add, &response),
      grpc::StatusCode::ALREADY_EXISTS, "area.code", head);
  add.mutable_area()->set_code("Oracy Two");
  ExpectRefused(
      organisation_->AddDevelopmentArea(Context().get(), add, &response),
      grpc::StatusCode::INVALID_ARGUMENT, "area.code", head);

  cpd::RelabelDevelopmentAreaRequest relabel;
  relabel.set_request_id(NewRequestId());
  relabel.mutable_relabel()->set_code("oracy");
  relabel.mutable_relabel()->set_label("Spoken language");
  ASSERT_TRUE(
      organisation_->RelabelDevelopmentArea(Context().get(), relabel, &response)
          .ok());
  cpd::RetireDevelopmentAreaRequest retire;
  retire.set_request_id(NewRequestId());
  retire.mutable_retire()->set_code("oracy");
  ASSERT_TRUE(
      organisation_->RetireDevelopmentArea(Context().get(), retire, &response)
          .ok());
  head = Head();
  retire.set_request_id(NewRequestId());
  ExpectRefused(
      organisation_->RetireDevelopmentArea(Context().get(), retire, &response),
      grpc::StatusCode::INVALID_ARGUMENT, "retire.code", head);
  retire.mutable_retire()->set_code("questionning");
  ExpectRefused(
      organisation_->RetireDevelopmentArea(Context().get(), retire, &response),
      grpc::StatusCode::INVALID_ARGUMENT, "retire.code", head);

  cpd::ListDevelopmentAreasResponse areas;
  ASSERT_TRUE(
      organisation_->ListDevelopmentAreas(Context().get(), {}, &areas).ok());
  ASSERT_EQ(areas.areas_size(), 13);
  EXPECT_EQ(areas.areas(12).label(), "Spoken language");
  EXPECT_TRUE(areas.areas(12).retired());
}

TEST_F(OrganisationTest, RetriedRequestReturnsTheFirstOutcome) {
  SeedTrust();
  cpd::RecordResponse first, again;
  const std::string request_id = NewRequestId();
  ASSERT_TRUE(AddSchool("east", &first, request_id).ok());
  const uint64_t head = Head();
  grpc::Status status = AddSchool("east", &again, request_id);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.already_applied());
  EXPECT_FALSE(first.already_applied());
  EXPECT_EQ(again.event_ids(0), first.event_ids(0));
  EXPECT_EQ(again.first_position(), first.first_position());
  EXPECT_EQ(Head(), head);

  // The same request id for a different request is refused.
  ExpectRefused(AddSchool("west", &again, request_id),
                grpc::StatusCode::ALREADY_EXISTS, "request_id", head);
  cpd::AddSchoolRequest no_id;
  no_id.mutable_school()->set_school_id("west");
  no_id.mutable_school()->set_name("West");
  ExpectRefused(organisation_->AddSchool(Context().get(), no_id, &again),
                grpc::StatusCode::INVALID_ARGUMENT, "request_id", head);
}

TEST_F(OrganisationTest, OccurredAtMustFallBetweenRegistrationAndTomorrow) {
  SeedTrust();
  const uint64_t head = Head();
  cpd::AddSchoolRequest request;
  request.set_request_id(NewRequestId());
  request.mutable_school()->set_school_id("east");
  request.mutable_school()->set_name("East");
  SetTime(absl::Now() + absl::Hours(25), request.mutable_occurred_at());
  cpd::RecordResponse response;
  ExpectRefused(organisation_->AddSchool(Context().get(), request, &response),
                grpc::StatusCode::INVALID_ARGUMENT, "occurred_at", head);
  SetTime(RegisteredAt() - absl::Seconds(1), request.mutable_occurred_at());
  ExpectRefused(organisation_->AddSchool(Context().get(), request, &response),
                grpc::StatusCode::INVALID_ARGUMENT, "occurred_at", head);
  SetTime(absl::Now() + absl::Hours(23), request.mutable_occurred_at());
  EXPECT_TRUE(
      organisation_->AddSchool(Context().get(), request, &response).ok());
}

TEST_F(OrganisationTest, TrustsAreSeparate) {
  SeedTrust();
  cpd::AddSchoolRequest request;
  request.set_request_id(NewRequestId());
  request.mutable_school()->set_school_id("north");
  request.mutable_school()->set_name("North");
  cpd::RecordResponse response;
  grpc::Status status = organisation_->AddSchool(Context("other-trust").get(),
                                                 request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Head("other-trust"), 0u);
}

class StaffTest : public OrganisationTest {
 protected:
  cpd::RecordStaffJoinedRequest Joined(const std::string& id,
                                       const std::string& school) {
    cpd::RecordStaffJoinedRequest request;
    request.set_request_id(NewRequestId());
    request.mutable_joined()->set_staff_id(id);
    request.mutable_joined()->set_school_id(school);
    request.mutable_joined()->set_role(cpd::STAFF_ROLE_TEACHER);
    request.mutable_joined()->mutable_personal()->set_display_name("A Person");
    return request;
  }
};

TEST_F(StaffTest, JoiningIsChecked) {
  SeedTrust();
  const uint64_t head = Head();
  cpd::RecordResponse response;
  auto request = Joined("t1", "north");
  ExpectRefused(staff_->RecordStaffJoined(Context().get(), request, &response),
                grpc::StatusCode::ALREADY_EXISTS, "joined.staff_id", head);
  request = Joined("t9", "east");
  ExpectRefused(staff_->RecordStaffJoined(Context().get(), request, &response),
                grpc::StatusCode::FAILED_PRECONDITION, "joined.school_id",
                head);
  request = Joined("t9", "north");
  request.mutable_joined()->add_department_ids("south-maths");
  ExpectRefused(staff_->RecordStaffJoined(Context().get(), request, &response),
                grpc::StatusCode::FAILED_PRECONDITION,
                "joined.department_ids[0]", head);
  request = Joined("t9", "north");
  request.mutable_joined()->set_line_manager_id("nobody");
  ExpectRefused(staff_->RecordStaffJoined(Context().get(), request, &response),
                grpc::StatusCode::FAILED_PRECONDITION, "joined.line_manager_id",
                head);
  request = Joined("t9", "north");
  request.mutable_joined()->clear_role();
  ExpectRefused(staff_->RecordStaffJoined(Context().get(), request, &response),
                grpc::StatusCode::INVALID_ARGUMENT, "joined.role", head);
  request = Joined("t9", "north");
  request.mutable_joined()->mutable_personal()->set_display_name(
      std::string(201, 'x'));
  ExpectRefused(staff_->RecordStaffJoined(Context().get(), request, &response),
                grpc::StatusCode::INVALID_ARGUMENT,
                "joined.personal.display_name", head);
  request = Joined("t9", "north");
  request.mutable_joined()->set_line_manager_id("t1");
  EXPECT_TRUE(
      staff_->RecordStaffJoined(Context().get(), request, &response).ok());
}

TEST_F(StaffTest, LeaversCannotMoveOrLeaveAgain) {
  SeedTrust();
  Leave("t2", RegisteredAt() + absl::Hours(24 * 30));
  const uint64_t head = Head();
  cpd::RecordResponse response;
  cpd::RecordStaffLeftRequest left;
  left.set_request_id(NewRequestId());
  left.mutable_left()->set_staff_id("t2");
  ExpectRefused(staff_->RecordStaffLeft(Context().get(), left, &response),
                grpc::StatusCode::FAILED_PRECONDITION, "left.staff_id", head);
  left.mutable_left()->set_staff_id("nobody");
  ExpectRefused(staff_->RecordStaffLeft(Context().get(), left, &response),
                grpc::StatusCode::FAILED_PRECONDITION, "left.staff_id", head);

  cpd::RecordStaffMovedRequest moved;
  moved.set_request_id(NewRequestId());
  moved.mutable_moved()->set_staff_id("t2");
  moved.mutable_moved()->set_school_id("south");
  moved.mutable_moved()->set_role(cpd::STAFF_ROLE_MIDDLE_LEADER);
  ExpectRefused(staff_->RecordStaffMoved(Context().get(), moved, &response),
                grpc::StatusCode::FAILED_PRECONDITION, "moved.staff_id", head);
  moved.mutable_moved()->set_staff_id("t1");
  moved.mutable_moved()->add_department_ids("south-maths");
  grpc::Status status =
      staff_->RecordStaffMoved(Context().get(), moved, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace throughline::testing
