#include "tests/cpd_fixture.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "projections/cpd_codec.h"
#include "services/event_store_service.h"
#include "throughline/eventstore/v1/errors.pb.h"

namespace throughline::testing {

absl::Time CpdFixture::RegisteredAt() {
  return absl::FromCivil(absl::CivilSecond(2025, 9, 1, 0, 0, 0),
                         absl::UTCTimeZone());
}

void SetTime(absl::Time t, google::protobuf::Timestamp* timestamp) {
  const int64_t nanos = absl::ToUnixNanos(t);
  timestamp->set_seconds(nanos / 1000000000);
  timestamp->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

std::string ViolatedField(const grpc::Status& status) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return "";
  for (const auto& any : rich.details()) {
    eventstore::v1::FieldViolation violation;
    if (any.UnpackTo(&violation)) return violation.field();
  }
  return "";
}

std::string CpdFixture::NewRequestId() { return NewUuid(); }

std::vector<cpd::CpdEvent> CpdFixture::StreamEvents(
    const std::string& stream) const {
  auto stub = eventstore::v1::EventStore::NewStub(channel_);
  eventstore::v1::ReadStreamRequest request;
  request.set_stream(stream);
  eventstore::v1::ReadStreamResponse response;
  grpc::Status status = stub->ReadStream(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<cpd::CpdEvent> events;
  for (const auto& recorded : response.events()) {
    eventstore::EventRecord record;
    record.set_type(recorded.type());
    record.set_data(recorded.data());
    absl::StatusOr<cpd::CpdEvent> event = projections::DecodeCpdEvent(record);
    EXPECT_TRUE(event.ok()) << event.status();
    if (event.ok()) events.push_back(*std::move(event));
  }
  return events;
}

void CpdFixture::SetUp() {
  eventstore::EventStoreOptions options;
  options.path = dir_.path();
  auto store = eventstore::EventStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  auto auth_store = services::auth::AuthStore::Open(dir_.path() + "/auth");
  ASSERT_TRUE(auth_store.ok()) << auth_store.status();
  auth_store_ = *std::move(auth_store);
  gate_ = std::make_unique<services::auth::Gate>(auth_store_.get());
  personal_data_ = std::make_unique<services::privacy::PersonalData>(
      store_.get(), std::string(services::privacy::kKeyBytes, 'k'));
  runner_ = std::make_unique<services::cpd::CommandRunner>(
      store_.get(), personal_data_.get());
  services_.push_back(
      std::make_unique<services::cpd::OrganisationService>(runner_.get()));
  services_.push_back(
      std::make_unique<services::cpd::StaffDirectoryService>(runner_.get()));
  AddServices(runner_.get(), &services_);
  event_store_service_ = std::make_unique<services::EventStoreService>(
      store_.get(), auth_store_.get(),
      services::EventStoreService::Reveal{
          .may_change = &services::privacy::PersonalData::MayHoldPersonalData,
          .apply = [pd = personal_data_.get()](
                       const std::string& tenant,
                       eventstore::v1::RecordedEvent* event) {
            return pd->RevealStoredEvent(tenant, event->type(),
                                         event->content_type(),
                                         event->mutable_data());
          }});

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(gate_->NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (auto& service : services_) builder.RegisterService(service.get());
  builder.RegisterService(event_store_service_.get());
  server_ = builder.BuildAndStart();
  ASSERT_NE(server_, nullptr);
  channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                 grpc::InsecureChannelCredentials());
  organisation_ = cpd::OrganisationService::NewStub(channel_);
  staff_ = cpd::StaffDirectoryService::NewStub(channel_);
}

void CpdFixture::TearDown() {
  if (server_ != nullptr) server_->Shutdown();
  if (store_ != nullptr) store_->Shutdown();
}

std::unique_ptr<grpc::ClientContext> CpdFixture::Context(
    const std::string& tenant) const {
  auto context = std::make_unique<grpc::ClientContext>();
  Authorize(context.get(), Token(tenant));
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

std::string CpdFixture::Token(const std::string& tenant,
                              authv1::Role role) const {
  const std::string key = absl::StrCat(tenant, "/", role);
  absl::MutexLock lock(&tokens_mu_);
  auto it = tokens_.find(key);
  if (it == tokens_.end()) {
    it = tokens_.emplace(key, MintToken(auth_store_.get(), tenant, role)).first;
  }
  return it->second;
}

uint64_t CpdFixture::Head(const std::string& tenant) const {
  absl::StatusOr<uint64_t> head = store_->HeadPosition(tenant);
  EXPECT_TRUE(head.ok()) << head.status();
  return head.ok() ? *head : 0;
}

void CpdFixture::Join(const std::string& staff_id, const std::string& school_id,
                      const std::vector<std::string>& departments,
                      absl::Time at) {
  cpd::RecordStaffJoinedRequest request;
  request.set_request_id(NewRequestId());
  SetTime(at, request.mutable_occurred_at());
  cpd::StaffMemberJoined* joined = request.mutable_joined();
  joined->set_staff_id(staff_id);
  joined->set_school_id(school_id);
  for (const std::string& department : departments) {
    joined->add_department_ids(department);
  }
  joined->set_role(cpd::STAFF_ROLE_TEACHER);
  joined->mutable_personal()->set_display_name(
      absl::StrCat("Teacher ", staff_id));
  cpd::RecordResponse response;
  grpc::Status status =
      staff_->RecordStaffJoined(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

void CpdFixture::Leave(const std::string& staff_id, absl::Time at) {
  cpd::RecordStaffLeftRequest request;
  request.set_request_id(NewRequestId());
  SetTime(at, request.mutable_occurred_at());
  request.mutable_left()->set_staff_id(staff_id);
  cpd::RecordResponse response;
  grpc::Status status =
      staff_->RecordStaffLeft(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

void CpdFixture::RetireArea(const std::string& code) {
  cpd::RetireDevelopmentAreaRequest request;
  request.set_request_id(NewRequestId());
  request.mutable_retire()->set_code(code);
  cpd::RecordResponse response;
  grpc::Status status =
      organisation_->RetireDevelopmentArea(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

void CpdFixture::ExpectRefused(const grpc::Status& status,
                               grpc::StatusCode code, const std::string& field,
                               uint64_t head_before) {
  SCOPED_TRACE(field);
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_EQ(status.error_message().rfind(field + ":", 0), 0u)
      << status.error_message();
  EXPECT_EQ(ViolatedField(status), field) << status.error_message();
  EXPECT_EQ(Head(), head_before);
}

void CpdFixture::ExpectRecordedOnceThenRetried(
    const std::function<grpc::Status(cpd::RecordResponse*)>& record) {
  const uint64_t head = Head();
  cpd::RecordResponse first;
  grpc::Status status = record(&first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(first.already_applied());
  ASSERT_EQ(first.event_ids_size(), 1);
  EXPECT_EQ(first.first_position(), head + 1);
  EXPECT_EQ(first.last_position(), head + 1);
  EXPECT_EQ(Head(), head + 1);

  cpd::RecordResponse again;
  status = record(&again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.already_applied());
  ASSERT_EQ(again.event_ids_size(), 1);
  EXPECT_EQ(again.event_ids(0), first.event_ids(0));
  EXPECT_EQ(again.first_position(), first.first_position());
  EXPECT_EQ(Head(), head + 1);
}

void CpdFixture::SeedTrust() {
  cpd::RecordResponse response;
  {
    cpd::RegisterTrustRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt(), request.mutable_occurred_at());
    request.mutable_trust()->set_name("Northfield Learning Trust");
    grpc::Status status =
        organisation_->RegisterTrust(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  for (const char* school : {"north", "south"}) {
    cpd::AddSchoolRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt(), request.mutable_occurred_at());
    request.mutable_school()->set_school_id(school);
    request.mutable_school()->set_name(absl::StrCat(school, " school"));
    grpc::Status status =
        organisation_->AddSchool(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const std::pair<const char*, const char*> departments[] = {
      {"north-maths", "north"},
      {"north-english", "north"},
      {"south-maths", "south"}};
  for (const auto& [department, school] : departments) {
    cpd::AddDepartmentRequest request;
    request.set_request_id(NewRequestId());
    SetTime(RegisteredAt(), request.mutable_occurred_at());
    request.mutable_department()->set_department_id(department);
    request.mutable_department()->set_school_id(school);
    request.mutable_department()->set_name(department);
    grpc::Status status =
        organisation_->AddDepartment(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  Join("t1", "north", {"north-maths"}, RegisteredAt());
  Join("t2", "north", {"north-maths"}, RegisteredAt());
  Join("t3", "north", {"north-english"}, RegisteredAt());
  Join("t4", "north", {}, RegisteredAt());
  Join("t5", "south", {"south-maths"}, RegisteredAt());
  Join("t6", "south", {"south-maths"}, RegisteredAt());
}

}  // namespace throughline::testing
