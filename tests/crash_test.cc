// Durability: a server killed with SIGKILL in the middle of a flood of
// appends loses no acknowledged event, and the log stays gapless.

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/auth_support.h"
#include "tests/server_process.h"
#include "tests/test_support.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"

namespace throughline {
namespace {

namespace v1 = ::throughline::eventstore::v1;
using throughline::testing::Authorize;
using throughline::testing::MintTokenThrough;
using throughline::testing::NewUuid;
using throughline::testing::PrincipalFor;
using throughline::testing::ReadOperatorToken;
using throughline::testing::RememberedToken;
using throughline::testing::RememberToken;
using throughline::testing::ServerProcess;
using throughline::testing::TempDir;

struct Acknowledged {
  std::string stream;
  std::string data;
  uint64_t revision;
  uint64_t position;
};

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  Authorize(context.get(), RememberedToken("trust-crash"));
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  return context;
}

TEST(CrashTest, AcknowledgedAppendsSurviveSigkill) {
  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  ServerProcess server(THROUGHLINE_SERVER_BINARY, data_dir);
  ASSERT_TRUE(server.Start());
  RememberToken("trust-crash",
                MintTokenThrough(
                    grpc::CreateChannel(server.address(),
                                        grpc::InsecureChannelCredentials()),
                    ReadOperatorToken(data_dir), PrincipalFor("trust-crash")));

  constexpr int kWriters = 16;
  constexpr size_t kAcksBeforeKill = 3000;
  absl::Mutex mu;
  std::map<std::string, Acknowledged> acknowledged;  // by event id
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto stub = v1::EventStore::NewStub(grpc::CreateChannel(
          server.address(), grpc::InsecureChannelCredentials()));
      for (int i = 0; !stop; ++i) {
        v1::AppendRequest request;
        request.set_stream(absl::StrCat("session-", (w * 7 + i) % 40));
        const int count = i % 5 == 0 ? 3 : 1;  // Some multi-event appends.
        for (int e = 0; e < count; ++e) {
          v1::ProposedEvent* event = request.add_events();
          event->set_event_id(NewUuid());
          event->set_type("SessionHeld");
          event->set_data(absl::StrCat("writer ", w, " append ", i, " #", e));
        }
        v1::AppendResponse response;
        if (!stub->Append(Context().get(), request, &response).ok()) break;
        absl::MutexLock lock(&mu);
        for (int e = 0; e < count; ++e) {
          acknowledged[request.events(e).event_id()] = Acknowledged{
              request.stream(), request.events(e).data(),
              response.first_revision() + e, response.first_position() + e};
        }
      }
    });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](std::map<std::string, Acknowledged>* acks) {
          return acks->size() >= kAcksBeforeKill;
        },
        &acknowledged));
  }
  server.Kill();  // Writers are still appending.
  stop = true;
  for (auto& writer : writers) writer.join();

  ServerProcess restarted(THROUGHLINE_SERVER_BINARY, data_dir);
  ASSERT_TRUE(restarted.Start());
  auto stub = v1::EventStore::NewStub(grpc::CreateChannel(
      restarted.address(), grpc::InsecureChannelCredentials()));

  // Read the whole log: gapless positions, gapless revisions per stream.
  std::map<std::string, v1::RecordedEvent> stored;  // by event id
  std::map<std::string, uint64_t> next_revision;    // by stream
  uint64_t expected_position = 1;
  for (;;) {
    v1::ReadAllRequest read;
    read.set_from_position(expected_position);
    v1::ReadAllResponse page;
    grpc::Status status = stub->ReadAll(Context().get(), read, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (page.events_size() == 0) break;
    for (const v1::RecordedEvent& event : page.events()) {
      ASSERT_EQ(event.position(), expected_position) << "gap in the log";
      ++expected_position;
      ASSERT_EQ(event.revision(), next_revision[event.stream()]++)
          << "gap in stream " << event.stream();
      stored[event.event_id()] = event;
    }
  }
  ASSERT_GE(stored.size(), acknowledged.size());
  for (const auto& [id, ack] : acknowledged) {
    auto it = stored.find(id);
    ASSERT_NE(it, stored.end()) << "acknowledged event " << id << " lost";
    EXPECT_EQ(it->second.stream(), ack.stream);
    EXPECT_EQ(it->second.data(), ack.data);
    EXPECT_EQ(it->second.revision(), ack.revision);
    EXPECT_EQ(it->second.position(), ack.position);
  }

  // An idempotent retry after the restart finds the original.
  const auto& [id, ack] = *acknowledged.begin();
  v1::AppendRequest retry;
  retry.set_stream(ack.stream);
  v1::ProposedEvent* event = retry.add_events();
  event->set_event_id(id);
  event->set_type("SessionHeld");
  event->set_data(ack.data);
  v1::AppendResponse response;
  ASSERT_TRUE(stub->Append(Context().get(), retry, &response).ok());
  EXPECT_TRUE(response.already_stored());
  EXPECT_EQ(response.first_position(), ack.position);
  EXPECT_EQ(restarted.Terminate(), 0);
}

}  // namespace
}  // namespace throughline
