// Trusts across nodes, with real processes on loopback: the 3-node NATS
// JetStream cluster of deploy/nats/ (on free ports) and two throughline-server
// nodes, "a" and "b". A trust written on its owner is refused by the other
// node with the owner's name and address; after the owner is killed with
// SIGKILL, the other node restores the trust from the R3 event stream and
// serves it, with every acknowledged event byte-identical. A live owner
// hands a trust over while a writer keeps appending, carrying the keys of
// the trust's personal data when both nodes share one master key, and
// refusing to move when they do not.

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "eventstore/event_store.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "projections/cpd_codec.h"
#include "services/grpc_status.h"
#include "services/privacy/personal_data.h"
#include "tests/auth_support.h"
#include "tests/bus_support.h"
#include "tests/cli_process.h"
#include "tests/cpd_fixture.h"
#include "tests/nats_server_process.h"
#include "tests/server_process.h"
#include "tests/test_support.h"
#include "throughline/bus/v1/bus.grpc.pb.h"
#include "throughline/cluster/v1/cluster.grpc.pb.h"
#include "throughline/cpd/v1/organisation.grpc.pb.h"
#include "throughline/cpd/v1/staff.grpc.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"
#include "throughline/privacy/v1/privacy.grpc.pb.h"

namespace throughline::testing {
namespace {

namespace es = ::throughline::eventstore::v1;
namespace cl = ::throughline::cluster::v1;

constexpr char kTrust[] = "northfield";
// Master keys (64 hex digits) for the nodes' master_key_file.
constexpr char kSharedMasterKey[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr char kOtherMasterKey[] =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

// Writes `hex` as a master key file at `path` (mode 0600).
std::string WriteMasterKey(const std::string& path, const std::string& hex) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << hex << "\n";
  }
  chmod(path.c_str(), 0600);
  return path;
}

// One service node: its process and stubs.
struct Node {
  std::string id;
  std::string data_dir;
  std::unique_ptr<ServerProcess> process;
  std::unique_ptr<es::EventStore::Stub> store;
  std::unique_ptr<cl::ClusterService::Stub> cluster;
  std::unique_ptr<::throughline::bus::v1::BusService::Stub> bus;
  std::string operator_token;
  std::map<std::string, std::string> tokens;  // trust -> admin token

  // A trust admin's token for `trust` on this node (minted on first use:
  // each node keeps its own tokens).
  const std::string& TokenFor(const std::string& trust) {
    std::string& token = tokens[trust];
    if (token.empty()) {
      token = MintTokenThrough(
          grpc::CreateChannel(process->address(),
                              grpc::InsecureChannelCredentials()),
          operator_token, PrincipalFor(trust));
    }
    return token;
  }

  void Connect() {
    auto channel = grpc::CreateChannel(process->address(),
                                       grpc::InsecureChannelCredentials());
    store = es::EventStore::NewStub(channel);
    cluster = cl::ClusterService::NewStub(channel);
    bus = ::throughline::bus::v1::BusService::NewStub(channel);
  }
};

std::unique_ptr<grpc::ClientContext> TrustContext(
    Node& node, const std::string& trust = kTrust) {
  auto context = std::make_unique<grpc::ClientContext>();
  Authorize(context.get(), node.TokenFor(trust));
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

es::AppendRequest Batch(int first, int count) {
  es::AppendRequest request;
  request.set_stream(absl::StrCat("observation-", first % 3));
  for (int i = 0; i < count; ++i) {
    es::ProposedEvent* event = request.add_events();
    event->set_event_id(NewUuid());
    event->set_type("ThingHappened");
    event->set_content_type("application/octet-stream");
    event->set_data(
        absl::StrCat("event ", first + i, std::string("\0\xfe", 2)));
    event->mutable_metadata()->set_actor("teacher-7");
    event->mutable_metadata()->set_correlation_id(absl::StrCat("c-", first));
    event->mutable_metadata()->set_source_platform("observation-platform");
    event->mutable_occurred_at()->set_seconds(1700000000 + first + i);
    event->mutable_occurred_at()->set_nanos(123000);
  }
  return request;
}

// The whole log of `trust` in the store at `path` (the node is stopped), as
// An operator's call on `node`.
std::unique_ptr<grpc::ClientContext> OperatorContext(const Node& node) {
  auto context = std::make_unique<grpc::ClientContext>();
  Authorize(context.get(), node.operator_token);
  return context;
}

// position -> stored bytes; also checks the store's whole hash chain and
// returns its head hash in *chain_head.
std::map<uint64_t, std::string> StoredLog(const std::string& path,
                                          std::string* chain_head = nullptr,
                                          const std::string& trust = kTrust) {
  eventstore::EventStoreOptions options;
  options.path = path;
  auto store = eventstore::EventStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  std::map<uint64_t, std::string> log;
  if (!store.ok()) return log;
  auto page =
      (*store)->ReadLog(trust, 1, eventstore::LogFilter(), 1000000, 1 << 30);
  EXPECT_TRUE(page.ok()) << page.status();
  for (const auto& event : page->events) {
    log[event.position] = event.record.SerializeAsString();
  }
  eventstore::VerifyOptions verify;
  verify.tenant = trust;
  auto report = (*store)->Verify(verify);
  EXPECT_TRUE(report.ok()) << report.status();
  if (report.ok()) {
    EXPECT_FALSE(report->mismatch.has_value()) << report->mismatch->detail;
    EXPECT_EQ(report->next_position, 0u);
    if (chain_head != nullptr) {
      *chain_head =
          std::string(report->chain_hash.begin(), report->chain_hash.end());
    }
  }
  return log;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nats_ = DeployCluster(THROUGHLINE_NATS_DEPLOY_DIR, dir_.path() + "/nats");
    std::vector<std::string> urls;
    for (auto& node : nats_) {
      ASSERT_TRUE(node->Start());
      urls.push_back(node->url());
    }
    // One master key file for every node, as deploy/cluster/ configures
    // them, unless the test gives b its own.
    const std::string shared_key =
        WriteMasterKey(dir_.path() + "/master.key", kSharedMasterKey);
    const std::string other_key =
        WriteMasterKey(dir_.path() + "/other.key", kOtherMasterKey);
    for (const char* id : {"a", "b"}) {
      Node& node = nodes_[id];
      node.id = id;
      node.data_dir = absl::StrCat(dir_.path(), "/", id);
      const bool own_key = std::string(id) == "b" && !SharedMasterKey();
      node.process = std::make_unique<ServerProcess>(
          THROUGHLINE_SERVER_BINARY, node.data_dir,
          std::vector<std::string>{
              "--nats_url=" + absl::StrJoin(urls, ","), "--bus_replicas=3",
              "--bus_retry_max_seconds=1", absl::StrCat("--node_id=", id),
              "--master_key_file=" + (own_key ? other_key : shared_key)});
      ASSERT_TRUE(node.process->Start());
      node.operator_token = ReadOperatorToken(node.data_dir);
      node.Connect();
    }
    // Both nodes have loaded the placement once an unknown trust is
    // NOT_FOUND rather than UNAVAILABLE.
    for (auto& [id, node] : nodes_) {
      ASSERT_TRUE(WaitFor(
          [&] {
            cl::GetTrustOwnerRequest request;
            request.set_trust("nobody-yet");
            cl::TrustOwner owner;
            return node.cluster
                       ->GetTrustOwner(OperatorContext(node).get(), request,
                                       &owner)
                       .error_code() == grpc::StatusCode::NOT_FOUND;
          },
          absl::Seconds(120)))
          << "node " << id << ": " << node.process->Log();
    }
  }

  // Whether both nodes use one master key file; false gives b its own.
  virtual bool SharedMasterKey() const { return true; }

  // Registers kTrust on `node` with school "north" and records staff
  // member "t1" joining it with display name `name` (personal data, sealed
  // under a data key of the trust).
  void RecordPersonalData(Node& node, const std::string& name) {
    auto channel = grpc::CreateChannel(node.process->address(),
                                       grpc::InsecureChannelCredentials());
    auto organisation = cpd::OrganisationService::NewStub(channel);
    auto staff = cpd::StaffDirectoryService::NewStub(channel);
    cpd::RecordResponse response;
    cpd::RegisterTrustRequest trust;
    trust.set_request_id(NewUuid());
    trust.mutable_trust()->set_name("Northfield Learning Trust");
    grpc::Status status =
        organisation->RegisterTrust(TrustContext(node).get(), trust, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    cpd::AddSchoolRequest school;
    school.set_request_id(NewUuid());
    school.mutable_school()->set_school_id("north");
    school.mutable_school()->set_name("North school");
    status =
        organisation->AddSchool(TrustContext(node).get(), school, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    cpd::RecordStaffJoinedRequest join;
    join.set_request_id(NewUuid());
    join.mutable_joined()->set_staff_id("t1");
    join.mutable_joined()->set_school_id("north");
    join.mutable_joined()->set_role(cpd::STAFF_ROLE_TEACHER);
    join.mutable_joined()->mutable_personal()->set_display_name(name);
    status =
        staff->RecordStaffJoined(TrustContext(node).get(), join, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // The personal details of "t1" joining, as `node` reads them back.
  cpd::PersonalDetails JoinedDetails(Node& node) {
    es::ReadStreamRequest request;
    request.set_stream("staff-t1");
    es::ReadStreamResponse response;
    grpc::Status status =
        node.store->ReadStream(TrustContext(node).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const es::RecordedEvent& event : response.events()) {
      eventstore::EventRecord record;
      record.set_type(event.type());
      record.set_data(event.data());
      absl::StatusOr<cpd::CpdEvent> decoded =
          projections::DecodeCpdEvent(record);
      if (decoded.ok() && decoded->has_staff_member_joined()) {
        return decoded->staff_member_joined().personal();
      }
    }
    ADD_FAILURE() << "no StaffMemberJoined in staff-t1";
    return cpd::PersonalDetails();
  }

  // Asks `from` (the owner) to move the trust to `to`.
  grpc::Status Move(Node& from, const std::string& to,
                    cl::MoveTrustResponse* moved) {
    cl::MoveTrustRequest move;
    move.set_trust(kTrust);
    move.set_to_node(to);
    move.set_target_token(nodes_[to].operator_token);
    return from.cluster->MoveTrust(OperatorContext(from).get(), move, moved);
  }

  // Appends `count` events in batches of 5 on `node`, returning how many
  // were acknowledged.
  int AppendOn(Node& node, int first, int count) {
    int acknowledged = 0;
    for (int i = first; i < first + count; i += 5) {
      es::AppendResponse response;
      grpc::Status status =
          node.store->Append(TrustContext(node).get(), Batch(i, 5), &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (status.ok()) acknowledged += 5;
    }
    return acknowledged;
  }

  uint64_t Head(Node& node, grpc::Status* status) {
    es::GetLogInfoResponse info;
    *status = node.store->GetLogInfo(TrustContext(node).get(),
                                     es::GetLogInfoRequest(), &info);
    return info.head_position();
  }

  // Waits until `node`'s relay has published the trust up to `position`.
  bool WaitPublished(Node& node, uint64_t position) {
    return WaitFor(
        [&] {
          ::throughline::bus::v1::GetBusStatusRequest request;
          request.set_tenant(kTrust);
          ::throughline::bus::v1::GetBusStatusResponse response;
          if (!node.bus
                   ->GetBusStatus(OperatorContext(node).get(), request,
                                  &response)
                   .ok()) {
            return false;
          }
          for (const auto& t : response.outbound().tenants()) {
            if (t.tenant() == kTrust && t.published_position() >= position) {
              return true;
            }
          }
          return false;
        },
        absl::Seconds(120));
  }

  TempDir dir_;
  std::vector<std::unique_ptr<NatsServerProcess>> nats_;
  std::map<std::string, Node> nodes_;
};

TEST_F(ClusterTest, OwnerKilledTrustRestoredOnOtherNodeFromJetStream) {
  Node& a = nodes_["a"];
  Node& b = nodes_["b"];
  // The first call claims the trust for node a.
  ASSERT_EQ(AppendOn(a, 0, 200), 200);

  // Node b refuses every call of the trust, naming a and its address, and
  // appends nothing.
  es::AppendResponse response;
  grpc::Status refused =
      b.store->Append(TrustContext(b).get(), Batch(1000, 5), &response);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << refused.error_message();
  std::optional<services::TenantOwner> owner =
      services::OwnerFromGrpcStatus(refused);
  ASSERT_TRUE(owner.has_value()) << refused.error_message();
  EXPECT_EQ(owner->node, "a");
  EXPECT_EQ(owner->address, a.process->address());
  EXPECT_EQ(owner->tenant, kTrust);
  EXPECT_NE(refused.error_message().find(a.process->address()),
            std::string::npos)
      << refused.error_message();
  grpc::Status read_status;
  Head(b, &read_status);
  EXPECT_EQ(read_status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Another trust is claimed by b on its first call, and served there.
  {
    es::AppendResponse other;
    grpc::Status status = b.store->Append(TrustContext(b, "riverside").get(),
                                          Batch(0, 5), &other);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  cl::GetTrustOwnerRequest owner_request;
  owner_request.set_trust(kTrust);
  cl::TrustOwner placed;
  auto owner_context = OperatorContext(b);
  ASSERT_TRUE(
      b.cluster->GetTrustOwner(owner_context.get(), owner_request, &placed)
          .ok());
  EXPECT_EQ(placed.node(), "a");
  EXPECT_FALSE(placed.this_node());
  // The same through the CLI.
  {
    CliProcess cli(
        {"--server=" + b.process->address(), "--token=" + b.operator_token,
         "trust", "owner", "--trust", kTrust},
        {}, "");
    Result result = cli.Wait();
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("\"node\":\"a\""), std::string::npos)
        << result.out;
    EXPECT_NE(result.out.find(a.process->address()), std::string::npos)
        << result.out;
  }

  // Node a dies once the relay has every acknowledged event in the R3
  // stream (appends do not wait for the relay: its lag is what a crash of
  // the owner can cost; docs/operations.md).
  ASSERT_TRUE(WaitPublished(a, 200));
  a.process->Kill();

  cl::RestoreTrustRequest restore;
  restore.set_trust(kTrust);
  restore.set_from_bus(true);
  restore.set_expected_owner("a");
  cl::RestoreTrustResponse restored;
  auto restore_context = OperatorContext(b);
  grpc::Status status =
      b.cluster->RestoreTrust(restore_context.get(), restore, &restored);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n"
                           << b.process->Log();
  EXPECT_EQ(restored.previous_head_position(), 0u);
  EXPECT_EQ(restored.head_position(), 200u);
  EXPECT_EQ(restored.events_restored(), 200u);
  EXPECT_EQ(restored.owner().node(), "b");
  EXPECT_TRUE(restored.owner().this_node());
  // The restored chain head is the dead owner's, as its disk holds it.
  std::string source_chain;
  const std::map<uint64_t, std::string> original =
      StoredLog(a.data_dir, &source_chain);
  ASSERT_EQ(original.size(), 200u);
  EXPECT_EQ(restored.chain_head_hash(), source_chain);
  EXPECT_EQ(restored.chain_head_hash().size(), 32u);

  {
    CliProcess cli(
        {"--server=" + a.process->address(), "--token=" + a.operator_token,
         "trust", "owner", "--trust", kTrust},
        {}, "");
    EXPECT_EQ(cli.Wait().exit_code, 1);  // a is dead.
    CliProcess owner(
        {"--server=" + b.process->address(), "--token=" + b.operator_token,
         "trust", "owner", "--trust", kTrust},
        {}, "");
    Result result = owner.Wait();
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("\"node\":\"b\""), std::string::npos)
        << result.out;
  }
  // Node b serves the trust now: reads, and appends after position 200.
  EXPECT_EQ(Head(b, &read_status), 200u);
  EXPECT_TRUE(read_status.ok()) << read_status.error_message();
  ASSERT_EQ(AppendOn(b, 200, 10), 10);
  EXPECT_EQ(Head(b, &read_status), 210u);
  // A second restore is refused: b owns it.
  auto again_context = OperatorContext(b);
  EXPECT_EQ(b.cluster->RestoreTrust(again_context.get(), restore, &restored)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // b's relay carries on the trust's stream after position 200.
  ASSERT_TRUE(WaitPublished(b, 210));

  // Every event a acknowledged is on b, byte for byte, at its position.
  b.process->Terminate();
  const std::map<uint64_t, std::string> copy = StoredLog(b.data_dir);
  ASSERT_EQ(copy.size(), 210u);
  for (const auto& [position, stored] : original) {
    ASSERT_EQ(copy.at(position), stored) << "position " << position;
  }
}

TEST_F(ClusterTest, LiveOwnerHandsTrustOverWhileAWriterKeepsGoing) {
  Node& a = nodes_["a"];
  Node& b = nodes_["b"];
  ASSERT_EQ(AppendOn(a, 0, 50), 50);

  // A writer follows the trust to its owner: on a refusal naming another
  // node it retries there; while the trust is frozen (UNAVAILABLE) it
  // retries. It counts what was acknowledged.
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::atomic<int> redirected{0};
  std::thread writer([&] {
    Node* target = &a;
    for (int i = 1000; !stop; i += 5) {
      es::AppendRequest request = Batch(i, 5);
      for (int attempt = 0; attempt < 200 && !stop; ++attempt) {
        es::AppendResponse response;
        grpc::Status status = target->store->Append(TrustContext(*target).get(),
                                                    request, &response);
        if (status.ok()) {
          acknowledged += 5;
          break;
        }
        if (std::optional<services::TenantOwner> owner =
                services::OwnerFromGrpcStatus(status)) {
          target = owner->node == "a" ? &a : &b;
          ++redirected;
          continue;
        }
        ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
            << status.error_message();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  cl::MoveTrustResponse moved;
  grpc::Status status = Move(a, "b", &moved);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n"
                           << a.process->Log() << "\n"
                           << b.process->Log();
  EXPECT_EQ(moved.owner().node(), "b");
  EXPECT_GE(moved.head_position(), 50u);

  // Keep writing (now on b) for a moment, then stop.
  ASSERT_TRUE(WaitFor([&] { return redirected > 0; }, absl::Seconds(60)));
  const int after_move = acknowledged;
  ASSERT_TRUE(WaitFor([&] { return acknowledged > after_move + 20; },
                      absl::Seconds(60)));
  stop = true;
  writer.join();

  // b has every acknowledged event: the 50, and the writer's.
  grpc::Status head_status;
  EXPECT_EQ(Head(b, &head_status), 50u + acknowledged);
  EXPECT_TRUE(head_status.ok()) << head_status.error_message();
  // a refuses the trust, naming b.
  Head(a, &head_status);
  EXPECT_EQ(head_status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  std::optional<services::TenantOwner> owner =
      services::OwnerFromGrpcStatus(head_status);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->node, "b");

  // Up to the hand-over the two logs are byte-identical.
  a.process->Terminate();
  b.process->Terminate();
  const std::map<uint64_t, std::string> original = StoredLog(a.data_dir);
  const std::map<uint64_t, std::string> copy = StoredLog(b.data_dir);
  ASSERT_EQ(original.size(), moved.head_position());
  for (const auto& [position, stored] : original) {
    ASSERT_EQ(copy.at(position), stored) << "position " << position;
  }
}

// Personal data recorded on the owner before a move reads in clear on the
// target: the move carries the trust's wrapped data keys, which the target
// stores as they are (both nodes share one master key file).
TEST_F(ClusterTest, MoveCarriesTheKeysOfPersonalData) {
  Node& a = nodes_["a"];
  Node& b = nodes_["b"];
  ASSERT_NO_FATAL_FAILURE(RecordPersonalData(a, "Ada Lovelace"));
  ASSERT_EQ(JoinedDetails(a).display_name(), "Ada Lovelace");

  cl::MoveTrustResponse moved;
  grpc::Status status = Move(a, "b", &moved);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n"
                           << a.process->Log() << "\n"
                           << b.process->Log();
  EXPECT_EQ(moved.owner().node(), "b");

  const cpd::PersonalDetails details = JoinedDetails(b);
  EXPECT_EQ(details.display_name(), "Ada Lovelace");
  EXPECT_FALSE(details.erased());
  EXPECT_FALSE(details.has_sealed());

  // b holds the same wrapped keys as a.
  a.process->Terminate();
  b.process->Terminate();
  auto secrets = [](const std::string& path) {
    eventstore::EventStoreOptions options;
    options.path = path;
    auto store = eventstore::EventStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    std::vector<std::pair<std::string, std::string>> out;
    if (!store.ok()) return out;
    auto listed = (*store)->ListSecrets(kTrust, "");
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (listed.ok()) out = *listed;
    return out;
  };
  const auto on_a = secrets(a.data_dir);
  ASSERT_FALSE(on_a.empty());
  EXPECT_EQ(on_a.front().first,
            services::privacy::PersonalData::SecretName(
                "t1", cpd::PERSONAL_DATA_KIND_STAFF_DETAILS));
  EXPECT_EQ(secrets(b.data_dir), on_a);
}

// A person erased on b while b owned the trust stays erased when the trust
// moves back to a, which still holds the key from before.
TEST_F(ClusterTest, MovingBackAfterAnErasureKeepsThePersonErased) {
  Node& a = nodes_["a"];
  Node& b = nodes_["b"];
  ASSERT_NO_FATAL_FAILURE(RecordPersonalData(a, "Ada Lovelace"));
  auto move = [&](Node& from, const std::string& to) {
    cl::MoveTrustResponse moved;
    grpc::Status status = Move(from, to, &moved);
    ASSERT_TRUE(status.ok()) << status.error_message() << "\n"
                             << a.process->Log() << "\n"
                             << b.process->Log();
    EXPECT_EQ(moved.owner().node(), to);
  };
  ASSERT_NO_FATAL_FAILURE(move(a, "b"));
  ASSERT_EQ(JoinedDetails(b).display_name(), "Ada Lovelace");

  auto privacy =
      ::throughline::privacy::v1::PrivacyService::NewStub(grpc::CreateChannel(
          b.process->address(), grpc::InsecureChannelCredentials()));
  ::throughline::privacy::v1::EraseSubjectRequest erase;
  erase.set_request_id(NewUuid());
  erase.set_staff_id("t1");
  ::throughline::privacy::v1::EraseSubjectResponse erased;
  grpc::Status status =
      privacy->EraseSubject(TrustContext(b).get(), erase, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(JoinedDetails(b).erased());

  ASSERT_NO_FATAL_FAILURE(move(b, "a"));
  const cpd::PersonalDetails details = JoinedDetails(a);
  EXPECT_TRUE(details.erased());
  EXPECT_NE(details.display_name(), "Ada Lovelace");
}

// b has its own master key.
class ClusterDifferentKeysTest : public ClusterTest {
 protected:
  bool SharedMasterKey() const override { return false; }
};

// A move to a node whose master key differs is refused before the target
// appends anything, naming `secrets`; the trust stays on its owner.
TEST_F(ClusterDifferentKeysTest, MoveToANodeWithAnotherMasterKeyIsRefused) {
  Node& a = nodes_["a"];
  Node& b = nodes_["b"];
  ASSERT_NO_FATAL_FAILURE(RecordPersonalData(a, "Ada Lovelace"));
  grpc::Status head_status;
  const uint64_t head = Head(a, &head_status);
  ASSERT_TRUE(head_status.ok()) << head_status.error_message();

  cl::MoveTrustResponse moved;
  grpc::Status status = Move(a, "b", &moved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << status.error_message();
  EXPECT_EQ(ViolatedField(status), "secrets") << status.error_message();
  EXPECT_NE(status.error_message().find("master_key_file"), std::string::npos)
      << status.error_message();

  // a still serves the trust, personal data included, and takes appends.
  cl::GetTrustOwnerRequest request;
  request.set_trust(kTrust);
  cl::TrustOwner owner;
  ASSERT_TRUE(
      a.cluster->GetTrustOwner(OperatorContext(a).get(), request, &owner).ok());
  EXPECT_EQ(owner.node(), "a");
  EXPECT_EQ(JoinedDetails(a).display_name(), "Ada Lovelace");
  EXPECT_EQ(AppendOn(a, 0, 5), 5);
  EXPECT_EQ(Head(a, &head_status), head + 5);

  // b appended nothing and stored no key.
  b.process->Terminate();
  eventstore::EventStoreOptions options;
  options.path = b.data_dir;
  auto store = eventstore::EventStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto page =
      (*store)->ReadLog(kTrust, 1, eventstore::LogFilter(), 1000000, 1 << 30);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->events.empty());
  auto secrets = (*store)->ListSecrets(kTrust, "");
  ASSERT_TRUE(secrets.ok()) << secrets.status();
  EXPECT_TRUE(secrets->empty());
}

}  // namespace
}  // namespace throughline::testing
