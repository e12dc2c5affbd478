// The Insights service end to end: a real server on loopback over real
// RocksDB stores, fed with the demo trust through the public CPD API.
// Checks what must hold for every view whatever its figures: incremental
// state equals a full rebuild, answers survive restarts and crashes, and an
// answer as of position P equals the live answer when the log ended at P.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/server.h"
#include "tests/auth_support.h"
#include "tests/cpd_fixture.h"
#include "tests/server_process.h"
#include "tests/test_support.h"
#include "throughline/cpd/v1/observation.grpc.pb.h"
#include "throughline/insights/v1/insights.grpc.pb.h"
#include "tools/demo.h"

namespace throughline::testing {
namespace {

namespace insights = ::throughline::insights::v1;
using google::protobuf::util::MessageDifferencer;

constexpr char kTenant[] = "demo-trust";

// Every view's answer to one query.
struct Answers {
  insights::EmergentNeedsView needs;
  insights::FollowThroughView follow_through;
  insights::StaffRecordView staff;
  insights::ConnectingTheDotsView dots;
  insights::TimeAndMoneyView money;
  insights::ImpactView impact;
  insights::DecisionAuditView decisions;
  insights::ProgrammeDesignView programmes;
};

std::unique_ptr<grpc::ClientContext> Context(
    const std::string& tenant = kTenant) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (std::string token = RememberedToken(tenant); !token.empty()) {
    Authorize(context.get(), token);
  }
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
  return context;
}

// Asks every view `query` (the staff record for `staff_id`).
Answers Ask(insights::Insights::Stub* stub, const insights::ViewQuery& query,
            const std::string& staff_id) {
  Answers answers;
  auto check = [](const grpc::Status& status) {
    EXPECT_TRUE(status.ok())
        << status.error_code() << ": " << status.error_message();
  };
  check(stub->GetEmergentNeeds(Context().get(), query, &answers.needs));
  check(
      stub->GetFollowThrough(Context().get(), query, &answers.follow_through));
  if (!staff_id.empty()) {
    insights::StaffRecordQuery staff_query;
    staff_query.set_staff_id(staff_id);
    *staff_query.mutable_query() = query;
    check(stub->GetStaffRecord(Context().get(), staff_query, &answers.staff));
  }
  check(stub->GetConnectingTheDots(Context().get(), query, &answers.dots));
  check(stub->GetTimeAndMoney(Context().get(), query, &answers.money));
  check(stub->GetImpact(Context().get(), query, &answers.impact));
  check(stub->GetDecisionAudit(Context().get(), query, &answers.decisions));
  check(stub->GetProgrammeDesign(Context().get(), query, &answers.programmes));
  return answers;
}

void ExpectSame(const Answers& a, const Answers& b) {
  const std::pair<const google::protobuf::Message*,
                  const google::protobuf::Message*>
      pairs[] = {
          {&a.needs, &b.needs},         {&a.follow_through, &b.follow_through},
          {&a.staff, &b.staff},         {&a.dots, &b.dots},
          {&a.money, &b.money},         {&a.impact, &b.impact},
          {&a.decisions, &b.decisions}, {&a.programmes, &b.programmes}};
  for (const auto& [x, y] : pairs) {
    std::string differences;
    MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&differences);
    EXPECT_TRUE(differencer.Compare(*x, *y))
        << x->GetDescriptor()->name() << " differs:\n"
        << differences;
  }
}

void SetTime(absl::Time t, google::protobuf::Timestamp* timestamp) {
  timestamp->set_seconds(absl::ToUnixSeconds(t));
}

// The staff who join in `plan`, in order.
std::vector<std::string> StaffIds(const cli::DemoPlan& plan) {
  std::vector<std::string> ids;
  for (const cli::DemoCall& call : plan.calls) {
    const auto* joined =
        dynamic_cast<const cpd::RecordStaffJoinedRequest*>(call.request.get());
    if (joined != nullptr) ids.push_back(joined->joined().staff_id());
  }
  return ids;
}

class InsightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli::DemoOptions options;
    options.seed = 11;
    options.schools = 2;
    options.staff = 40;
    options.now = absl::Now();
    auto plan = cli::GenerateDemo(options);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = *std::move(plan);
    config_.listen = "127.0.0.1:0";
    config_.data_dir = dir_.path();
    StartServer();
  }

  void StartServer() {
    auto server = services::Server::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    for (const std::string trust : {kTenant, "unregistered-trust"}) {
      RememberToken(trust, MintToken(server_->auth_store(), trust));
    }
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    insights_ = insights::Insights::NewStub(channel_);
  }

  // Sends plan calls [begin, end).
  void Send(size_t begin, size_t end) {
    cli::DemoPlan part = plan_;
    part.calls.assign(plan_.calls.begin() + begin, plan_.calls.begin() + end);
    cli::DemoOutcome outcome = cli::SendDemo(
        channel_, part, {RememberedToken(kTenant), "", ""}, absl::Seconds(30));
    ASSERT_FALSE(outcome.failed_call.has_value())
        << outcome.failure.error_message();
  }

  // A query over the demo year with every time explicit.
  insights::ViewQuery Query(uint64_t as_of_position = 0) const {
    insights::ViewQuery query;
    SetTime(plan_.registered_at, query.mutable_from());
    SetTime(plan_.registered_at + absl::Hours(24 * 300), query.mutable_to());
    SetTime(plan_.registered_at + absl::Hours(24 * 310),
            query.mutable_as_of_time());
    query.set_as_of_position(as_of_position);
    return query;
  }

  std::string AStaffId() const { return StaffIds(plan_)[0]; }

  uint64_t Head() {
    insights::ProjectionStatus status;
    EXPECT_TRUE(
        insights_->GetProjectionStatus(Context().get(), {}, &status).ok());
    return status.head();
  }

  TempDir dir_;
  cli::DemoPlan plan_;
  services::ServerConfig config_;
  std::unique_ptr<services::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<insights::Insights::Stub> insights_;
};

TEST_F(InsightsTest, TheDemoTrustShowsQuestioningAsAnEmergentNeed) {
  Send(0, plan_.calls.size());
  insights::EmergentNeedsView needs;
  ASSERT_TRUE(
      insights_->GetEmergentNeeds(Context().get(), Query(), &needs).ok());
  ASSERT_GT(needs.rows_size(), 0);
  EXPECT_EQ(needs.rows(0).area(), "questioning");
  EXPECT_TRUE(needs.rows(0).emergent());
  EXPECT_GE(needs.rows(0).silos(), 2);
  EXPECT_EQ(needs.basis().as_of_position(), plan_.expected_head);
}

TEST_F(InsightsTest, IncrementalStateEqualsAFullRebuildAndSurvivesRestart) {
  Send(0, plan_.calls.size());
  const std::string staff_id = AStaffId();
  const Answers incremental = Ask(insights_.get(), Query(), staff_id);

  insights::ProjectionStatus status;
  ASSERT_TRUE(insights_->RebuildViews(Context().get(), {}, &status).ok());
  const Answers rebuilt = Ask(insights_.get(), Query(), staff_id);
  ExpectSame(incremental, rebuilt);

  server_.reset();  // Closes the stores.
  StartServer();
  ExpectSame(incremental, Ask(insights_.get(), Query(), staff_id));
  ASSERT_TRUE(
      insights_->GetProjectionStatus(Context().get(), {}, &status).ok());
  EXPECT_EQ(status.position(), status.head());
  EXPECT_EQ(status.lag(), 0u);
}

TEST_F(InsightsTest, AnswerAsOfAPositionEqualsTheLiveAnswerThen) {
  const std::string staff_id = AStaffId();
  const size_t half = plan_.calls.size() / 2;
  Send(0, half);
  const uint64_t then = Head();
  const Answers live = Ask(insights_.get(), Query(), staff_id);
  Send(half, plan_.calls.size());
  ASSERT_GT(Head(), then);
  ExpectSame(live, Ask(insights_.get(), Query(then), staff_id));
}

TEST_F(InsightsTest, QueriesAreChecked) {
  Send(0, 40);
  auto expect = [&](const insights::ViewQuery& query, grpc::StatusCode code,
                    const std::string& field,
                    const std::string& tenant = kTenant) {
    insights::EmergentNeedsView view;
    grpc::Status status =
        insights_->GetEmergentNeeds(Context(tenant).get(), query, &view);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_EQ(ViolatedField(status), field) << status.error_message();
  };
  insights::ViewQuery query = Query();
  query.mutable_scope()->set_school_id("no-such-school");
  expect(query, grpc::StatusCode::NOT_FOUND, "scope.school_id");
  query = Query();
  query.mutable_scope()->set_department_id("no-such-department");
  expect(query, grpc::StatusCode::NOT_FOUND, "scope.department_id");
  query = Query();
  *query.mutable_from() = query.to();
  expect(query, grpc::StatusCode::INVALID_ARGUMENT, "from");
  query = Query(Head() + 1);
  expect(query, grpc::StatusCode::INVALID_ARGUMENT, "as_of_position");
  expect(Query(), grpc::StatusCode::FAILED_PRECONDITION, "tenant",
         "unregistered-trust");
  expect(Query(), grpc::StatusCode::UNAUTHENTICATED, "", "");

  insights::StaffRecordQuery staff;
  staff.set_staff_id("nobody");
  insights::StaffRecordView record;
  grpc::Status status =
      insights_->GetStaffRecord(Context().get(), staff, &record);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ViolatedField(status), "staff_id");
}

TEST_F(InsightsTest, ReadsItsOwnWritesAndWatchesChanges) {
  Send(0, plan_.calls.size());
  auto context = Context();
  insights::ViewQuery query;  // Live: default window ending now.
  auto watch = insights_->WatchEmergentNeeds(context.get(), query);
  insights::EmergentNeedsView first;
  ASSERT_TRUE(watch->Read(&first));

  // A new area, then an observation flagging it, change the view.
  auto organisation = cpd::OrganisationService::NewStub(channel_);
  cpd::AddDevelopmentAreaRequest area;
  area.set_request_id(NewUuid());
  area.mutable_area()->set_code("watched-area");
  area.mutable_area()->set_label("Watched area");
  cpd::RecordResponse recorded;
  ASSERT_TRUE(
      organisation->AddDevelopmentArea(Context().get(), area, &recorded).ok());
  const std::vector<std::string> staff_ids = StaffIds(plan_);
  const std::string staff_id = staff_ids[0];
  auto observations = cpd::ObservationService::NewStub(channel_);
  cpd::RecordObservationRequest request;
  request.set_request_id(NewUuid());
  cpd::ObservationRecorded* o = request.mutable_observation();
  o->set_observation_id("watched-observation");
  o->set_observed_staff_id(staff_id);
  o->set_observer_staff_id(staff_ids[1]);
  o->set_kind(cpd::OBSERVATION_KIND_PEER);
  o->add_development_points("watched-area");
  grpc::Status status =
      observations->RecordObservation(Context().get(), request, &recorded);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Updates arrive until the observation shows.
  int64_t flagged = -1;
  insights::EmergentNeedsView changed;
  for (int reads = 0; reads < 10 && flagged < 1 && watch->Read(&changed);
       ++reads) {
    for (const auto& row : changed.rows()) {
      if (row.area() == "watched-area") flagged = row.observation_staff();
    }
  }
  EXPECT_EQ(flagged, 1);
  EXPECT_GE(changed.basis().as_of_position(), recorded.last_position());
  context->TryCancel();

  insights::StaffRecordQuery staff;
  staff.set_staff_id(staff_id);
  staff.mutable_query()->set_min_position(recorded.last_position());
  insights::StaffRecordView record;
  ASSERT_TRUE(insights_->GetStaffRecord(Context().get(), staff, &record).ok());
  bool found = false;
  for (const auto& entry : record.timeline()) {
    found = found || entry.record_id() == "watched-observation";
  }
  EXPECT_TRUE(found);
}

TEST(InsightsCrashTest, ViewsAfterACrashEqualAFullRebuild) {
  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  cli::DemoOptions options;
  options.seed = 5;
  options.schools = 2;
  options.staff = 40;
  options.now = absl::Now();
  cli::DemoPlan plan = *cli::GenerateDemo(options);

  ServerProcess server(THROUGHLINE_SERVER_BINARY, data_dir);
  ASSERT_TRUE(server.Start());
  RememberToken(
      kTenant,
      MintTokenThrough(grpc::CreateChannel(server.address(),
                                           grpc::InsecureChannelCredentials()),
                       ReadOperatorToken(data_dir), PrincipalFor(kTenant)));
  std::atomic<bool> killed{false};
  std::thread sender([&] {
    auto channel = grpc::CreateChannel(server.address(),
                                       grpc::InsecureChannelCredentials());
    cli::SendDemo(channel, plan, {RememberedToken(kTenant), "", ""},
                  absl::Seconds(10));
  });
  // Let the projector work through part of the stream, then kill.
  for (int i = 0; i < 600 && !killed; ++i) {
    auto channel = grpc::CreateChannel(server.address(),
                                       grpc::InsecureChannelCredentials());
    auto stub = insights::Insights::NewStub(channel);
    insights::ProjectionStatus status;
    if (stub->GetProjectionStatus(Context().get(), {}, &status).ok() &&
        status.position() > plan.expected_head / 3) {
      server.Kill();
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sender.join();
  ASSERT_TRUE(killed);

  ServerProcess restarted(THROUGHLINE_SERVER_BINARY, data_dir);
  ASSERT_TRUE(restarted.Start());
  auto channel = grpc::CreateChannel(restarted.address(),
                                     grpc::InsecureChannelCredentials());
  cli::SendDemo(channel, plan, {RememberedToken(kTenant), "", ""},
                absl::Seconds(30));
  auto stub = insights::Insights::NewStub(channel);
  insights::ViewQuery query;
  SetTime(plan.registered_at, query.mutable_from());
  SetTime(plan.registered_at + absl::Hours(24 * 300), query.mutable_to());
  SetTime(plan.registered_at + absl::Hours(24 * 310),
          query.mutable_as_of_time());
  const std::string staff_id = StaffIds(plan)[0];
  const Answers after_crash = Ask(stub.get(), query, staff_id);
  insights::ProjectionStatus status;
  ASSERT_TRUE(stub->RebuildViews(Context().get(), {}, &status).ok());
  ExpectSame(after_crash, Ask(stub.get(), query, staff_id));
}

}  // namespace
}  // namespace throughline::testing
