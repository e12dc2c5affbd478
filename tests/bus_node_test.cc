// Proof that other platforms can use the outbound stream: a consumer in a
// second language (Node's `nats` package from npm, tests/node/consume.js)
// reads THROUGHLINE_EVENTS from a real nats-server and decodes a CPD event
// with our proto, loaded at run time by protobufjs.

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/server.h"
#include "tests/auth_support.h"
#include "tests/bus_support.h"
#include "tests/nats_server_process.h"
#include "tests/test_support.h"
#include "throughline/bus/v1/bus.grpc.pb.h"
#include "throughline/cpd/v1/organisation.grpc.pb.h"

namespace throughline::testing {
namespace {

namespace bus_v1 = ::throughline::bus::v1;
namespace cpd_v1 = ::throughline::cpd::v1;

// Runs `command` with a shell; returns its exit status and stdout.
std::pair<int, std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(BusNodeConsumerTest, NodeConsumerDecodesOurEvents) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/nats");
  NatsServerProcess nats(dir.path() + "/nats");
  ASSERT_TRUE(nats.Start());
  services::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir.path() + "/data";
  config.nats_url = nats.url();
  config.bus_retry_max_seconds = 1;
  auto server = services::Server::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());

  // Record through the silo services, as a platform would.
  auto organisation = cpd_v1::OrganisationService::NewStub(channel);
  const std::string token = MintToken((*server)->auth_store(), "northfield");
  const auto context = [&token] {
    auto c = std::make_unique<grpc::ClientContext>();
    Authorize(c.get(), token);
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(30));
    return c;
  };
  cpd_v1::RecordResponse response;
  cpd_v1::RegisterTrustRequest reg;
  reg.set_request_id("register");
  reg.mutable_trust()->set_name("Northfield Learning Trust");
  ASSERT_TRUE(
      organisation->RegisterTrust(context().get(), reg, &response).ok());
  cpd_v1::AddSchoolRequest school;
  school.set_request_id("school-north");
  school.mutable_school()->set_school_id("north");
  school.mutable_school()->set_name("North Academy");
  ASSERT_TRUE(organisation->AddSchool(context().get(), school, &response).ok());
  const uint64_t head = response.last_position();
  const std::string school_event_id = response.event_ids(0);

  // Wait until the relay has published the whole log.
  auto bus = bus_v1::BusService::NewStub(channel);
  const std::string operator_token = MintToken(
      (*server)->auth_store(), PrincipalFor("", authv1::ROLE_OPERATOR));
  ASSERT_TRUE(WaitFor([&] {
    grpc::ClientContext c;
    Authorize(&c, operator_token);
    bus_v1::GetBusStatusResponse status;
    return bus->GetBusStatus(&c, {}, &status).ok() &&
           status.outbound().tenants_size() == 1 &&
           status.outbound().tenants(0).published_position() == head;
  }));

  const std::string command = absl::StrCat(
      "NODE_PATH='", THROUGHLINE_NODE_MODULES, "' node '",
      THROUGHLINE_NODE_CONSUMER, "' --url ", nats.url(),
      " --stream THROUGHLINE_EVENTS --proto-dir '", THROUGHLINE_PROTO_DIR,
      "' --expect ", head, " --timeout 60000");
  auto [exit_code, output] = RunCommand(command);
  ASSERT_EQ(exit_code, 0) << command << "\n" << output;

  std::vector<nlohmann::json> messages;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) messages.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(messages.size(), head);
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i]["position"], i + 1);  // In log order.
    EXPECT_EQ(messages[i]["tenant"], "northfield");
  }
  EXPECT_EQ(messages.front()["type"], "TrustRegistered");
  EXPECT_EQ(messages.front()["decoded"]["name"], "Northfield Learning Trust");
  const nlohmann::json& added = messages.back();
  EXPECT_EQ(added["type"], "SchoolAdded");
  EXPECT_EQ(added["subject"],
            "throughline.ev.northfield.organisation.SchoolAdded");
  EXPECT_EQ(added["proto"], "throughline.cpd.v1.SchoolAdded");
  EXPECT_EQ(added["msg_id"], school_event_id);
  EXPECT_EQ(added["decoded"]["school_id"], "north");
  EXPECT_EQ(added["decoded"]["name"], "North Academy");
  (*server)->Shutdown();
}

}  // namespace
}  // namespace throughline::testing
