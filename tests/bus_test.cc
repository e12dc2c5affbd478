// The NATS JetStream bus against a real nats-server on loopback: the
// outbound relay (order, completeness, NATS and server crashes, the resume
// check), inbound ingestion (applied, dead-lettered, duplicates, tenant
// isolation) and BusService.

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_store.h"
#include "eventstore/format.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/bus/relay.h"
#include "services/server.h"
#include "tests/auth_support.h"
#include "tests/bus_support.h"
#include "tests/nats_server_process.h"
#include "tests/server_process.h"
#include "tests/test_support.h"
#include "throughline/bus/v1/bus.grpc.pb.h"
#include "throughline/cpd/v1/events.pb.h"
#include "throughline/cpd/v1/organisation.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"

namespace throughline::testing {
namespace {

namespace bus_v1 = ::throughline::bus::v1;
namespace cpd_v1 = ::throughline::cpd::v1;
namespace es_v1 = ::throughline::eventstore::v1;
using ::testing::HasSubstr;

constexpr char kEvents[] = "THROUGHLINE_EVENTS";
constexpr char kInbound[] = "THROUGHLINE_INBOUND";
constexpr char kDeadLetters[] = "THROUGHLINE_DEAD_LETTERS";

// Appends `count` events to `tenant`, `per_append` at a time, over a few
// streams (one with '.' in its category, which subjects map to '_').
void AppendEvents(eventstore::EventStore* store, const std::string& tenant,
                  int count, int per_append = 1) {
  for (int i = 0; i < count; i += per_append) {
    eventstore::AppendRequest request;
    request.tenant = tenant;
    const int k = i / per_append;
    request.stream = k % 3 == 0   ? absl::StrCat("order-", k % 7)
                     : k % 3 == 1 ? absl::StrCat("ops.audit-", k % 5)
                                  : "ledger";
    for (int j = i; j < std::min(count, i + per_append); ++j) {
      eventstore::ProposedEvent event;
      event.event_id = NewUuid();
      event.type = j % 2 == 0 ? "ThingHappened" : "Thing.Changed";
      event.content_type = "application/json";
      event.data = absl::StrCat("{\"n\":", j, "}");
      event.correlation_id = absl::StrCat("corr-", j);
      request.events.push_back(std::move(event));
    }
    absl::StatusOr<eventstore::AppendResult> result =
        store->Append(std::move(request));
    ASSERT_TRUE(result.ok()) << result.status();
  }
}

// Checks that `messages` hold, for `tenant`, exactly the tenant's log from
// position 1 to its head, in order, each once, with the right subject,
// headers and payload.
void ExpectStreamMatchesLog(const std::vector<StreamMessage>& messages,
                            const eventstore::EventStore& store,
                            const std::string& tenant) {
  std::vector<const StreamMessage*> mine;
  for (const StreamMessage& m : messages) {
    if (m.Header("Throughline-Tenant") == tenant) mine.push_back(&m);
  }
  absl::StatusOr<uint64_t> head = store.HeadPosition(tenant);
  ASSERT_TRUE(head.ok()) << head.status();
  ASSERT_EQ(mine.size(), *head) << "tenant " << tenant;
  uint64_t expected = 1;
  while (expected <= *head) {
    absl::StatusOr<eventstore::LogPage> page =
        store.ReadLog(tenant, expected, {}, 1000);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const eventstore::RecordedEvent& event : page->events) {
      const StreamMessage& m = *mine[event.position - 1];
      const eventstore::EventRecord& r = event.record;
      eventstore::Uuid id;
      std::copy_n(r.event_id().begin(), id.size(), id.begin());
      ASSERT_EQ(m.Header("Throughline-Position"), absl::StrCat(event.position))
          << "message " << m.sequence << " of " << tenant;
      EXPECT_EQ(m.Header("Nats-Msg-Id"), eventstore::FormatUuid(id));
      EXPECT_EQ(m.subject,
                services::bus::OutboundSubject(tenant, r.stream(), r.type()));
      EXPECT_EQ(m.Header("Throughline-Stream"), r.stream());
      EXPECT_EQ(m.Header("Throughline-Type"), r.type());
      EXPECT_EQ(m.Header("Throughline-Content-Type"), r.content_type());
      EXPECT_EQ(m.Header("Throughline-Revision"), absl::StrCat(r.revision()));
      EXPECT_EQ(m.Header("Throughline-Correlation-Id"), r.correlation_id());
      EXPECT_FALSE(m.Header("Throughline-Occurred-At").empty());
      EXPECT_EQ(m.data, r.data());
      expected = event.position + 1;
    }
  }
}

// Every tenant's messages carry positions 1, 2, 3... in stream order: no
// gap, no duplicate.
std::map<std::string, uint64_t> CheckPositions(
    const std::vector<StreamMessage>& messages) {
  std::map<std::string, uint64_t> last;
  for (const StreamMessage& m : messages) {
    uint64_t position = 0;
    EXPECT_TRUE(absl::SimpleAtoi(m.Header("Throughline-Position"), &position));
    uint64_t& previous = last[m.Header("Throughline-Tenant")];
    EXPECT_EQ(position, previous + 1)
        << "tenant " << m.Header("Throughline-Tenant") << " message "
        << m.sequence;
    previous = position;
  }
  return last;
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(nats_dir());
    nats_ = std::make_unique<NatsServerProcess>(nats_dir());
    ASSERT_TRUE(nats_->Start());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
  }

  std::string nats_dir() const { return dir_.path() + "/nats"; }
  std::string data_dir() const { return dir_.path() + "/data"; }

  services::ServerConfig Config() const {
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = data_dir();
    config.nats_url = nats_->url();
    config.bus_retry_max_seconds = 1;
    config.shutdown_grace_seconds = 2;
    return config;
  }

  void StartServer(const services::ServerConfig& config) {
    auto server = services::Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    operator_token_ = MintToken(server_->auth_store(),
                                PrincipalFor("", authv1::ROLE_OPERATOR));
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
  }
  void StartServer() { StartServer(Config()); }

  std::unique_ptr<JetStreamClient> Client() {
    auto client = JetStreamClient::Connect(nats_->url());
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  bus_v1::GetBusStatusResponse Status(const std::string& tenant = "") {
    auto stub = bus_v1::BusService::NewStub(channel_);
    grpc::ClientContext context;
    Authorize(&context, operator_token_);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    bus_v1::GetBusStatusRequest request;
    request.set_tenant(tenant);
    bus_v1::GetBusStatusResponse response;
    grpc::Status status = stub->GetBusStatus(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Waits until every tenant's published position reaches its head.
  bool WaitUntilPublished() {
    return WaitFor([&] {
      bus_v1::GetBusStatusResponse status = Status();
      if (status.outbound().tenants().empty()) return false;
      for (const auto& t : status.outbound().tenants()) {
        if (t.lag() != 0) return false;
      }
      return true;
    });
  }

  TempDir dir_;
  std::unique_ptr<NatsServerProcess> nats_;
  std::unique_ptr<services::Server> server_;
  std::string operator_token_;
  std::shared_ptr<grpc::Channel> channel_;
};

// (a) Two tenants' interleaved appends reach the stream complete and in each
// tenant's log order, with the documented subjects, headers and payloads.
TEST_F(BusTest, PublishesEveryEventInLogOrderForTwoTenants) {
  StartServer();
  std::thread other(
      [&] { AppendEvents(server_->store(), "riverside", 300, 3); });
  AppendEvents(server_->store(), "northfield", 300);
  other.join();
  ASSERT_TRUE(WaitUntilPublished());

  auto client = Client();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<std::vector<StreamMessage>> messages =
      client->ReadAll(kEvents);
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_EQ(messages->size(), 600u);
  ExpectStreamMatchesLog(*messages, *server_->store(), "northfield");
  ExpectStreamMatchesLog(*messages, *server_->store(), "riverside");
  // A category with '.' becomes one subject token.
  bool saw_mapped = false;
  for (const StreamMessage& m : *messages) {
    if (m.Header("Throughline-Stream").rfind("ops.audit-", 0) == 0) {
      EXPECT_THAT(m.subject, ::testing::StartsWith("throughline.ev."));
      EXPECT_THAT(m.subject, HasSubstr(".ops_audit."));
      saw_mapped = true;
    }
  }
  EXPECT_TRUE(saw_mapped);

  // The stream is set up as configured.
  auto settings = client->StreamSettings(kEvents);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->first, absl::Seconds(120));
  EXPECT_EQ(settings->second, 1);

  // The status RPC shows the progress.
  bus_v1::GetBusStatusResponse status = Status("northfield");
  EXPECT_TRUE(status.outbound().connected());
  EXPECT_EQ(status.outbound().stream(), kEvents);
  ASSERT_EQ(status.outbound().tenants_size(), 1);
  EXPECT_EQ(status.outbound().tenants(0).published_position(), 300u);
  EXPECT_EQ(status.outbound().tenants(0).head_position(), 300u);
  EXPECT_EQ(status.outbound().tenants(0).lag(), 0u);
}

// (b) NATS killed with SIGKILL while appends go on: appends keep working,
// and once NATS is back the stream holds every event once, in order.
TEST_F(BusTest, NatsKilledMidStreamLosesNothingAndDuplicatesNothing) {
  StartServer();
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::thread writer([&] {
    for (int i = 0; i < 40 && !stop; ++i) {
      AppendEvents(server_->store(), i % 2 ? "northfield" : "riverside", 25);
      appended += 25;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  // Let some events through, then kill NATS mid-stream.
  {
    auto client = Client();
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(WaitFor([&] { return client->Count(kEvents) >= 100; }));
  }
  nats_->Kill();
  // Appends keep working while NATS is down, and the status says so.
  const int before = appended.load();
  ASSERT_TRUE(WaitFor([&] { return appended.load() >= before + 100; }));
  EXPECT_TRUE(WaitFor([&] { return !Status().outbound().connected(); }));
  EXPECT_FALSE(Status().outbound().last_error().message().empty());
  ASSERT_TRUE(nats_->Start());
  writer.join();
  ASSERT_TRUE(WaitUntilPublished());

  auto client = Client();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<std::vector<StreamMessage>> messages =
      client->ReadAll(kEvents);
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_EQ(messages->size(), 1000u);
  CheckPositions(*messages);
  ExpectStreamMatchesLog(*messages, *server_->store(), "northfield");
  ExpectStreamMatchesLog(*messages, *server_->store(), "riverside");
  EXPECT_TRUE(Status().outbound().connected());
}

// The resume check: with the relay's checkpoints lost and JetStream's
// duplicate window long past, a restarted relay still publishes nothing
// twice (it asks the stream for each tenant's last position).
TEST_F(BusTest, ResumeCheckPreventsDuplicatesOutsideTheDuplicateWindow) {
  services::ServerConfig config = Config();
  config.bus_duplicate_window_seconds = 1;
  StartServer(config);
  AppendEvents(server_->store(), "northfield", 50);
  ASSERT_TRUE(WaitUntilPublished());
  server_->Shutdown();
  server_.reset();
  std::filesystem::remove_all(data_dir() + "/bus");
  // Outside the duplicate window, Nats-Msg-Id no longer protects.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  StartServer(config);
  AppendEvents(server_->store(), "northfield", 20);
  ASSERT_TRUE(WaitUntilPublished());
  auto client = Client();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<std::vector<StreamMessage>> messages =
      client->ReadAll(kEvents);
  ASSERT_TRUE(messages.ok()) << messages.status();
  EXPECT_EQ(messages->size(), 70u);
  CheckPositions(*messages);
  ExpectStreamMatchesLog(*messages, *server_->store(), "northfield");
  EXPECT_EQ(Status("northfield").outbound().tenants(0).published_position(),
            70u);
}

// With NATS unreachable from the start the server serves normally; the
// status shows the relay disconnected with its error.
TEST_F(BusTest, ServerServesWhileNatsIsDown) {
  nats_->Kill();
  StartServer();
  AppendEvents(server_->store(), "northfield", 10);
  EXPECT_TRUE(WaitFor([&] {
    bus_v1::GetBusStatusResponse status = Status();
    return !status.outbound().connected() &&
           !status.outbound().last_error().message().empty() &&
           !status.inbound().connected();
  }));
  bus_v1::GetBusStatusResponse status = Status();
  ASSERT_EQ(status.outbound().tenants_size(), 1);
  EXPECT_EQ(status.outbound().tenants(0).lag(), 10u);
  // NATS arrives: the relay catches up.
  ASSERT_TRUE(nats_->Start());
  ASSERT_TRUE(WaitUntilPublished());
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->Count(kEvents), 10u);
}

// Without nats_url there is no bus and no BusService.
TEST(BusOffTest, NoNatsUrlMeansNoBus) {
  TempDir dir;
  services::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir.path();
  auto server = services::Server::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  auto stub = bus_v1::BusService::NewStub(channel);
  grpc::ClientContext context;
  bus_v1::GetBusStatusResponse response;
  EXPECT_EQ(stub->GetBusStatus(&context, {}, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/bus"));
  (*server)->Shutdown();
}

// The bus options: defaults, ranges, and three distinct streams.
TEST(BusConfigTest, OptionsParseWithDefaultsAndRanges) {
  bool help = false;
  absl::StatusOr<services::ServerConfig> config =
      services::ParseServerConfig({}, &help);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->nats_url, "");  // The bus is off by default.
  EXPECT_EQ(config->bus_stream, "THROUGHLINE_EVENTS");
  EXPECT_EQ(config->bus_replicas, 1u);
  EXPECT_EQ(config->bus_duplicate_window_seconds, 120u);
  EXPECT_EQ(config->bus_inbound_stream, "THROUGHLINE_INBOUND");
  EXPECT_EQ(config->bus_dead_letter_stream, "THROUGHLINE_DEAD_LETTERS");
  EXPECT_EQ(config->bus_retry_max_seconds, 30u);

  config = services::ParseServerConfig(
      {"--nats_url=nats://127.0.0.1:4222,nats://127.0.0.1:4223",
       "--bus_replicas=3", "--bus_stream=EVENTS-2"},
      &help);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->bus_replicas, 3u);
  EXPECT_EQ(config->bus_stream, "EVENTS-2");

  for (const char* bad :
       {"--bus_replicas=0", "--bus_replicas=6", "--bus_stream=a.b",
        "--bus_stream=", "--bus_retry_max_seconds=0",
        "--bus_duplicate_window_seconds=0",
        "--bus_inbound_stream=THROUGHLINE_EVENTS"}) {
    EXPECT_FALSE(services::ParseServerConfig({bad}, &help).ok()) << bad;
  }
}

// (c) The Throughline server process killed with SIGKILL while it publishes
// and while appends arrive, then restarted: the stream ends up with every
// event of the log exactly once, in order.
TEST_F(BusTest, ServerKilledMidStreamLosesNothingAndDuplicatesNothing) {
  ServerProcess process(
      THROUGHLINE_SERVER_BINARY, data_dir(),
      {"--nats_url=" + nats_->url(), "--bus_retry_max_seconds=1"});
  ASSERT_TRUE(process.Start());
  const std::string operator_token = ReadOperatorToken(data_dir());
  std::map<std::string, std::string> tokens;
  for (const std::string trust : {"northfield", "riverside"}) {
    tokens[trust] = MintTokenThrough(
        grpc::CreateChannel(process.address(),
                            grpc::InsecureChannelCredentials()),
        operator_token, PrincipalFor(trust));
  }
  std::atomic<int> acknowledged{0};
  const auto write = [&](const std::string& address, int appends) {
    auto channel =
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    auto stub = es_v1::EventStore::NewStub(channel);
    for (int i = 0; i < appends; ++i) {
      es_v1::AppendRequest request;
      request.set_stream(absl::StrCat("order-", i % 5));
      for (int j = 0; j < 4; ++j) {
        es_v1::ProposedEvent* event = request.add_events();
        event->set_event_id(NewUuid());
        event->set_type("ThingHappened");
        event->set_data(absl::StrCat(i, "/", j));
      }
      grpc::ClientContext context;
      Authorize(&context, tokens.at(i % 2 ? "northfield" : "riverside"));
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
      es_v1::AppendResponse response;
      if (!stub->Append(&context, request, &response).ok()) return;
      acknowledged += 4;
    }
  };
  std::thread writer(write, process.address(), 400);
  {
    auto client = Client();
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(WaitFor([&] { return client->Count(kEvents) >= 200; }));
  }
  process.Kill();  // Mid-stream: publishing and appending.
  writer.join();
  ASSERT_TRUE(process.Start());
  write(process.address(), 100);
  // Wait until the stream holds the whole log.
  auto channel = grpc::CreateChannel(process.address(),
                                     grpc::InsecureChannelCredentials());
  auto bus = bus_v1::BusService::NewStub(channel);
  ASSERT_TRUE(WaitFor([&] {
    grpc::ClientContext context;
    Authorize(&context, operator_token);
    bus_v1::GetBusStatusResponse status;
    if (!bus->GetBusStatus(&context, {}, &status).ok()) return false;
    if (status.outbound().tenants_size() != 2) return false;
    for (const auto& t : status.outbound().tenants()) {
      if (t.lag() != 0) return false;
    }
    return true;
  }));
  ASSERT_EQ(process.Terminate(), 0);

  eventstore::EventStoreOptions options;
  options.path = data_dir();
  auto store = eventstore::EventStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  absl::StatusOr<std::vector<StreamMessage>> messages =
      client->ReadAll(kEvents);
  ASSERT_TRUE(messages.ok()) << messages.status();
  CheckPositions(*messages);
  ExpectStreamMatchesLog(*messages, **store, "northfield");
  ExpectStreamMatchesLog(*messages, **store, "riverside");
  EXPECT_GE(messages->size(), static_cast<size_t>(acknowledged.load()));
}

// ------------------------------------------------------------------ Inbound

class InboundTest : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    services::ServerConfig config = Config();
    config.bus_duplicate_window_seconds = 1;
    StartServer(config);
    client_ = Client();
    ASSERT_NE(client_, nullptr);
    // The consumer has set the streams up.
    ASSERT_TRUE(WaitFor([&] { return Status().inbound().connected(); }));
  }

  // Publishes `request` for `trust` to Service.Rpc.
  void Send(const std::string& trust, const std::string& service,
            const std::string& rpc, const google::protobuf::Message& request,
            std::map<std::string, std::string> headers = {}) {
    ASSERT_TRUE(client_
                    ->Publish(absl::StrCat("throughline.in.", trust, ".",
                                           service, ".", rpc),
                              request.SerializeAsString(), headers)
                    .ok());
  }

  // Waits until the consumer has handled `n` messages in all.
  bool WaitHandled(uint64_t n) {
    return WaitFor([&] {
      bus_v1::GetBusStatusResponse s = Status();
      return s.inbound().applied() + s.inbound().dead_lettered() >= n;
    });
  }

  uint64_t Head(const std::string& tenant) {
    absl::StatusOr<uint64_t> head = server_->store()->HeadPosition(tenant);
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *head : 0;
  }

  std::vector<eventstore::RecordedEvent> Log(const std::string& tenant) {
    absl::StatusOr<eventstore::LogPage> page =
        server_->store()->ReadLog(tenant, 1, {}, 10000);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->events : std::vector<eventstore::RecordedEvent>{};
  }

  void Register(const std::string& trust) {
    cpd_v1::RegisterTrustRequest request;
    request.mutable_trust()->set_name("Northfield Learning Trust");
    Send(trust, "OrganisationService", "RegisterTrust", request,
         {{"Nats-Msg-Id", "register-" + trust}});
  }

  static cpd_v1::AddSchoolRequest School(const std::string& id,
                                         const std::string& name) {
    cpd_v1::AddSchoolRequest request;
    request.mutable_school()->set_school_id(id);
    request.mutable_school()->set_name(name);
    return request;
  }

  std::unique_ptr<JetStreamClient> client_;
};

// (d) Valid commands become events, in publish order, with the bus as
// their source platform.
TEST_F(InboundTest, ValidCommandsBecomeEvents) {
  Register("northfield");
  Send("northfield", "OrganisationService", "AddSchool",
       School("north", "North Academy"),
       {{"Nats-Msg-Id", "school-north"},
        {"Throughline-Actor", "platform-7"},
        {"Throughline-Correlation-Id", "batch-12"}});
  Send("northfield", "OrganisationService", "AddSchool",
       School("south", "South Academy"));  // No msg id: stream sequence.
  ASSERT_TRUE(WaitHandled(3));
  EXPECT_EQ(Status().inbound().applied(), 3u);
  EXPECT_EQ(Status().inbound().dead_lettered(), 0u);

  std::vector<eventstore::RecordedEvent> log = Log("northfield");
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log.front().record.type(), "TrustRegistered");
  EXPECT_EQ(log.front().record.source_platform(), "bus");
  EXPECT_EQ(log.front().record.correlation_id(), "register-northfield");
  const eventstore::EventRecord& north = log[log.size() - 2].record;
  const eventstore::EventRecord& south = log.back().record;
  EXPECT_EQ(north.type(), "SchoolAdded");
  EXPECT_EQ(north.actor(), "platform-7");
  EXPECT_EQ(north.correlation_id(), "batch-12");
  cpd_v1::SchoolAdded decoded;
  ASSERT_TRUE(decoded.ParseFromString(north.data()));
  EXPECT_EQ(decoded.school_id(), "north");
  EXPECT_EQ(south.type(), "SchoolAdded");
  ASSERT_TRUE(decoded.ParseFromString(south.data()));
  EXPECT_EQ(decoded.school_id(), "south");
  EXPECT_THAT(south.correlation_id(), ::testing::StartsWith("inbound-"));
  // Nothing went to the dead letters.
  EXPECT_EQ(client_->Count(kDeadLetters), 0u);
  // The applied events go out on the outbound stream too.
  ASSERT_TRUE(WaitUntilPublished());
}

// (d) Refused commands land in the dead letters with their reason, naming
// the field, with the original payload and headers; they are not retried.
TEST_F(InboundTest, RefusedCommandsAreDeadLetteredWithTheirReason) {
  Register("northfield");
  ASSERT_TRUE(WaitHandled(1));
  const uint64_t head = Head("northfield");

  // INVALID_ARGUMENT: no name.
  Send("northfield", "OrganisationService", "AddSchool", School("north", ""),
       {{"Nats-Msg-Id", "bad-1"}, {"X-Platform-Ref", "ref-1"}});
  // FAILED_PRECONDITION: a department of an unknown school.
  cpd_v1::AddDepartmentRequest department;
  department.mutable_department()->set_department_id("maths");
  department.mutable_department()->set_school_id("nowhere");
  department.mutable_department()->set_name("Maths");
  Send("northfield", "OrganisationService", "AddDepartment", department);
  // Not a recording RPC, and a payload that does not parse.
  Send("northfield", "OrganisationService", "Shred", School("x", "X"));
  ASSERT_TRUE(client_
                  ->Publish("throughline.in.northfield.OrganisationService."
                            "AddSchool",
                            std::string("\xff\xff\xff", 3))
                  .ok());
  // A subject without Service and Rpc.
  ASSERT_TRUE(client_->Publish("throughline.in.northfield", "x").ok());
  ASSERT_TRUE(WaitHandled(6));
  EXPECT_EQ(Status().inbound().dead_lettered(), 5u);
  EXPECT_EQ(Head("northfield"), head);  // Nothing appended.

  absl::StatusOr<std::vector<StreamMessage>> dead =
      client_->ReadAll(kDeadLetters);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 5u);
  const StreamMessage& no_name = (*dead)[0];
  EXPECT_EQ(no_name.subject,
            "throughline.dlq.northfield.OrganisationService.AddSchool");
  EXPECT_EQ(no_name.Header("Throughline-Error-Code"), "INVALID_ARGUMENT");
  EXPECT_THAT(no_name.Header("Throughline-Error"), HasSubstr("school.name"));
  EXPECT_EQ(no_name.Header("Throughline-Error-Field"), "school.name");
  EXPECT_EQ(no_name.Header("X-Platform-Ref"), "ref-1");  // Kept.
  EXPECT_EQ(no_name.Header("Throughline-Original-Msg-Id"), "bad-1");
  EXPECT_EQ(no_name.data, School("north", "").SerializeAsString());

  EXPECT_EQ((*dead)[1].Header("Throughline-Error-Code"), "FAILED_PRECONDITION");
  EXPECT_EQ((*dead)[1].Header("Throughline-Error-Field"),
            "department.school_id");
  EXPECT_THAT((*dead)[1].Header("Throughline-Error"), HasSubstr("nowhere"));
  EXPECT_EQ((*dead)[2].Header("Throughline-Error-Code"), "UNIMPLEMENTED");
  EXPECT_EQ((*dead)[3].Header("Throughline-Error-Code"), "INVALID_ARGUMENT");
  EXPECT_EQ((*dead)[3].Header("Throughline-Error-Field"), "payload");
  EXPECT_EQ((*dead)[4].subject, "throughline.dlq.northfield");
  EXPECT_EQ((*dead)[4].Header("Throughline-Error-Field"), "subject");

  // Dead letters are not consumed again, and the inbound messages are all
  // acknowledged.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Status().inbound().dead_lettered(), 5u);
  EXPECT_EQ(client_->Count(kDeadLetters), 5u);
}

// (d) A duplicate becomes one event: the same Nats-Msg-Id published again
// after JetStream's duplicate window, and a different msg id carrying the
// same request_id.
TEST_F(InboundTest, DuplicatesBecomeOneEvent) {
  Register("northfield");
  ASSERT_TRUE(WaitHandled(1));
  const uint64_t head = Head("northfield");

  Send("northfield", "OrganisationService", "AddSchool",
       School("north", "North Academy"), {{"Nats-Msg-Id", "school-north"}});
  ASSERT_TRUE(WaitHandled(2));
  // Past the 1 s duplicate window, JetStream stores it again...
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Send("northfield", "OrganisationService", "AddSchool",
       School("north", "North Academy"), {{"Nats-Msg-Id", "school-north"}});
  // ... and a request with its own request_id, sent twice under two msg ids.
  cpd_v1::AddSchoolRequest south = School("south", "South Academy");
  south.set_request_id("add-south-1");
  Send("northfield", "OrganisationService", "AddSchool", south,
       {{"Nats-Msg-Id", "a"}});
  Send("northfield", "OrganisationService", "AddSchool", south,
       {{"Nats-Msg-Id", "b"}});
  ASSERT_TRUE(WaitHandled(5));
  EXPECT_EQ(client_->Count(kInbound), 5u);  // All five were stored...
  EXPECT_EQ(Status().inbound().applied(), 5u);
  EXPECT_EQ(Status().inbound().dead_lettered(), 0u);
  EXPECT_EQ(Head("northfield"), head + 2);  // ... and made two events.
}

// (d) The trust is the subject's: a message on trust B's subject writes to
// B, whatever its headers say, and never to A.
TEST_F(InboundTest, ATrustCannotWriteToAnother) {
  Register("northfield");
  ASSERT_TRUE(WaitHandled(1));
  const uint64_t head = Head("northfield");
  Send("riverside", "OrganisationService", "AddSchool",
       School("north", "North Academy"),
       {{"Throughline-Tenant", "northfield"},
        {"throughline-tenant", "northfield"}});
  ASSERT_TRUE(WaitHandled(2));
  EXPECT_EQ(Head("northfield"), head);
  EXPECT_EQ(Head("riverside"), 0u);
  absl::StatusOr<std::vector<StreamMessage>> dead =
      client_->ReadAll(kDeadLetters);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].Header("Throughline-Error-Code"), "FAILED_PRECONDITION");
  EXPECT_EQ((*dead)[0].Header("Throughline-Error-Field"), "tenant");
  EXPECT_THAT((*dead)[0].Header("Throughline-Error"), HasSubstr("riverside"));
  EXPECT_EQ((*dead)[0].Header("Throughline-Tenant"), "riverside");
  // An invalid trust token is refused by the same tenant check.
  Send("River_Side", "OrganisationService", "AddSchool",
       School("north", "North Academy"));
  ASSERT_TRUE(WaitHandled(3));
  dead = client_->ReadAll(kDeadLetters);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ((*dead)[1].Header("Throughline-Error-Code"), "INVALID_ARGUMENT");
  EXPECT_EQ((*dead)[1].Header("Throughline-Error-Field"), "tenant");
}

// A message handled while the server restarts is applied once: the
// consumer is durable and redelivery appends nothing.
TEST_F(InboundTest, ConsumerResumesAfterRestart) {
  Register("northfield");
  ASSERT_TRUE(WaitHandled(1));
  server_->Shutdown();
  server_.reset();
  // Published while the server is down.
  for (int i = 0; i < 20; ++i) {
    Send("northfield", "OrganisationService", "AddSchool",
         School(absl::StrCat("s", i), absl::StrCat("School ", i)),
         {{"Nats-Msg-Id", absl::StrCat("school-", i)}});
  }
  services::ServerConfig config = Config();
  config.bus_duplicate_window_seconds = 1;
  StartServer(config);
  ASSERT_TRUE(WaitHandled(20));
  std::vector<eventstore::RecordedEvent> log = Log("northfield");
  int schools = 0;
  for (const auto& event : log) {
    if (event.record.type() != "SchoolAdded") continue;
    cpd_v1::SchoolAdded school;
    ASSERT_TRUE(school.ParseFromString(event.record.data()));
    EXPECT_EQ(school.school_id(), absl::StrCat("s", schools));  // In order.
    ++schools;
  }
  EXPECT_EQ(schools, 20);
}

}  // namespace
}  // namespace throughline::testing
