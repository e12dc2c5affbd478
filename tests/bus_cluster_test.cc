// The relay against the 3-node JetStream cluster of deploy/nats/ (run on
// free loopback ports) with an R3 stream: the stream
// leader is killed while events keep coming, and the stream still ends up
// with every event once, in order.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "services/server.h"
#include "tests/bus_support.h"
#include "tests/nats_server_process.h"
#include "tests/test_support.h"

namespace throughline::testing {
namespace {

constexpr char kEvents[] = "THROUGHLINE_EVENTS";

void Append(eventstore::EventStore* store, const std::string& tenant, int n) {
  eventstore::AppendRequest request;
  request.tenant = tenant;
  request.stream = "order-1";
  for (int i = 0; i < n; ++i) {
    eventstore::ProposedEvent event;
    event.event_id = NewUuid();
    event.type = "ThingHappened";
    event.data = absl::StrCat(i);
    request.events.push_back(std::move(event));
  }
  absl::StatusOr<eventstore::AppendResult> result =
      store->Append(std::move(request));
  ASSERT_TRUE(result.ok()) << result.status();
}

TEST(BusClusterTest, R3StreamSurvivesLosingItsLeader) {
  TempDir dir;
  std::vector<std::unique_ptr<NatsServerProcess>> nodes =
      DeployCluster(THROUGHLINE_NATS_DEPLOY_DIR, dir.path());
  std::vector<std::string> urls;
  for (size_t i = 0; i < nodes.size(); ++i) {
    ASSERT_TRUE(nodes[i]->Start()) << "node " << i + 1;
    urls.push_back(nodes[i]->url());
  }

  services::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir.path() + "/data";
  config.nats_url = absl::StrJoin(urls, ",");
  config.bus_replicas = 3;
  config.bus_retry_max_seconds = 1;
  auto server = services::Server::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  eventstore::EventStore* store = (*server)->store();

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 60 && !stop; ++i) {
      Append(store, i % 2 ? "northfield" : "riverside", 10);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // Once the R3 stream holds some events, kill its leader.
  std::unique_ptr<JetStreamClient> client;
  std::string leader;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (client == nullptr) {
          auto c = JetStreamClient::Connect(urls[0]);
          if (!c.ok()) return false;
          client = *std::move(c);
        }
        jsStreamInfo* info = nullptr;
        if (js_GetStreamInfo(&info, client->js(), kEvents, nullptr, nullptr) !=
            NATS_OK) {
          return false;
        }
        const bool ready = info->State.Msgs >= 50 && info->Cluster != nullptr &&
                           info->Cluster->Leader != nullptr &&
                           info->Config->Replicas == 3;
        if (ready) leader = info->Cluster->Leader;
        jsStreamInfo_Destroy(info);
        return ready;
      },
      absl::Seconds(120)));
  client.reset();
  ASSERT_EQ(leader.size(), 2u) << leader;  // "n1", "n2" or "n3".
  const int killed = leader[1] - '1';
  nodes[killed]->Kill();

  writer.join();
  const uint64_t total = 600;
  const std::string survivor = urls[(killed + 1) % 3];
  std::vector<StreamMessage> messages;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto c = JetStreamClient::Connect(survivor);
        if (!c.ok()) return false;
        if ((*c)->Count(kEvents) < total) return false;
        auto all = (*c)->ReadAll(kEvents);
        if (!all.ok()) return false;
        messages = *std::move(all);
        return true;
      },
      absl::Seconds(120)));
  ASSERT_EQ(messages.size(), total);
  // Every tenant's positions 1..300, once each, in order.
  std::map<std::string, uint64_t> last;
  for (const StreamMessage& m : messages) {
    uint64_t position = 0;
    ASSERT_TRUE(absl::SimpleAtoi(m.Header("Throughline-Position"), &position));
    uint64_t& previous = last[m.Header("Throughline-Tenant")];
    ASSERT_EQ(position, previous + 1) << m.Header("Throughline-Tenant");
    previous = position;
  }
  EXPECT_EQ(last["northfield"], 300u);
  EXPECT_EQ(last["riverside"], 300u);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace throughline::testing
