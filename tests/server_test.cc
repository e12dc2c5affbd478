// The gRPC EventStore service on a real server on loopback, over a real
// RocksDB store in a temporary directory.

#include "services/server.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/event_store_service.h"
#include "services/server_config.h"
#include "tests/auth_support.h"
#include "tests/test_support.h"
#include "throughline/eventstore/v1/errors.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"

namespace throughline {
namespace {

namespace v1 = ::throughline::eventstore::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using throughline::testing::Authorize;
using throughline::testing::MintToken;
using throughline::testing::NewUuid;
using throughline::testing::TempDir;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.path();
    config.max_event_bytes = 1024;
    config.max_events_per_append = 10;
    config.shutdown_grace_seconds = 2;
    auto server = services::Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::EventStore::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> Context(
      const std::string& tenant = "trust-a") {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!tenant.empty()) {
      absl::MutexLock lock(&tokens_mu_);
      std::string& token = tokens_[tenant];
      if (token.empty()) token = MintToken(server_->auth_store(), tenant);
      Authorize(context.get(), token);
    }
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(30));
    return context;
  }

  static v1::ProposedEvent Event(const std::string& type = "SessionHeld",
                                 const std::string& data = "{}") {
    v1::ProposedEvent event;
    event.set_event_id(NewUuid());
    event.set_type(type);
    event.set_content_type("application/json");
    event.set_data(data);
    event.mutable_metadata()->set_actor("tester");
    return event;
  }

  grpc::Status Append(const v1::AppendRequest& request,
                      v1::AppendResponse* response,
                      const std::string& tenant = "trust-a") {
    return stub_->Append(Context(tenant).get(), request, response);
  }

  uint64_t Head(const std::string& tenant = "trust-a") {
    v1::GetLogInfoResponse response;
    grpc::Status status =
        stub_->GetLogInfo(Context(tenant).get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.head_position();
  }

  TempDir dir_;
  std::unique_ptr<services::Server> server_;
  // A token of each trust's admin, minted on first use.
  absl::Mutex tokens_mu_;
  std::map<std::string, std::string> tokens_ ABSL_GUARDED_BY(tokens_mu_);
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventStore::Stub> stub_;
};

// The typed details of an error status.
google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status rich;
  EXPECT_TRUE(rich.ParseFromString(status.error_details()));
  return rich;
}

std::string ViolatedField(const grpc::Status& status) {
  const google::rpc::Status rich = Details(status);
  for (const auto& any : rich.details()) {
    v1::FieldViolation violation;
    if (any.UnpackTo(&violation)) return violation.field();
  }
  return "";
}

TEST_F(ServerTest, AppendsAndReadsBack) {
  v1::AppendRequest request;
  request.set_stream("observation-123");
  *request.add_events() = Event("ObservationRecorded", R"({"a":1})");
  *request.add_events() = Event("ObservationRecorded", R"({"a":2})");
  request.mutable_events(0)->mutable_occurred_at()->set_seconds(1700000000);
  v1::AppendResponse response;
  ASSERT_TRUE(Append(request, &response).ok());
  EXPECT_EQ(response.first_revision(), 0u);
  EXPECT_EQ(response.last_revision(), 1u);
  EXPECT_EQ(response.first_position(), 1u);
  EXPECT_EQ(response.last_position(), 2u);
  EXPECT_FALSE(response.already_stored());

  v1::ReadStreamRequest read;
  read.set_stream("observation-123");
  v1::ReadStreamResponse events;
  ASSERT_TRUE(stub_->ReadStream(Context().get(), read, &events).ok());
  ASSERT_EQ(events.events_size(), 2);
  const v1::RecordedEvent& first = events.events(0);
  EXPECT_EQ(first.event_id(), request.events(0).event_id());
  EXPECT_EQ(first.type(), "ObservationRecorded");
  EXPECT_EQ(first.content_type(), "application/json");
  EXPECT_EQ(first.data(), R"({"a":1})");
  EXPECT_EQ(first.metadata().actor(), "tester");
  EXPECT_EQ(first.occurred_at().seconds(), 1700000000);
  EXPECT_GT(first.recorded_at().seconds(), 1700000000);
  EXPECT_EQ(first.stream(), "observation-123");
  EXPECT_EQ(first.category(), "observation");
  EXPECT_EQ(first.position(), 1u);
  EXPECT_EQ(events.events(1).revision(), 1u);
  EXPECT_EQ(events.stream_revision(), 1u);
  EXPECT_TRUE(events.end_of_stream());

  read.set_direction(v1::DIRECTION_BACKWARDS);
  read.set_from_end(true);
  read.set_max_count(1);
  ASSERT_TRUE(stub_->ReadStream(Context().get(), read, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).revision(), 1u);
  EXPECT_FALSE(events.end_of_stream());

  v1::GetStreamRequest get;
  get.set_stream("observation-123");
  v1::GetStreamResponse info;
  ASSERT_TRUE(stub_->GetStream(Context().get(), get, &info).ok());
  EXPECT_EQ(info.revision(), 1u);
  EXPECT_EQ(info.last_position(), 2u);
  EXPECT_EQ(Head(), 2u);
}

TEST_F(ServerTest, MissingStreamIsNotFound) {
  v1::GetStreamRequest get;
  get.set_stream("observation-none");
  v1::GetStreamResponse info;
  grpc::Status status = stub_->GetStream(Context().get(), get, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), StartsWith("stream:"));

  v1::ReadStreamRequest read;
  read.set_stream("observation-none");
  v1::ReadStreamResponse events;
  EXPECT_EQ(stub_->ReadStream(Context().get(), read, &events).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, WrongExpectedRevisionIsAbortedWithActualRevision) {
  v1::AppendRequest request;
  request.set_stream("goal-1");
  *request.add_events() = Event();
  v1::AppendResponse response;
  ASSERT_TRUE(Append(request, &response).ok());

  request.mutable_events(0)->set_event_id(NewUuid());
  request.mutable_expected_revision()->set_revision(5);
  grpc::Status status = Append(request, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(), HasSubstr("its revision is 0"));
  v1::RevisionConflict conflict;
  bool found = false;
  const google::rpc::Status rich = Details(status);
  for (const auto& any : rich.details()) {
    found = found || any.UnpackTo(&conflict);
  }
  ASSERT_TRUE(found);
  EXPECT_EQ(conflict.stream(), "goal-1");
  EXPECT_EQ(conflict.expected(), "5");
  EXPECT_TRUE(conflict.stream_exists());
  EXPECT_EQ(conflict.actual_revision(), 0u);

  request.mutable_expected_revision()->set_state(
      v1::ExpectedRevision::STATE_NO_STREAM);
  EXPECT_EQ(Append(request, &response).error_code(), grpc::StatusCode::ABORTED);
  request.mutable_expected_revision()->set_revision(0);
  ASSERT_TRUE(Append(request, &response).ok());
  EXPECT_EQ(response.first_revision(), 1u);
  EXPECT_EQ(Head(), 2u);
}

TEST_F(ServerTest, RetriedAppendReturnsOriginalPositions) {
  v1::AppendRequest request;
  request.set_stream("session-9");
  *request.add_events() = Event();
  v1::AppendResponse first, again;
  ASSERT_TRUE(Append(request, &first).ok());
  // A retry is idempotent even with an expected revision that no longer
  // holds.
  request.mutable_expected_revision()->set_state(
      v1::ExpectedRevision::STATE_NO_STREAM);
  ASSERT_TRUE(Append(request, &again).ok());
  EXPECT_TRUE(again.already_stored());
  EXPECT_EQ(again.first_position(), first.first_position());
  EXPECT_EQ(Head(), 1u);

  request.mutable_events(0)->set_data("{\"changed\":true}");
  grpc::Status status = Append(request, &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ViolatedField(status), "events[0].event_id");
  EXPECT_EQ(Head(), 1u);
}

struct BadAppend {
  std::string name;
  std::string tenant;
  std::function<void(v1::AppendRequest*)> spoil;
  grpc::StatusCode code;
  std::string field;
};

TEST_F(ServerTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  const std::vector<BadAppend> cases = {
      {"empty stream", "trust-a", [](auto* r) { r->set_stream(""); },
       grpc::StatusCode::INVALID_ARGUMENT, "stream"},
      {"malformed stream", "trust-a",
       [](auto* r) { r->set_stream("bad stream/name"); },
       grpc::StatusCode::INVALID_ARGUMENT, "stream"},
      {"no events", "trust-a", [](auto* r) { r->clear_events(); },
       grpc::StatusCode::INVALID_ARGUMENT, "events"},
      {"too many events", "trust-a",
       [](auto* r) {
         for (int i = 0; i < 10; ++i) *r->add_events() = Event();
       },
       grpc::StatusCode::INVALID_ARGUMENT, "events"},
      {"bad uuid", "trust-a",
       [](auto* r) { r->mutable_events(1)->set_event_id("not-a-uuid"); },
       grpc::StatusCode::INVALID_ARGUMENT, "events[1].event_id"},
      {"duplicate id", "trust-a",
       [](auto* r) {
         r->mutable_events(1)->set_event_id(r->events(0).event_id());
       },
       grpc::StatusCode::INVALID_ARGUMENT, "events[1].event_id"},
      {"missing type", "trust-a",
       [](auto* r) { r->mutable_events(1)->clear_type(); },
       grpc::StatusCode::INVALID_ARGUMENT, "events[1].type"},
      {"malformed type", "trust-a",
       [](auto* r) { r->mutable_events(0)->set_type("9Lives"); },
       grpc::StatusCode::INVALID_ARGUMENT, "events[0].type"},
      {"event too large", "trust-a",
       [](auto* r) { r->mutable_events(1)->set_data(std::string(1025, 'x')); },
       grpc::StatusCode::INVALID_ARGUMENT, "events[1].data"},
      {"metadata too long", "trust-a",
       [](auto* r) {
         r->mutable_events(0)->mutable_metadata()->set_actor(
             std::string(257, 'a'));
       },
       grpc::StatusCode::INVALID_ARGUMENT, "events[0].metadata.actor"},
      {"invalid timestamp", "trust-a",
       [](auto* r) {
         r->mutable_events(1)->mutable_occurred_at()->set_nanos(-1);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "events[1].occurred_at"},
  };
  for (const BadAppend& bad : cases) {
    SCOPED_TRACE(bad.name);
    v1::AppendRequest request;
    request.set_stream("observation-1");
    *request.add_events() = Event();
    *request.add_events() = Event();
    bad.spoil(&request);
    v1::AppendResponse response;
    grpc::Status status = Append(request, &response, bad.tenant);
    EXPECT_EQ(status.error_code(), bad.code) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith(bad.field + ":"));
    EXPECT_EQ(ViolatedField(status), bad.field);
  }
  EXPECT_EQ(Head("trust-a"), 0u);
}

TEST_F(ServerTest, ReadLimitsAreChecked) {
  v1::ReadAllRequest read;
  read.set_max_count(10001);
  v1::ReadAllResponse page;
  grpc::Status status = stub_->ReadAll(Context().get(), read, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedField(status), "max_count");
}

TEST_F(ServerTest, TenantsAreIsolated) {
  v1::AppendRequest request;
  request.set_stream("observation-1");
  *request.add_events() = Event();
  v1::AppendResponse response;
  ASSERT_TRUE(Append(request, &response, "trust-a").ok());
  request.mutable_events(0)->set_event_id(NewUuid());
  ASSERT_TRUE(Append(request, &response, "trust-b").ok());
  // Same stream name, independent revisions and positions.
  EXPECT_EQ(response.first_revision(), 0u);
  EXPECT_EQ(response.first_position(), 1u);

  v1::ReadAllRequest read;
  v1::ReadAllResponse page;
  ASSERT_TRUE(stub_->ReadAll(Context("trust-b").get(), read, &page).ok());
  ASSERT_EQ(page.events_size(), 1);
  EXPECT_EQ(page.events(0).event_id(), request.events(0).event_id());
  ASSERT_TRUE(stub_->ReadAll(Context("trust-c").get(), read, &page).ok());
  EXPECT_EQ(page.events_size(), 0);
}

TEST_F(ServerTest, ReadAllFiltersAndPages) {
  for (int i = 0; i < 6; ++i) {
    v1::AppendRequest request;
    request.set_stream(i % 2 == 0 ? absl::StrCat("observation-", i)
                                  : absl::StrCat("coaching-", i));
    *request.add_events() =
        Event(i % 3 == 0 ? "TypeA" : "TypeB", absl::StrCat("{\"i\":", i, "}"));
    v1::AppendResponse response;
    ASSERT_TRUE(Append(request, &response).ok());
  }
  v1::ReadAllRequest read;
  read.mutable_filter()->add_categories("coaching");
  read.set_max_count(2);
  v1::ReadAllResponse page;
  ASSERT_TRUE(stub_->ReadAll(Context().get(), read, &page).ok());
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(0).position(), 2u);
  EXPECT_EQ(page.events(1).position(), 4u);
  EXPECT_EQ(page.next_position(), 5u);
  EXPECT_EQ(page.head_position(), 6u);

  read.set_from_position(page.next_position());
  read.mutable_filter()->add_types("TypeA");
  ASSERT_TRUE(stub_->ReadAll(Context().get(), read, &page).ok());
  EXPECT_EQ(page.events_size(), 0);  // Position 6 is coaching but TypeB.
  EXPECT_EQ(page.next_position(), 7u);
}

// ReadAll's reply is written straight from the stored records and
// Subscribe's events are set from them: both must be, field for field, what
// ToProto makes of the stored event.
TEST_F(ServerTest, CatchUpReadsGiveEveryFieldAsStored) {
  v1::AppendRequest request;
  request.set_stream("observation-7");
  *request.add_events() = Event("TypeA", std::string("\0\xff bytes", 8));
  v1::ProposedEvent bare;
  bare.set_event_id(NewUuid());
  bare.set_type("TypeB");  // No content type, data or metadata.
  *request.add_events() = bare;
  v1::ProposedEvent full = Event("TypeC", "{}");
  full.mutable_metadata()->set_correlation_id("corr-1");
  full.mutable_metadata()->set_causation_id("cause-1");
  full.mutable_metadata()->set_source_platform("platform-1");
  full.mutable_occurred_at()->set_seconds(-86401);  // Before the epoch.
  full.mutable_occurred_at()->set_nanos(250000000);
  *request.add_events() = full;
  v1::AppendResponse appended;
  ASSERT_TRUE(Append(request, &appended).ok());
  v1::AppendRequest other;
  other.set_stream("plain");
  *other.add_events() = Event();
  ASSERT_TRUE(Append(other, &appended).ok());

  absl::StatusOr<eventstore::LogPage> stored =
      server_->store()->ReadLog("trust-a", 1, eventstore::LogFilter(), 100);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->events.size(), 4u);
  std::vector<v1::RecordedEvent> expected;
  for (const eventstore::RecordedEvent& event : stored->events) {
    services::ToProto(event, &expected.emplace_back());
  }
  EXPECT_EQ(expected[2].occurred_at().seconds(), -86401);
  EXPECT_EQ(expected[2].category(), "observation");

  v1::ReadAllResponse page;
  ASSERT_TRUE(stub_->ReadAll(Context().get(), {}, &page).ok());
  ASSERT_EQ(page.events_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        page.events(i), expected[i]))
        << page.events(i).DebugString() << " vs " << expected[i].DebugString();
  }
  EXPECT_EQ(page.next_position(), 5u);
  EXPECT_EQ(page.head_position(), 4u);

  v1::SubscribeRequest subscribe;
  auto context = Context();
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub_->Subscribe(context.get(), subscribe);
  v1::SubscribeResponse message;
  std::vector<v1::RecordedEvent> delivered;
  while (delivered.size() < 4 && reader->Read(&message)) {
    if (message.has_event()) delivered.push_back(message.event());
  }
  context->TryCancel();
  ASSERT_EQ(delivered.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(delivered[i],
                                                                   expected[i]))
        << delivered[i].DebugString() << " vs " << expected[i].DebugString();
  }
}

// The RocksDB memory options: defaults, ranges, and a server that runs on
// the smallest budget.
TEST(ServerConfigTest, MemoryBudgetOptionsParseAndTheSmallestBudgetServes) {
  bool help = false;
  absl::StatusOr<services::ServerConfig> config =
      services::ParseServerConfig({}, &help);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->block_cache_mib, 64u);
  EXPECT_EQ(config->write_buffer_mib, 64u);
  config = services::ParseServerConfig(
      {"--block_cache_mib=1", "--write_buffer_mib=8"}, &help);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->write_buffer_mib, 8u);
  for (const char* bad : {"--write_buffer_mib=7", "--write_buffer_mib=x",
                          "--block_cache_mib=0"}) {
    EXPECT_FALSE(services::ParseServerConfig({bad}, &help).ok()) << bad;
  }

  TempDir dir;
  config->listen = "127.0.0.1:0";
  config->data_dir = dir.path();
  absl::StatusOr<std::unique_ptr<services::Server>> server =
      services::Server::Start(*config);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::EventStore::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  Authorize(&context, MintToken((*server)->auth_store(), "trust-a"));
  v1::AppendRequest request;
  request.set_stream("s-1");
  request.add_events()->set_event_id(NewUuid());
  request.mutable_events(0)->set_type("Thing");
  v1::AppendResponse response;
  ASSERT_TRUE(stub->Append(&context, request, &response).ok());
  EXPECT_EQ(response.last_position(), 1u);
  (*server)->Shutdown();
}

// Reads a subscription until it has delivered `count` events.
std::vector<v1::RecordedEvent> ReadEvents(
    grpc::ClientReader<v1::SubscribeResponse>* reader, size_t count,
    std::vector<uint64_t>* caught_up = nullptr) {
  std::vector<v1::RecordedEvent> events;
  v1::SubscribeResponse message;
  while (events.size() < count && reader->Read(&message)) {
    if (message.has_event()) events.push_back(message.event());
    if (message.has_caught_up() && caught_up != nullptr) {
      caught_up->push_back(message.caught_up().position());
    }
  }
  return events;
}

TEST_F(ServerTest, SubscriptionSeesEveryEventOnceInOrderAcrossTheSwitch) {
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 150;
  constexpr int kBefore = 50;
  for (int i = 0; i < kBefore; ++i) {
    v1::AppendRequest request;
    request.set_stream(absl::StrCat("session-", i % 7));
    *request.add_events() = Event();
    v1::AppendResponse response;
    ASSERT_TRUE(Append(request, &response).ok());
  }

  auto context = Context();
  v1::SubscribeRequest subscribe;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub_->Subscribe(context.get(), subscribe);

  // Writers run while the subscription reads history and goes live.
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        v1::AppendRequest request;
        request.set_stream(absl::StrCat("session-w", w));
        *request.add_events() = Event();
        v1::AppendResponse response;
        if (!Append(request, &response).ok()) ++failures;
      }
    });
  }
  std::vector<uint64_t> caught_up;
  std::vector<v1::RecordedEvent> events =
      ReadEvents(reader.get(), kBefore + kWriters * kPerWriter, &caught_up);
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(events.size(), size_t{kBefore + kWriters * kPerWriter});
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].position(), i + 1) << "gap or duplicate at " << i;
  }
  ASSERT_FALSE(caught_up.empty());
  EXPECT_GE(caught_up.front(), uint64_t{kBefore});
  context->TryCancel();
}

TEST_F(ServerTest, FilteredSubscriptionReportsCheckpointsNotAheadOfDelivery) {
  for (int i = 0; i < 10; ++i) {
    v1::AppendRequest request;
    request.set_stream(i == 3 ? "coaching-1" : "observation-1");
    *request.add_events() = Event();
    v1::AppendResponse response;
    ASSERT_TRUE(Append(request, &response).ok());
  }
  auto context = Context();
  v1::SubscribeRequest subscribe;
  subscribe.mutable_filter()->add_categories("coaching");
  auto reader = stub_->Subscribe(context.get(), subscribe);
  v1::SubscribeResponse message;
  uint64_t last_event = 0;
  uint64_t last_checkpoint = 0;
  while (reader->Read(&message)) {
    if (message.has_event()) last_event = message.event().position();
    if (message.has_checkpoint()) {
      last_checkpoint = message.checkpoint().position();
      EXPECT_GE(last_checkpoint, last_event);
    }
    if (message.has_caught_up()) break;
  }
  EXPECT_EQ(last_event, 4u);
  EXPECT_EQ(last_checkpoint, 10u);
  context->TryCancel();
}

TEST_F(ServerTest, ShutdownEndsSubscriptionsAndRefusesNewCalls) {
  auto context = Context();
  auto reader = stub_->Subscribe(context.get(), v1::SubscribeRequest());
  v1::SubscribeResponse message;
  ASSERT_TRUE(reader->Read(&message));  // CaughtUp on the empty log.
  ASSERT_TRUE(message.has_caught_up());
  server_->Shutdown();
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  v1::AppendRequest request;
  request.set_stream("observation-1");
  *request.add_events() = Event();
  v1::AppendResponse response;
  EXPECT_FALSE(Append(request, &response).ok());
}

}  // namespace
}  // namespace throughline
