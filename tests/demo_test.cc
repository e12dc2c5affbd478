// Tests of the demo trust generator (tools/demo.h): deterministic plans,
// times within the trust's life, requests that match their RPCs, the
// designed emergent need, and a run end to end against an in-process server
// that is idempotent when repeated.

#include "tools/demo.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/cpd/checks.h"
#include "services/server.h"
#include "services/server_config.h"
#include "tests/auth_support.h"
#include "tests/test_support.h"
#include "throughline/cpd/v1/appraisal.pb.h"
#include "throughline/cpd/v1/coaching.pb.h"
#include "throughline/cpd/v1/observation.pb.h"
#include "throughline/cpd/v1/programme.pb.h"
#include "tools/cli_record.h"

namespace throughline {
namespace {

using ::testing::Contains;
using ::testing::Not;
using ::throughline::cli::DemoOptions;
using ::throughline::cli::DemoPlan;
namespace cpd = ::throughline::cpd::v1;

absl::Time Utc(int year, int month, int day, int hour = 0, int minute = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0),
                         absl::UTCTimeZone());
}

DemoPlan Plan(uint64_t seed, absl::Time now, int schools = 3, int staff = 150) {
  DemoOptions options;
  options.seed = seed;
  options.schools = schools;
  options.staff = staff;
  options.now = now;
  absl::StatusOr<DemoPlan> plan = cli::GenerateDemo(options);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *std::move(plan) : DemoPlan();
}

// The request's occurred_at, read generically; InfinitePast when unset.
absl::Time OccurredAt(const google::protobuf::Message& request) {
  const google::protobuf::FieldDescriptor* field =
      request.GetDescriptor()->FindFieldByName("occurred_at");
  if (field == nullptr || !request.GetReflection()->HasField(request, field)) {
    return absl::InfinitePast();
  }
  google::protobuf::Timestamp timestamp;
  timestamp.ParseFromString(
      request.GetReflection()->GetMessage(request, field).SerializeAsString());
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

std::string RequestId(const google::protobuf::Message& request) {
  return request.GetReflection()->GetString(
      request, request.GetDescriptor()->FindFieldByName("request_id"));
}

// `message` serialized deterministically (maps in key order), as the server
// digests requests.
std::string Bytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

// The whole plan as comparable text: RPC, platform, the request's bytes.
std::vector<std::string> Fingerprint(const DemoPlan& plan) {
  std::vector<std::string> result;
  for (const cli::DemoCall& call : plan.calls) {
    result.push_back(absl::StrCat(call.rpc, "|", call.source_platform, "|",
                                  Bytes(*call.request)));
  }
  return result;
}

// Whether two plans are the same call for call; else where they differ.
::testing::AssertionResult SamePlans(const DemoPlan& a, const DemoPlan& b) {
  const std::vector<std::string> fa = Fingerprint(a), fb = Fingerprint(b);
  for (size_t i = 0; i < std::min(fa.size(), fb.size()); ++i) {
    if (fa[i] != fb[i]) {
      return ::testing::AssertionFailure()
             << "call " << i << " differs: " << a.calls[i].rpc << " "
             << a.calls[i].request->ShortDebugString() << " vs "
             << b.calls[i].rpc << " " << b.calls[i].request->ShortDebugString();
    }
  }
  if (fa.size() != fb.size()) {
    return ::testing::AssertionFailure()
           << fa.size() << " calls vs " << fb.size();
  }
  return ::testing::AssertionSuccess();
}

TEST(DemoTest, RegistrationIsTheLatestFirstOfSeptemberAtLeast300DaysAgo) {
  EXPECT_EQ(cli::DemoRegistrationTime(Utc(2026, 11, 25, 8)), Utc(2025, 9, 1));
  // 2025-09-01 + 300 days = 2026-06-28.
  EXPECT_EQ(cli::DemoRegistrationTime(Utc(2026, 6, 28)), Utc(2025, 9, 1));
  EXPECT_EQ(cli::DemoRegistrationTime(Utc(2026, 6, 27, 23, 59)),
            Utc(2024, 9, 1));
  EXPECT_EQ(cli::DemoRegistrationTime(Utc(2027, 8, 31)), Utc(2026, 9, 1));
}

TEST(DemoTest, SameSeedGivesTheSameCallsAndAnotherSeedOthers) {
  const absl::Time now = Utc(2026, 11, 25, 8);
  const DemoPlan first = Plan(42, now);
  const DemoPlan again = Plan(42, now);
  ASSERT_FALSE(first.calls.empty());
  EXPECT_TRUE(SamePlans(first, again));
  EXPECT_EQ(first.trust_name, again.trust_name);
  EXPECT_EQ(first.expected_head, again.expected_head);

  // The plan depends on the academic year, not on the day it is made.
  EXPECT_TRUE(SamePlans(Plan(42, Utc(2027, 3, 1)), first));

  const DemoPlan other = Plan(43, now);
  EXPECT_FALSE(SamePlans(other, first));
  // Request ids name the seed, so two seeds never collide in one trust.
  EXPECT_NE(RequestId(*other.calls.front().request),
            RequestId(*first.calls.front().request));
  // Other options make other plans too.
  EXPECT_FALSE(SamePlans(Plan(42, now, 2, 100), first));
}

TEST(DemoTest, EveryCallHappensBetweenRegistrationAndNow) {
  for (const absl::Time now :
       {absl::Now(), Utc(2026, 6, 28), Utc(2026, 11, 25, 8), Utc(2031, 1, 2)}) {
    const DemoPlan plan = Plan(7, now);
    ASSERT_FALSE(plan.calls.empty());
    EXPECT_LE(plan.registered_at, now - absl::Hours(24 * 300));
    EXPECT_EQ(plan.calls.front().rpc, "OrganisationService.RegisterTrust");
    absl::Time previous = plan.registered_at;
    for (const cli::DemoCall& call : plan.calls) {
      const absl::Time at = OccurredAt(*call.request);
      ASSERT_GE(at, plan.registered_at) << call.rpc;
      ASSERT_LE(at, now) << call.rpc;
      EXPECT_EQ(at, call.occurred_at);
      // Sent in time order.
      EXPECT_GE(at, previous) << call.rpc;
      previous = at;
    }
  }
}

TEST(DemoTest, EveryRequestFitsItsRpcAndHasItsOwnRequestId) {
  const DemoPlan plan = Plan(1, Utc(2026, 11, 25));
  EXPECT_GE(plan.calls.size(), 2000u);
  EXPECT_LE(plan.calls.size(), 4000u);
  std::set<std::string> request_ids;
  std::map<std::string, int> rpcs;
  for (const cli::DemoCall& call : plan.calls) {
    absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
        cli::FindCpdMethod(call.rpc, /*recording_only=*/true);
    ASSERT_TRUE(method.ok()) << method.status();
    EXPECT_EQ((*method)->input_type(), call.request->GetDescriptor())
        << call.rpc;
    const std::string id = RequestId(*call.request);
    EXPECT_FALSE(id.empty());
    EXPECT_TRUE(request_ids.insert(id).second) << id;
    EXPECT_FALSE(call.source_platform.empty());
    ++rpcs[(*method)->name()];
  }
  // Every silo and every kind of record the story needs.
  for (const char* rpc : {"RegisterTrust",
                          "AddSchool",
                          "AddDepartment",
                          "RecordStaffJoined",
                          "RecordStaffMoved",
                          "RecordStaffLeft",
                          "RecordObservation",
                          "RecordLearningWalk",
                          "RecordCoachingConversation",
                          "SetAppraisalGoal",
                          "ReviewAppraisalGoal",
                          "LaunchProgramme",
                          "PlanSession",
                          "RecordSessionHeld",
                          "EvidenceFollowUp",
                          "ShareEnquiryFindings",
                          "AdoptImprovementPriority",
                          "CloseImprovementPriority",
                          "AllocateCpdTime",
                          "RecordMeetingTimeRepurposed",
                          "SetCpdBudget",
                          "RecordCpdSpend",
                          "IdentifyTrainingNeed",
                          "RecordCpdDecision",
                          "RecordImpactEvaluation"}) {
    EXPECT_GT(rpcs[rpc], 0) << rpc;
  }
  EXPECT_EQ(rpcs["RegisterTrust"], 1);
  EXPECT_EQ(rpcs["AddSchool"], 3);
  EXPECT_GE(rpcs["RecordStaffJoined"], 150);
}

TEST(DemoTest, QuestioningIsFlaggedAcrossSilosAndNoSessionCoversIt) {
  const DemoPlan plan = Plan(5, Utc(2026, 11, 25));
  std::set<std::string> observed, coached, appraised;
  int walks = 0;
  std::set<std::string> session_areas;
  for (const cli::DemoCall& call : plan.calls) {
    const google::protobuf::Message* request = call.request.get();
    if (const auto* r =
            dynamic_cast<const cpd::RecordObservationRequest*>(request)) {
      for (const std::string& area : r->observation().development_points()) {
        if (area == "questioning") {
          observed.insert(r->observation().observed_staff_id());
        }
      }
    } else if (const auto* r =
                   dynamic_cast<const cpd::RecordCoachingConversationRequest*>(
                       request)) {
      if (r->conversation().focus_area() == "questioning") {
        coached.insert(r->conversation().coachee_staff_id());
      }
    } else if (const auto* r =
                   dynamic_cast<const cpd::SetAppraisalGoalRequest*>(request)) {
      for (const std::string& area : r->goal().areas()) {
        if (area == "questioning") appraised.insert(r->goal().staff_id());
      }
    } else if (const auto* r =
                   dynamic_cast<const cpd::RecordLearningWalkRequest*>(
                       request)) {
      for (const std::string& area : r->walk().development_points()) {
        walks += area == "questioning" ? 1 : 0;
      }
    } else if (const auto* r =
                   dynamic_cast<const cpd::RecordSessionHeldRequest*>(
                       request)) {
      session_areas.insert(r->session().areas().begin(),
                           r->session().areas().end());
    }
  }
  // Far above the emergent thresholds (>= 3 staff and >= 10% of ~150).
  EXPECT_GE(observed.size(), 30u);
  EXPECT_GE(coached.size(), 5u);
  EXPECT_GE(appraised.size(), 10u);
  EXPECT_GE(walks, 5);
  EXPECT_THAT(session_areas, Not(Contains("questioning")));
  for (const char* covered :
       {"retrieval-practice", "formative-assessment", "feedback", "behaviour",
        "adaptive-teaching", "literacy", "send-support"}) {
    EXPECT_THAT(session_areas, Contains(covered));
  }
}

TEST(DemoTest, BadOptionsAreRefused) {
  DemoOptions options;
  options.now = absl::Now();
  options.schools = 0;
  EXPECT_EQ(cli::GenerateDemo(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.schools = 3;
  options.staff = 20;  // Fewer than 12 per school.
  EXPECT_EQ(cli::GenerateDemo(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.schools = 1;
  options.staff = 12;
  EXPECT_TRUE(cli::GenerateDemo(options).ok());
}

// A server on loopback over a data directory in `dir`.
absl::StatusOr<std::unique_ptr<services::Server>> StartServer(
    const testing::TempDir& dir) {
  services::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir.path() + "/data";
  return services::Server::Start(config);
}

std::shared_ptr<grpc::Channel> ChannelTo(const services::Server& server) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                             grpc::InsecureChannelCredentials());
}

// Sends `plan` to `channel` with `token` (an admin's of the trust).
cli::DemoOutcome Send(const std::shared_ptr<grpc::Channel>& channel,
                      const DemoPlan& plan, const std::string& token) {
  cli::CallMetadata metadata;
  metadata.token = token;
  metadata.actor = "demo-test";
  return cli::SendDemo(channel, plan, metadata, absl::Seconds(60));
}

TEST(DemoTest, RunsEndToEndAndARepeatAppendsNothing) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<services::Server>> server = StartServer(dir);
  ASSERT_TRUE(server.ok()) << server.status();
  std::shared_ptr<grpc::Channel> channel = ChannelTo(**server);
  const DemoPlan plan = Plan(11, absl::Now());
  ASSERT_FALSE(plan.calls.empty());
  const std::string demo_token =
      testing::MintToken((*server)->auth_store(), "demo-trust");

  const cli::DemoOutcome first = Send(channel, plan, demo_token);
  ASSERT_FALSE(first.failed_call.has_value())
      << "call " << *first.failed_call << " ("
      << plan.calls[*first.failed_call].rpc
      << ") failed: " << first.failure.error_message();
  EXPECT_EQ(first.sent, plan.calls.size());
  EXPECT_EQ(first.recorded, plan.calls.size());
  EXPECT_EQ(first.already_applied, 0u);
  EXPECT_EQ(first.calls_by_event.at("TrustRegistered"), 1u);
  EXPECT_GT(first.calls_by_event.at("ObservationRecorded"), 0u);
  absl::StatusOr<uint64_t> head =
      (*server)->store()->HeadPosition("demo-trust");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, plan.expected_head);
  EXPECT_EQ(first.last_position, plan.expected_head);

  const cli::DemoOutcome second = Send(channel, plan, demo_token);
  ASSERT_FALSE(second.failed_call.has_value())
      << second.failure.error_message();
  EXPECT_EQ(second.sent, plan.calls.size());
  EXPECT_EQ(second.recorded, 0u);
  EXPECT_EQ(second.already_applied, plan.calls.size());
  absl::StatusOr<uint64_t> head_after =
      (*server)->store()->HeadPosition("demo-trust");
  ASSERT_TRUE(head_after.ok());
  EXPECT_EQ(*head_after, *head);

  // Another trust gets its own copy.
  const cli::DemoOutcome elsewhere =
      Send(channel, plan,
           testing::MintToken((*server)->auth_store(), "other-trust"));
  EXPECT_FALSE(elsewhere.failed_call.has_value());
  EXPECT_EQ(elsewhere.recorded, plan.calls.size());
}

// The longest list anywhere in `message` (every repeated field, nested ones
// included).
int LongestList(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  int longest = 0;
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->is_repeated()) {
      longest = std::max(longest, reflection->FieldSize(message, field));
    }
    if (field->cpp_type() !=
        google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        longest = std::max(longest, LongestList(reflection->GetRepeatedMessage(
                                        message, field, i)));
      }
    } else {
      longest = std::max(longest,
                         LongestList(reflection->GetMessage(message, field)));
    }
  }
  return longest;
}

// The largest trust (8 schools, 2,000 staff): its trust-wide programme has
// more attendees than one session may list, so it is taught in sittings,
// and the whole plan is recorded by a real server.
TEST(DemoTest, TheLargestTrustKeepsSessionsWithinTheListLimitAndRuns) {
  const DemoPlan plan = Plan(5, absl::Now(), /*schools=*/8, /*staff=*/2000);
  ASSERT_FALSE(plan.calls.empty());
  int longest = 0;
  std::set<std::string> sittings;
  for (const cli::DemoCall& call : plan.calls) {
    longest = std::max(longest, LongestList(*call.request));
    if (call.rpc == "CpdProgrammeService.RecordSessionHeld") {
      const auto& held =
          static_cast<const cpd::RecordSessionHeldRequest&>(*call.request);
      if (absl::StrContains(held.session().session_id(), "-sitting-")) {
        sittings.insert(held.session().session_id());
      }
    }
  }
  EXPECT_LE(longest, services::cpd::kMaxListLength);
  EXPECT_THAT(sittings, Contains("rt-session-1-sitting-2"));

  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<services::Server>> server = StartServer(dir);
  ASSERT_TRUE(server.ok()) << server.status();
  std::shared_ptr<grpc::Channel> channel = ChannelTo(**server);
  const cli::DemoOutcome outcome =
      Send(channel, plan,
           testing::MintToken((*server)->auth_store(), "large-trust"));
  ASSERT_FALSE(outcome.failed_call.has_value())
      << "call " << *outcome.failed_call << " ("
      << plan.calls[*outcome.failed_call].rpc
      << ") failed: " << outcome.failure.error_message();
  EXPECT_EQ(outcome.recorded, plan.calls.size());
  EXPECT_THAT((*server)->store()->HeadPosition("large-trust"),
              ::testing::Eq(absl::StatusOr<uint64_t>(plan.expected_head)));
}

}  // namespace
}  // namespace throughline
