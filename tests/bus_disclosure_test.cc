// Clear personal data on the bus, per trust, against a real nats-server on
// loopback: off (the default) a consumer sees ciphertext only; on, the
// trust's events are also published with personal data in clear on the
// subjects throughline.clear.<trust>.>, of a stream of their own, while the
// outbound stream keeps the stored bytes; another trust is unaffected; and a
// person erased before their events are published reads as erased there.

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/bus/relay.h"
#include "services/server.h"
#include "tests/auth_support.h"
#include "tests/bus_support.h"
#include "tests/nats_server_process.h"
#include "tests/test_support.h"
#include "throughline/bus/v1/bus.grpc.pb.h"
#include "throughline/cpd/v1/events.pb.h"
#include "throughline/cpd/v1/organisation.grpc.pb.h"
#include "throughline/cpd/v1/staff.grpc.pb.h"
#include "throughline/privacy/v1/privacy.grpc.pb.h"

namespace throughline::testing {
namespace {

namespace bus_v1 = ::throughline::bus::v1;
namespace cpd = ::throughline::cpd::v1;
namespace privacy = ::throughline::privacy::v1;

constexpr char kEvents[] = "THROUGHLINE_EVENTS";
constexpr char kClear[] = "THROUGHLINE_EVENTS_CLEAR";
constexpr char kOn[] = "northfield";
constexpr char kOff[] = "riverside";

class BusDisclosureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/nats");
    nats_ = std::make_unique<NatsServerProcess>(dir_.path() + "/nats");
    ASSERT_TRUE(nats_->Start());
    StartServer();
    if (HasFatalFailure()) return;
    for (const char* trust : {kOn, kOff}) Register(trust);
  }

  void StartServer() {
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.path() + "/data";
    config.nats_url = nats_->url();
    config.bus_retry_max_seconds = 1;
    config.shutdown_grace_seconds = 2;
    auto server = services::Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    operator_token_ = MintToken(server_->auth_store(),
                                PrincipalFor("", authv1::ROLE_OPERATOR));
    for (const char* trust : {kOn, kOff}) {
      tokens_[trust] = MintToken(server_->auth_store(), trust);
    }
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    privacy_ = privacy::PrivacyService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& trust) {
    auto context = std::make_unique<grpc::ClientContext>();
    Authorize(context.get(), trust.empty() ? operator_token_ : tokens_[trust]);
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(30));
    return context;
  }

  static void Now(google::protobuf::Timestamp* t) {
    t->set_seconds(absl::ToUnixSeconds(absl::Now()) - 60);
  }

  void Register(const std::string& trust) {
    auto organisation = cpd::OrganisationService::NewStub(channel_);
    cpd::RecordResponse response;
    cpd::RegisterTrustRequest request;
    request.set_request_id("register");
    Now(request.mutable_occurred_at());
    request.mutable_trust()->set_name(trust + " trust");
    grpc::Status status =
        organisation->RegisterTrust(Ctx(trust).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    cpd::AddSchoolRequest school;
    school.set_request_id("school");
    Now(school.mutable_occurred_at());
    school.mutable_school()->set_school_id("main");
    school.mutable_school()->set_name("Main school");
    status = organisation->AddSchool(Ctx(trust).get(), school, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Records `staff_id` joining `trust` under `name`; returns its position.
  uint64_t Join(const std::string& trust, const std::string& staff_id,
                const std::string& name) {
    auto staff = cpd::StaffDirectoryService::NewStub(channel_);
    cpd::RecordStaffJoinedRequest request;
    request.set_request_id("join-" + staff_id);
    Now(request.mutable_occurred_at());
    request.mutable_joined()->set_staff_id(staff_id);
    request.mutable_joined()->set_school_id("main");
    request.mutable_joined()->set_role(cpd::STAFF_ROLE_TEACHER);
    request.mutable_joined()->mutable_personal()->set_display_name(name);
    cpd::RecordResponse response;
    grpc::Status status =
        staff->RecordStaffJoined(Ctx(trust).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.last_position();
  }

  privacy::BusDisclosure SetDisclosure(const std::string& trust, bool on,
                                       const std::string& request_id) {
    privacy::SetBusDisclosureRequest request;
    request.set_request_id(request_id);
    request.set_clear_personal_data(on);
    privacy::BusDisclosure response;
    grpc::Status status =
        privacy_->SetBusDisclosure(Ctx(trust).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Waits until the relay has published every trust's head.
  bool WaitUntilPublished() {
    auto stub = bus_v1::BusService::NewStub(channel_);
    return WaitFor([&] {
      bus_v1::GetBusStatusRequest request;
      bus_v1::GetBusStatusResponse response;
      if (!stub->GetBusStatus(Ctx("").get(), request, &response).ok()) {
        return false;
      }
      if (response.outbound().tenants().empty()) return false;
      for (const auto& t : response.outbound().tenants()) {
        if (t.lag() != 0) return false;
      }
      return true;
    });
  }

  std::vector<StreamMessage> Read(const std::string& stream) {
    auto client = JetStreamClient::Connect(nats_->url());
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return {};
    absl::StatusOr<std::vector<StreamMessage>> messages =
        (*client)->ReadAll(stream);
    EXPECT_TRUE(messages.ok()) << messages.status();
    return messages.ok() ? *std::move(messages) : std::vector<StreamMessage>();
  }

  // The display name in a StaffMemberJoined message's payload.
  static cpd::PersonalDetails Personal(const StreamMessage& m) {
    cpd::StaffMemberJoined joined;
    EXPECT_TRUE(joined.ParseFromString(m.data)) << m.subject;
    return joined.personal();
  }

  static bool AnyHolds(const std::vector<StreamMessage>& messages,
                       const std::string& text) {
    for (const StreamMessage& m : messages) {
      if (absl::StrContains(m.data, text)) return true;
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<NatsServerProcess> nats_;
  std::unique_ptr<services::Server> server_;
  std::string operator_token_;
  std::map<std::string, std::string> tokens_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<privacy::PrivacyService::Stub> privacy_;
};

TEST_F(BusDisclosureTest, ClearSubjectsOnlyForTheTrustThatTurnedItOn) {
  // Off by default: nothing in clear anywhere.
  privacy::BusDisclosure shown;
  ASSERT_TRUE(privacy_->GetBusDisclosure(Ctx(kOn).get(), {}, &shown).ok());
  EXPECT_FALSE(shown.clear_personal_data());
  EXPECT_EQ(shown.position(), 0u);
  Join(kOn, "t1", "Ada Clearwater");
  Join(kOff, "r1", "Rhea Riverton");
  ASSERT_TRUE(WaitUntilPublished());
  EXPECT_FALSE(AnyHolds(Read(kEvents), "Ada Clearwater"));
  EXPECT_FALSE(AnyHolds(Read(kEvents), "Rhea Riverton"));
  EXPECT_TRUE(Read(kClear).empty());

  // On for one trust, from its BusDisclosureSet on.
  const privacy::BusDisclosure set = SetDisclosure(kOn, true, "disclose-1");
  EXPECT_TRUE(set.clear_personal_data());
  EXPECT_GT(set.position(), 0u);
  // A retry with the same request_id appends nothing.
  EXPECT_EQ(SetDisclosure(kOn, true, "disclose-1").position(), set.position());
  ASSERT_TRUE(privacy_->GetBusDisclosure(Ctx(kOn).get(), {}, &shown).ok());
  EXPECT_TRUE(shown.clear_personal_data());
  EXPECT_EQ(shown.position(), set.position());
  const uint64_t t2 = Join(kOn, "t2", "Bertha Brightwell");
  Join(kOff, "r2", "Rosa Riverside-Long");
  ASSERT_TRUE(WaitUntilPublished());

  const std::vector<StreamMessage> clear = Read(kClear);
  ASSERT_EQ(clear.size(), 2u);  // The switch, then t2's joining.
  for (const StreamMessage& m : clear) {
    EXPECT_EQ(m.Header("Throughline-Tenant"), kOn);
    EXPECT_TRUE(absl::StartsWith(m.subject, "throughline.clear.northfield."))
        << m.subject;
  }
  EXPECT_EQ(clear[0].Header("Throughline-Type"), "BusDisclosureSet");
  EXPECT_EQ(clear[0].Header("Throughline-Position"),
            absl::StrCat(set.position()));
  EXPECT_EQ(clear[1].subject,
            services::bus::ClearSubject(kOn, "staff-t2", "StaffMemberJoined"));
  EXPECT_EQ(clear[1].Header("Throughline-Position"), absl::StrCat(t2));
  EXPECT_EQ(Personal(clear[1]).display_name(), "Bertha Brightwell");
  EXPECT_FALSE(Personal(clear[1]).has_sealed());
  // Nothing recorded before the switch, nothing of the other trust.
  EXPECT_FALSE(AnyHolds(clear, "Ada Clearwater"));
  EXPECT_FALSE(AnyHolds(clear, "Rosa Riverside-Long"));

  // The outbound stream is unchanged in kind: one message per event, the
  // stored (sealed) bytes, no name.
  const std::vector<StreamMessage> events = Read(kEvents);
  size_t on_trust = 0;
  for (const StreamMessage& m : events) {
    EXPECT_TRUE(absl::StartsWith(m.subject, "throughline.ev.")) << m.subject;
    if (m.Header("Throughline-Tenant") == kOn) ++on_trust;
  }
  EXPECT_EQ(on_trust, t2);
  EXPECT_FALSE(AnyHolds(events, "Bertha Brightwell"));
  absl::StatusOr<eventstore::LogPage> page =
      server_->store()->ReadLog(kOn, t2, {}, 1);
  ASSERT_TRUE(page.ok()) << page.status();
  for (const StreamMessage& m : events) {
    if (m.Header("Throughline-Tenant") == kOn &&
        m.Header("Throughline-Position") == absl::StrCat(t2)) {
      EXPECT_EQ(m.data, page->events.at(0).record.data());
      EXPECT_TRUE(Personal(m).has_sealed());
    }
  }

  // Off again: the switch is the last clear message.
  const privacy::BusDisclosure off = SetDisclosure(kOn, false, "disclose-2");
  Join(kOn, "t3", "Cyril Afterwards");
  ASSERT_TRUE(WaitUntilPublished());
  const std::vector<StreamMessage> after = Read(kClear);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[2].Header("Throughline-Position"),
            absl::StrCat(off.position()));
  EXPECT_FALSE(AnyHolds(after, "Cyril Afterwards"));

  // Only the trust's admin may change it.
  privacy::SetBusDisclosureRequest request;
  request.set_request_id("disclose-3");
  request.set_clear_personal_data(true);
  privacy::BusDisclosure refused;
  grpc::ClientContext as_leader;
  Authorize(&as_leader,
            MintToken(server_->auth_store(), kOn, authv1::ROLE_TRUST_LEADER));
  EXPECT_EQ(
      privacy_->SetBusDisclosure(&as_leader, request, &refused).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // A trust that is not registered has nothing to disclose.
  grpc::ClientContext unregistered;
  Authorize(&unregistered, MintToken(server_->auth_store(), "nowhere"));
  grpc::Status status =
      privacy_->SetBusDisclosure(&unregistered, request, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("tenant"), std::string::npos);
}

// Clear forms are made when published: a person erased while NATS was
// down reads as erased in the clear messages published afterwards.
TEST_F(BusDisclosureTest, ErasedBeforePublishingStaysErased) {
  SetDisclosure(kOn, true, "disclose-1");
  ASSERT_TRUE(WaitUntilPublished());
  nats_->Kill();
  const uint64_t joined = Join(kOn, "t9", "Erasmus Forgotten");
  privacy::EraseSubjectRequest erase;
  erase.set_request_id("erase-t9");
  erase.set_staff_id("t9");
  privacy::EraseSubjectResponse erased;
  grpc::Status status = privacy_->EraseSubject(Ctx(kOn).get(), erase, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(nats_->Start());
  ASSERT_TRUE(WaitUntilPublished());

  const std::vector<StreamMessage> clear = Read(kClear);
  EXPECT_FALSE(AnyHolds(clear, "Erasmus Forgotten"));
  bool seen = false;
  for (const StreamMessage& m : clear) {
    if (m.Header("Throughline-Position") != absl::StrCat(joined)) continue;
    seen = true;
    EXPECT_TRUE(Personal(m).erased());
    EXPECT_EQ(Personal(m).display_name(), "[erased]");
  }
  EXPECT_TRUE(seen);
}

// The clear subjects never hold up the outbound stream: an event whose
// personal data no longer decrypts (the server restarted with another
// master key) is published as stored and skipped in clear.
TEST_F(BusDisclosureTest, AClearFormThatCannotBeMadeDoesNotHoldUpTheStream) {
  SetDisclosure(kOn, true, "disclose-1");
  ASSERT_TRUE(WaitUntilPublished());
  nats_->Kill();
  const uint64_t joined = Join(kOn, "t7", "Keyless Kingsley");
  server_->Shutdown();
  server_.reset();
  {
    std::ofstream key(dir_.path() + "/data/master.key", std::ios::trunc);
    key << std::string(64, 'a') << "\n";
  }
  ASSERT_TRUE(nats_->Start());
  StartServer();
  ASSERT_TRUE(WaitUntilPublished());
  bool outbound = false;
  for (const StreamMessage& m : Read(kEvents)) {
    if (m.Header("Throughline-Tenant") == kOn &&
        m.Header("Throughline-Position") == absl::StrCat(joined)) {
      outbound = true;
    }
  }
  EXPECT_TRUE(outbound);
  for (const StreamMessage& m : Read(kClear)) {
    EXPECT_NE(m.Header("Throughline-Position"), absl::StrCat(joined));
  }
  EXPECT_FALSE(AnyHolds(Read(kClear), "Keyless Kingsley"));
}

}  // namespace
}  // namespace throughline::testing
