// Authentication and authorisation, end to end on a real server:
// * every method of every service in the contract has a rule;
// * every method refuses a call without a valid credential;
// * every method, called by each role, is allowed or refused as the role
//   matrix (docs/security.md) says;
// * every method, called by trust A's admin with trust B's ids (and even a
//   "throughline-tenant: B" header), reveals and changes nothing of B;
// * revoked and expired tokens are refused; scopes of school leaders and
//   staff members; tokens managed through AuthService; the access log.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/auth/policy.h"
#include "services/server.h"
#include "tests/auth_support.h"
#include "tests/cpd_fixture.h"
#include "tests/test_support.h"
#include "throughline/auth/v1/auth.grpc.pb.h"
#include "throughline/cpd/v1/observation.grpc.pb.h"
#include "throughline/cpd/v1/organisation.grpc.pb.h"
#include "throughline/cpd/v1/staff.grpc.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"
#include "throughline/insights/v1/insights.grpc.pb.h"

namespace throughline::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using ::testing::HasSubstr;
namespace es = ::throughline::eventstore::v1;
namespace insights = ::throughline::insights::v1;

// Every method of every service of our contract (proto/), as
// "/package.Service/Method", found through the generated descriptor pool.
std::vector<const MethodDescriptor*> ContractMethods() {
  std::vector<const MethodDescriptor*> methods;
  const std::filesystem::path root(THROUGHLINE_PROTO_DIR);
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".proto") continue;
    const std::string name =
        std::filesystem::relative(entry.path(), root).string();
    if (!absl::StartsWith(name, "throughline/")) continue;
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
            name);
    EXPECT_NE(file, nullptr) << name << " is not linked into the test";
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      const ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods.push_back(service->method(m));
      }
    }
  }
  return methods;
}

std::string FullName(const MethodDescriptor* method) {
  return absl::StrCat("/", method->service()->full_name(), "/", method->name());
}

struct CallResult {
  grpc::Status status;
  std::string response;  // The first response message, serialized.
};

// Calls `method` with `request` and `metadata`, unary or streaming alike:
// sends the one request, reads at most one response, then cancels.
CallResult Call(const std::shared_ptr<grpc::Channel>& channel,
                const MethodDescriptor* method, const Message& request,
                const std::multimap<std::string, std::string>& metadata) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  grpc::CompletionQueue cq;
  void* tag;
  bool ok;
  auto next = [&] { EXPECT_TRUE(cq.Next(&tag, &ok)); };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, FullName(method), &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  next();
  grpc::Slice slice(request.SerializeAsString());
  grpc::ByteBuffer buffer(&slice, 1);
  call->WriteLast(buffer, grpc::WriteOptions(), reinterpret_cast<void*>(2));
  next();
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  next();
  CallResult result;
  if (ok) {
    std::vector<grpc::Slice> slices;
    if (response.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        result.response.append(reinterpret_cast<const char*>(s.begin()),
                               s.size());
      }
    }
    context.TryCancel();  // A stream would go on.
  }
  call->Finish(&result.status, reinterpret_cast<void*>(4));
  next();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!result.response.empty() &&
      result.status.error_code() == grpc::StatusCode::CANCELLED) {
    result.status = grpc::Status::OK;  // Cancelled by us after an answer.
  }
  return result;
}

// BusService is served only with the bus on, and ClusterService only on a
// cluster node (neither in these tests).
bool Unserved(const CallResult& result, const MethodDescriptor* method) {
  return result.status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
         (method->service()->full_name() == "throughline.bus.v1.BusService" ||
          method->service()->full_name() ==
              "throughline.cluster.v1.ClusterService");
}

std::multimap<std::string, std::string> Bearer(const std::string& token) {
  return {{"authorization", absl::StrCat("Bearer ", token)}};
}

// Sets every string field named in `values` anywhere in `message` (to a
// depth of three), so that a request points at the given ids.
void Aim(Message* message, const std::map<std::string, std::string>& values,
         int depth = 0) {
  const Descriptor* type = message->GetDescriptor();
  const google::protobuf::Reflection* reflection = message->GetReflection();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      auto it = values.find(field->name());
      if (it == values.end()) continue;
      if (field->is_repeated()) {
        reflection->AddString(message, field, it->second);
      } else {
        reflection->SetString(message, field, it->second);
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               !field->is_repeated() && depth < 3 &&
               field->message_type()->full_name() !=
                   "google.protobuf.Timestamp") {
      Aim(reflection->MutableMessage(message, field), values, depth + 1);
    }
  }
}

// The documented role matrix (docs/security.md), written out here
// independently of services/auth/policy.cc: for each method, the roles that
// may call it. Platform writers are listed by silo.
struct Expected {
  std::set<authv1::Role> roles;
  authv1::Silo silo = authv1::SILO_UNSPECIFIED;
};

std::map<std::string, Expected> RoleMatrix() {
  using R = authv1::Role;
  const R kOp = authv1::ROLE_OPERATOR, kAdmin = authv1::ROLE_ADMIN,
          kWriter = authv1::ROLE_PLATFORM_WRITER,
          kTrust = authv1::ROLE_TRUST_LEADER,
          kSchool = authv1::ROLE_SCHOOL_LEADER,
          kStaff = authv1::ROLE_STAFF_MEMBER, kAudit = authv1::ROLE_AUDITOR;
  std::map<std::string, Expected> m;
  auto set = [&](const std::string& service,
                 std::initializer_list<const char*> methods, Expected e) {
    for (const char* method : methods) {
      m[absl::StrCat("/", service, "/", method)] = e;
    }
  };
  set("throughline.eventstore.v1.EventStore", {"Append"}, {{kAdmin}});
  set("throughline.eventstore.v1.EventStore",
      {"ReadStream", "ReadAll", "Subscribe", "GetStream", "GetLogInfo",
       "Verify"},
      {{kAdmin, kAudit, kTrust}});
  set("throughline.cpd.v1.OrganisationService",
      {"RegisterTrust", "AddSchool", "AddDepartment", "AddDevelopmentArea",
       "RelabelDevelopmentArea", "RetireDevelopmentArea"},
      {{kAdmin}, authv1::SILO_ORGANISATION});
  set("throughline.cpd.v1.OrganisationService", {"ListDevelopmentAreas"},
      {{kAdmin, kWriter, kTrust, kSchool, kStaff, kAudit}});
  set("throughline.cpd.v1.StaffDirectoryService",
      {"RecordStaffJoined", "RecordStaffMoved", "RecordStaffLeft"},
      {{kAdmin}, authv1::SILO_STAFF});
  set("throughline.cpd.v1.ObservationService",
      {"RecordObservation", "RecordLearningWalk"},
      {{kAdmin}, authv1::SILO_OBSERVATION});
  set("throughline.cpd.v1.CoachingService", {"RecordCoachingConversation"},
      {{kAdmin}, authv1::SILO_COACHING});
  set("throughline.cpd.v1.AppraisalService",
      {"SetAppraisalGoal", "ReviewAppraisalGoal"},
      {{kAdmin}, authv1::SILO_APPRAISAL});
  set("throughline.cpd.v1.CpdProgrammeService",
      {"LaunchProgramme", "PlanSession", "RecordSessionHeld",
       "EvidenceFollowUp", "ShareEnquiryFindings"},
      {{kAdmin}, authv1::SILO_PROGRAMME});
  set("throughline.cpd.v1.PlanningService",
      {"AdoptImprovementPriority", "CloseImprovementPriority",
       "AllocateCpdTime", "RecordMeetingTimeRepurposed", "SetCpdBudget",
       "RecordCpdSpend", "IdentifyTrainingNeed", "RecordCpdDecision",
       "RecordImpactEvaluation"},
      {{kAdmin}, authv1::SILO_PLANNING});
  set("throughline.insights.v1.Insights",
      {"GetEmergentNeeds", "WatchEmergentNeeds", "GetFollowThrough",
       "GetConnectingTheDots", "GetTimeAndMoney", "GetImpact",
       "GetProgrammeDesign"},
      {{kAdmin, kTrust, kSchool}});
  set("throughline.insights.v1.Insights", {"GetDecisionAudit"},
      {{kAdmin, kTrust, kSchool, kAudit}});
  set("throughline.insights.v1.Insights", {"GetStaffRecord"},
      {{kAdmin, kTrust, kSchool, kStaff}});
  set("throughline.insights.v1.Insights", {"GetProjectionStatus"},
      {{kAdmin, kTrust, kSchool, kAudit}});
  set("throughline.insights.v1.Insights", {"RebuildViews"}, {{kAdmin}});
  set("throughline.bus.v1.BusService", {"GetBusStatus"}, {{kOp}});
  set("throughline.cluster.v1.ClusterService",
      {"GetTrustOwner", "RestoreTrust", "MoveTrust"}, {{kOp}});
  set("throughline.admin.v1.Admin", {"CreateBackup", "ListBackups"}, {{kOp}});
  set("throughline.auth.v1.AuthService",
      {"CreateToken", "ListTokens", "RevokeToken"}, {{kOp, kAdmin}});
  set("throughline.auth.v1.AuthService", {"WhoAmI"},
      {{kOp, kAdmin, kWriter, kTrust, kSchool, kStaff, kAudit}});
  set("throughline.auth.v1.AccessLogService", {"ListAccess"},
      {{kAdmin, kAudit, kStaff}});
  set("throughline.privacy.v1.PrivacyService",
      {"EraseSubject", "ExportSubject", "SetRetentionSchedule", "RunRetention",
       "SetBusDisclosure"},
      {{kAdmin}});
  set("throughline.privacy.v1.PrivacyService",
      {"GetRetentionSchedule", "GetBusDisclosure"}, {{kAdmin, kAudit}});
  return m;
}

std::unique_ptr<Message> NewRequest(const MethodDescriptor* method) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(method->input_type())
          ->New());
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.path() + "/data";
    auto server = services::Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  std::string Token(const std::string& trust,
                    authv1::Role role = authv1::ROLE_ADMIN) {
    return MintToken(server_->auth_store(), trust, role);
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    Authorize(context.get(), token);
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(30));
    return context;
  }

  // Registers `trust` with school `school` (name carrying `marker`) and
  // staff member `staff` there, through the silo services.
  void Seed(const std::string& trust, const std::string& school,
            const std::string& staff, const std::string& marker) {
    const std::string admin = Token(trust);
    auto organisation = cpd::OrganisationService::NewStub(channel_);
    auto directory = cpd::StaffDirectoryService::NewStub(channel_);
    const absl::Time at = absl::Now() - absl::Hours(24 * 30);
    cpd::RecordResponse response;
    cpd::RegisterTrustRequest reg;
    reg.set_request_id(NewUuid());
    SetTime(at, reg.mutable_occurred_at());
    reg.mutable_trust()->set_name(absl::StrCat("Trust ", marker));
    ASSERT_TRUE(
        organisation->RegisterTrust(Context(admin).get(), reg, &response).ok());
    cpd::AddSchoolRequest add;
    add.set_request_id(NewUuid());
    SetTime(at, add.mutable_occurred_at());
    add.mutable_school()->set_school_id(school);
    add.mutable_school()->set_name(absl::StrCat("School ", marker));
    grpc::Status status =
        organisation->AddSchool(Context(admin).get(), add, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    cpd::RecordStaffJoinedRequest join;
    join.set_request_id(NewUuid());
    SetTime(at, join.mutable_occurred_at());
    join.mutable_joined()->set_staff_id(staff);
    join.mutable_joined()->set_school_id(school);
    join.mutable_joined()->set_role(cpd::STAFF_ROLE_TEACHER);
    join.mutable_joined()->mutable_personal()->set_display_name(
        absl::StrCat("Person ", marker));
    status =
        directory->RecordStaffJoined(Context(admin).get(), join, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  uint64_t Head(const std::string& trust) {
    absl::StatusOr<uint64_t> head = server_->store()->HeadPosition(trust);
    EXPECT_TRUE(head.ok());
    return head.ok() ? *head : 0;
  }

  TempDir dir_;
  std::unique_ptr<services::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST(AuthPolicyTest, EveryMethodOfEveryServiceHasARule) {
  const std::vector<const MethodDescriptor*> methods = ContractMethods();
  ASSERT_GT(methods.size(), 50u);
  const auto& rules = services::auth::Rules();
  for (const MethodDescriptor* method : methods) {
    EXPECT_TRUE(rules.contains(FullName(method)))
        << FullName(method) << " has no rule in services/auth/policy.cc";
  }
  // And the matrix below covers exactly the same methods as the table.
  const std::map<std::string, Expected> matrix = RoleMatrix();
  for (const MethodDescriptor* method : methods) {
    EXPECT_TRUE(matrix.contains(FullName(method)))
        << FullName(method) << " is missing from the test's role matrix";
  }
  for (const auto& [name, rule] : rules) {
    if (rule.is_public) {
      EXPECT_TRUE(absl::StartsWith(name, "/grpc.")) << name;
    }
  }
}

TEST_F(AuthTest, EveryMethodRefusesCallsWithoutAValidCredential) {
  const std::string revoked = Token("northfield");
  const std::string token_id = revoked.substr(4, 32);
  ASSERT_TRUE(server_->auth_store()->Revoke(token_id, absl::Now()).ok());
  const std::string expired =
      MintToken(server_->auth_store(), PrincipalFor("northfield"),
                absl::Now() + absl::Seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string wrong_secret =
      Token("northfield").substr(0, 37) + std::string(64, '0');

  const std::vector<
      std::pair<std::string, std::multimap<std::string, std::string>>>
      credentials = {
          {"none", {}},
          {"tenant header only", {{"throughline-tenant", "northfield"}}},
          {"malformed", Bearer("not-a-token")},
          {"not bearer", {{"authorization", "Basic dXNlcjpwYXNz"}}},
          {"wrong secret", Bearer(wrong_secret)},
          {"revoked", Bearer(revoked)},
          {"expired", Bearer(expired)},
      };
  for (const MethodDescriptor* method : ContractMethods()) {
    std::unique_ptr<Message> request = NewRequest(method);
    for (const auto& [name, metadata] : credentials) {
      SCOPED_TRACE(absl::StrCat(FullName(method), " with ", name));
      CallResult result = Call(channel_, method, *request, metadata);
      if (Unserved(result, method)) continue;
      EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << result.status.error_message();
      // Bland: the same words whatever was wrong.
      EXPECT_EQ(result.status.error_message(),
                "a valid credential is required");
    }
  }
}

TEST_F(AuthTest, EachRoleMayCallExactlyWhatTheMatrixSays) {
  const std::map<std::string, Expected> matrix = RoleMatrix();
  std::vector<authv1::Principal> principals;
  for (int role = authv1::ROLE_OPERATOR; role <= authv1::ROLE_AUDITOR; ++role) {
    principals.push_back(
        PrincipalFor("northfield", static_cast<authv1::Role>(role)));
  }
  // Platform writers of one silo each.
  for (int silo = authv1::SILO_ORGANISATION; silo <= authv1::SILO_PLANNING;
       ++silo) {
    authv1::Principal writer =
        PrincipalFor("northfield", authv1::ROLE_PLATFORM_WRITER);
    writer.clear_silos();
    writer.add_silos(static_cast<authv1::Silo>(silo));
    principals.push_back(writer);
  }
  for (const authv1::Principal& principal : principals) {
    const std::string token = MintToken(server_->auth_store(), principal);
    for (const MethodDescriptor* method : ContractMethods()) {
      const std::string name = FullName(method);
      SCOPED_TRACE(absl::StrCat(name, " as ", principal.DebugString()));
      const Expected& expected = matrix.at(name);
      bool allowed = expected.roles.contains(principal.role());
      if (principal.role() == authv1::ROLE_PLATFORM_WRITER &&
          expected.silo != authv1::SILO_UNSPECIFIED) {
        for (int silo : principal.silos()) {
          allowed = allowed || silo == expected.silo;
        }
      }
      std::unique_ptr<Message> request = NewRequest(method);
      CallResult result = Call(channel_, method, *request, Bearer(token));
      if (Unserved(result, method)) continue;
      const bool refused_by_role =
          result.status.error_code() == grpc::StatusCode::PERMISSION_DENIED &&
          result.status.error_message() ==
              absl::StrCat("this credential may not call ", name);
      EXPECT_EQ(refused_by_role, !allowed) << result.status.error_code() << ": "
                                           << result.status.error_message();
      EXPECT_NE(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    }
  }
  // Nothing was written by a refused call: the trust is not even registered.
  EXPECT_LE(Head("northfield"), 1u);
}

TEST_F(AuthTest, TrustAsPrincipalsNeverSeeOrChangeTrustB) {
  const std::string kMarker = "zq-riverside-only-7f3";
  Seed("northfield", "north", "t1", "northfield");
  Seed("riverside", "river", "r1", kMarker);
  const uint64_t b_head = Head("riverside");
  // Ids of B's data a client of A might try to reach.
  const std::map<std::string, std::string> b_ids = {
      {"staff_id", "r1"},
      {"school_id", "river"},
      {"stream", "staff-r1"},
      {"trust", "riverside"},
      {"tenant", "riverside"},
      {"request_id", "r-1"},
      {"token_id", std::string(32, 'a')}};
  const std::multimap<std::string, std::string> header = {
      {"throughline-tenant", "riverside"}};
  for (int role = authv1::ROLE_ADMIN; role <= authv1::ROLE_AUDITOR; ++role) {
    const std::string token =
        Token("northfield", static_cast<authv1::Role>(role));
    std::multimap<std::string, std::string> metadata = Bearer(token);
    metadata.insert(header.begin(), header.end());
    for (const MethodDescriptor* method : ContractMethods()) {
      SCOPED_TRACE(
          absl::StrCat(FullName(method), " as ", authv1::Role_Name(role)));
      std::unique_ptr<Message> request = NewRequest(method);
      Aim(request.get(), b_ids);
      CallResult result = Call(channel_, method, *request, metadata);
      EXPECT_THAT(result.response, ::testing::Not(HasSubstr(kMarker)));
      EXPECT_THAT(result.status.error_message(),
                  ::testing::Not(HasSubstr(kMarker)));
    }
  }
  EXPECT_EQ(Head("riverside"), b_head);
  auto entries = server_->auth_store()->ListAccess("riverside", "",
                                                   absl::UnixEpoch(), 100);
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty()) << "no one of A read B's records";
}

TEST_F(AuthTest, OperatorsManageTokensOfAnyTrustAndAdminsOnlyTheirOwn) {
  auto auth = authv1::AuthService::NewStub(channel_);
  const std::string op = ReadOperatorToken(dir_.path() + "/data");
  ASSERT_FALSE(op.empty());
  EXPECT_EQ(std::filesystem::status(dir_.path() + "/data/operator-token")
                    .permissions() &
                (std::filesystem::perms::group_all |
                 std::filesystem::perms::others_all),
            std::filesystem::perms::none);

  authv1::CreateTokenRequest create;
  create.set_request_id("admin-northfield");
  *create.mutable_principal() = PrincipalFor("northfield");
  authv1::CreateTokenResponse created;
  ASSERT_TRUE(auth->CreateToken(Context(op).get(), create, &created).ok());
  EXPECT_FALSE(created.secret().empty());
  EXPECT_FALSE(created.already_applied());
  // A retry: the same token, no secret.
  authv1::CreateTokenResponse retried;
  ASSERT_TRUE(auth->CreateToken(Context(op).get(), create, &retried).ok());
  EXPECT_TRUE(retried.already_applied());
  EXPECT_TRUE(retried.secret().empty());
  EXPECT_EQ(retried.token().token_id(), created.token().token_id());
  // The request_id for another request.
  create.mutable_principal()->set_name("someone else");
  EXPECT_EQ(auth->CreateToken(Context(op).get(), create, &retried).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  const std::string admin = created.secret();
  authv1::WhoAmIResponse me;
  ASSERT_TRUE(auth->WhoAmI(Context(admin).get(), {}, &me).ok());
  EXPECT_EQ(me.principal().trust(), "northfield");
  EXPECT_EQ(me.principal().role(), authv1::ROLE_ADMIN);

  // The admin issues a token of its trust (the default), not of another,
  // and not an operator's.
  authv1::CreateTokenRequest leader;
  leader.set_request_id("leader");
  leader.mutable_principal()->set_name("Head of North");
  leader.mutable_principal()->set_role(authv1::ROLE_SCHOOL_LEADER);
  leader.mutable_principal()->add_school_ids("north");
  authv1::CreateTokenResponse leader_token;
  ASSERT_TRUE(
      auth->CreateToken(Context(admin).get(), leader, &leader_token).ok());
  EXPECT_EQ(leader_token.token().principal().trust(), "northfield");
  leader.set_request_id("leader-elsewhere");
  leader.mutable_principal()->set_trust("riverside");
  EXPECT_EQ(auth->CreateToken(Context(admin).get(), leader, &leader_token)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  authv1::CreateTokenRequest escalate;
  escalate.set_request_id("escalate");
  escalate.mutable_principal()->set_name("me");
  escalate.mutable_principal()->set_role(authv1::ROLE_OPERATOR);
  EXPECT_EQ(auth->CreateToken(Context(admin).get(), escalate, &leader_token)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Malformed principals name the field.
  authv1::CreateTokenRequest bad;
  bad.set_request_id("bad");
  bad.mutable_principal()->set_name("x");
  bad.mutable_principal()->set_role(authv1::ROLE_SCHOOL_LEADER);
  grpc::Status status =
      auth->CreateToken(Context(admin).get(), bad, &leader_token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("principal.school_ids"));

  // Lists: the admin sees its trust's tokens only, the operator all.
  const std::string riverside = Token("riverside");
  authv1::ListTokensResponse list;
  ASSERT_TRUE(auth->ListTokens(Context(admin).get(), {}, &list).ok());
  for (const authv1::Token& token : list.tokens()) {
    EXPECT_EQ(token.principal().trust(), "northfield");
  }
  EXPECT_GE(list.tokens_size(), 2);
  authv1::ListTokensRequest other;
  other.set_trust("riverside");
  EXPECT_EQ(auth->ListTokens(Context(admin).get(), other, &list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(auth->ListTokens(Context(op).get(), other, &list).ok());
  ASSERT_EQ(list.tokens_size(), 1);

  // Revoking: another trust's token is as unknown as a missing one.
  authv1::RevokeTokenRequest revoke;
  revoke.set_token_id(list.tokens(0).token_id());
  authv1::RevokeTokenResponse revoked;
  EXPECT_EQ(
      auth->RevokeToken(Context(admin).get(), revoke, &revoked).error_code(),
      grpc::StatusCode::NOT_FOUND);
  revoke.set_token_id(leader_token.token().token_id());
  ASSERT_TRUE(auth->RevokeToken(Context(admin).get(), revoke, &revoked).ok());
  EXPECT_FALSE(revoked.already_applied());
  EXPECT_TRUE(revoked.token().has_revoked_at());
  ASSERT_TRUE(auth->RevokeToken(Context(admin).get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.already_applied());
  EXPECT_EQ(
      auth->WhoAmI(Context(leader_token.secret()).get(), {}, &me).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);

  // Tokens outlive a restart; the secret is not on disk.
  server_.reset();
  auto restarted = services::Server::Start([&] {
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.path() + "/data";
    return config;
  }());
  ASSERT_TRUE(restarted.ok());
  EXPECT_TRUE((*restarted)->bootstrap_token_file().empty());
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*restarted)->port()),
                          grpc::InsecureChannelCredentials());
  auto again = authv1::AuthService::NewStub(channel);
  EXPECT_TRUE(again->WhoAmI(Context(admin).get(), {}, &me).ok());
  EXPECT_EQ(
      again->WhoAmI(Context(leader_token.secret()).get(), {}, &me).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  (*restarted)->Shutdown();
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           dir_.path() + "/data/auth")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(admin.substr(37)), std::string::npos) << entry.path();
  }
}

TEST_F(AuthTest, SchoolLeadersAndStaffSeeOnlyTheirScope) {
  Seed("northfield", "north", "t1", "north");
  // A second school and a person there.
  {
    const std::string admin = Token("northfield");
    auto organisation = cpd::OrganisationService::NewStub(channel_);
    auto directory = cpd::StaffDirectoryService::NewStub(channel_);
    cpd::RecordResponse response;
    cpd::AddSchoolRequest add;
    add.set_request_id(NewUuid());
    SetTime(absl::Now() - absl::Hours(24), add.mutable_occurred_at());
    add.mutable_school()->set_school_id("south");
    add.mutable_school()->set_name("South");
    ASSERT_TRUE(
        organisation->AddSchool(Context(admin).get(), add, &response).ok());
    cpd::RecordStaffJoinedRequest join;
    join.set_request_id(NewUuid());
    SetTime(absl::Now() - absl::Hours(24), join.mutable_occurred_at());
    join.mutable_joined()->set_staff_id("s9");
    join.mutable_joined()->set_school_id("south");
    join.mutable_joined()->set_role(cpd::STAFF_ROLE_TEACHER);
    join.mutable_joined()->mutable_personal()->set_display_name("S Nine");
    ASSERT_TRUE(
        directory->RecordStaffJoined(Context(admin).get(), join, &response)
            .ok());
  }
  auto views = insights::Insights::NewStub(channel_);
  const std::string leader = Token("northfield", authv1::ROLE_SCHOOL_LEADER);
  insights::EmergentNeedsView needs;
  // No scope: the leader's one school.
  ASSERT_TRUE(views->GetEmergentNeeds(Context(leader).get(), {}, &needs).ok());
  EXPECT_EQ(needs.basis().scope().school_id(), "north");
  insights::ViewQuery query;
  query.mutable_scope()->set_school_id("south");
  grpc::Status status =
      views->GetEmergentNeeds(Context(leader).get(), query, &needs);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // An unknown school is refused the same way: nothing said about it.
  query.mutable_scope()->set_school_id("no-such-school");
  grpc::Status unknown =
      views->GetEmergentNeeds(Context(leader).get(), query, &needs);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(unknown.error_message(), status.error_message());
  query.mutable_scope()->set_trust(true);
  EXPECT_EQ(views->GetEmergentNeeds(Context(leader).get(), query, &needs)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  insights::StaffRecordQuery record;
  insights::StaffRecordView view;
  record.set_staff_id("t1");
  EXPECT_TRUE(views->GetStaffRecord(Context(leader).get(), record, &view).ok());
  record.set_staff_id("s9");
  EXPECT_EQ(
      views->GetStaffRecord(Context(leader).get(), record, &view).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  const std::string t1 = Token("northfield", authv1::ROLE_STAFF_MEMBER);
  record.set_staff_id("t1");
  ASSERT_TRUE(views->GetStaffRecord(Context(t1).get(), record, &view).ok());
  EXPECT_EQ(view.personal().display_name(), "Person north");
  for (const char* other : {"s9", "nobody"}) {
    record.set_staff_id(other);
    status = views->GetStaffRecord(Context(t1).get(), record, &view);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(status.error_message(),
              "staff_id: outside what this credential may read");
  }
}

TEST_F(AuthTest, ReadsOfPersonalDataAreInTheAccessLog) {
  Seed("northfield", "north", "t1", "north");
  auto views = insights::Insights::NewStub(channel_);
  auto log = es::EventStore::NewStub(channel_);
  auto access = authv1::AccessLogService::NewStub(channel_);
  const std::string leader = Token("northfield", authv1::ROLE_TRUST_LEADER);
  const std::string t1 = Token("northfield", authv1::ROLE_STAFF_MEMBER);
  const std::string auditor = Token("northfield", authv1::ROLE_AUDITOR);

  const absl::Time before = absl::Now();
  insights::StaffRecordQuery record;
  record.set_staff_id("t1");
  insights::StaffRecordView view;
  ASSERT_TRUE(views->GetStaffRecord(Context(leader).get(), record, &view).ok());
  es::ReadStreamRequest read;
  read.set_stream("staff-t1");
  es::ReadStreamResponse stream;
  ASSERT_TRUE(log->ReadStream(Context(auditor).get(), read, &stream).ok());
  ASSERT_TRUE(views->GetStaffRecord(Context(t1).get(), record, &view).ok());

  // The person reads who read their record.
  authv1::ListAccessResponse mine;
  ASSERT_TRUE(access->ListAccess(Context(t1).get(), {}, &mine).ok());
  ASSERT_EQ(mine.entries_size(), 3);
  EXPECT_EQ(mine.entries(0).accessor().role(), authv1::ROLE_TRUST_LEADER);
  EXPECT_EQ(mine.entries(0).subject_staff_id(), "t1");
  EXPECT_EQ(mine.entries(0).method(),
            "/throughline.insights.v1.Insights/GetStaffRecord");
  EXPECT_GE(mine.entries(0).time().seconds(), absl::ToUnixSeconds(before));
  EXPECT_EQ(mine.entries(1).accessor().role(), authv1::ROLE_AUDITOR);
  EXPECT_EQ(mine.entries(1).detail(), "stream staff-t1");
  EXPECT_EQ(mine.entries(2).accessor().role(), authv1::ROLE_STAFF_MEMBER);
  // Not anyone else's.
  authv1::ListAccessRequest others;
  others.set_staff_id("t2");
  EXPECT_EQ(access->ListAccess(Context(t1).get(), others, &mine).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Auditors read the whole log; a leader may not.
  authv1::ListAccessResponse all;
  ASSERT_TRUE(access->ListAccess(Context(auditor).get(), {}, &all).ok());
  EXPECT_EQ(all.entries_size(), 3);
  EXPECT_EQ(access->ListAccess(Context(leader).get(), {}, &all).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A whole-log read counts for everyone.
  es::ReadAllRequest read_all;
  es::ReadAllResponse page;
  ASSERT_TRUE(log->ReadAll(Context(leader).get(), read_all, &page).ok());
  ASSERT_TRUE(access->ListAccess(Context(t1).get(), {}, &mine).ok());
  ASSERT_EQ(mine.entries_size(), 4);
  EXPECT_EQ(mine.entries(3).subject_staff_id(), "");
}

TEST_F(AuthTest, PlatformWritersWriteOnlyTheirSilo) {
  Seed("northfield", "north", "t1", "north");
  authv1::Principal observation_platform =
      PrincipalFor("northfield", authv1::ROLE_PLATFORM_WRITER);
  observation_platform.clear_silos();
  observation_platform.add_silos(authv1::SILO_OBSERVATION);
  const std::string token =
      MintToken(server_->auth_store(), observation_platform);
  auto organisation = cpd::OrganisationService::NewStub(channel_);
  const uint64_t head = Head("northfield");
  cpd::AddSchoolRequest add;
  add.set_request_id(NewUuid());
  add.mutable_school()->set_school_id("west");
  add.mutable_school()->set_name("West");
  cpd::RecordResponse response;
  EXPECT_EQ(organisation->AddSchool(Context(token).get(), add, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Nor through the generic log, which would bypass the silos' rules.
  auto log = es::EventStore::NewStub(channel_);
  es::AppendRequest append;
  append.set_stream("organisation");
  es::ProposedEvent* event = append.add_events();
  event->set_event_id(NewUuid());
  event->set_type("SchoolAdded");
  es::AppendResponse appended;
  EXPECT_EQ(log->Append(Context(token).get(), append, &appended).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Head("northfield"), head);
  // The taxonomy it needs is readable.
  cpd::ListDevelopmentAreasResponse areas;
  EXPECT_TRUE(
      organisation->ListDevelopmentAreas(Context(token).get(), {}, &areas)
          .ok());
}

TEST_F(AuthTest, ConfidentialTextIsOnlyForThePersonAndTheAuthor) {
  Seed("northfield", "north", "t1", "north");
  const std::string admin = Token("northfield");
  {
    auto directory = cpd::StaffDirectoryService::NewStub(channel_);
    cpd::RecordStaffJoinedRequest join;
    join.set_request_id(NewUuid());
    SetTime(absl::Now() - absl::Hours(24 * 20), join.mutable_occurred_at());
    join.mutable_joined()->set_staff_id("t2");
    join.mutable_joined()->set_school_id("north");
    join.mutable_joined()->set_role(cpd::STAFF_ROLE_TEACHER);
    join.mutable_joined()->mutable_personal()->set_display_name("T Two");
    cpd::RecordResponse response;
    ASSERT_TRUE(
        directory->RecordStaffJoined(Context(admin).get(), join, &response)
            .ok());
  }
  auto observations = cpd::ObservationService::NewStub(channel_);
  cpd::RecordObservationRequest request;
  request.set_request_id(NewUuid());
  SetTime(absl::Now() - absl::Hours(24), request.mutable_occurred_at());
  cpd::ObservationRecorded* observation = request.mutable_observation();
  observation->set_observation_id("peer-1");
  observation->set_observed_staff_id("t1");
  observation->set_observer_staff_id("t2");
  observation->set_kind(cpd::OBSERVATION_KIND_FORMAL);
  observation->add_development_points("questioning");
  observation->mutable_notes()->set_text("private words");
  observation->set_confidential(true);
  cpd::RecordResponse response;
  // Only a peer observation can be confidential.
  grpc::Status status =
      observations->RecordObservation(Context(admin).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedField(status), "observation.confidential");
  observation->set_kind(cpd::OBSERVATION_KIND_PEER);
  request.set_request_id(NewUuid());
  status =
      observations->RecordObservation(Context(admin).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The notes as the event is read: from its stream, from the whole log
  // (ReadAll writes most events from their stored bytes, so this checks it
  // hides the text too) and by subscription; all three must agree.
  auto notes_of = [](const es::RecordedEvent& event) {
    cpd::ObservationRecorded stored;
    EXPECT_TRUE(stored.ParseFromString(event.data()));
    EXPECT_TRUE(stored.confidential());
    EXPECT_EQ(stored.development_points_size(), 1);
    return stored.notes().text();
  };
  auto notes_seen_by = [&](const authv1::Principal& principal) {
    const std::string token = MintToken(server_->auth_store(), principal);
    auto log = es::EventStore::NewStub(channel_);
    es::ReadStreamRequest read;
    read.set_stream("observation-peer-1");
    es::ReadStreamResponse stream;
    grpc::Status s = log->ReadStream(Context(token).get(), read, &stream);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok() || stream.events_size() != 1) return std::string("?");
    const std::string notes = notes_of(stream.events(0));

    es::ReadAllResponse page;
    s = log->ReadAll(Context(token).get(), {}, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    int observations = 0;
    for (const es::RecordedEvent& event : page.events()) {
      if (event.type() != "ObservationRecorded") continue;
      ++observations;
      EXPECT_EQ(notes_of(event), notes) << "ReadAll";
    }
    EXPECT_EQ(observations, 1);

    auto context = Context(token);
    std::unique_ptr<grpc::ClientReader<es::SubscribeResponse>> reader =
        log->Subscribe(context.get(), {});
    es::SubscribeResponse message;
    observations = 0;
    while (reader->Read(&message) && !message.has_caught_up()) {
      if (message.has_event() &&
          message.event().type() == "ObservationRecorded") {
        ++observations;
        EXPECT_EQ(notes_of(message.event()), notes) << "Subscribe";
      }
    }
    context->TryCancel();
    EXPECT_EQ(observations, 1);
    return notes;
  };
  EXPECT_EQ(notes_seen_by(PrincipalFor("northfield")), "");
  EXPECT_EQ(notes_seen_by(PrincipalFor("northfield", authv1::ROLE_AUDITOR)),
            "");
  authv1::Principal observer =
      PrincipalFor("northfield", authv1::ROLE_TRUST_LEADER);
  observer.set_staff_id("t2");
  EXPECT_EQ(notes_seen_by(observer), "private words");
  authv1::Principal observed = PrincipalFor("northfield", authv1::ROLE_ADMIN);
  observed.set_staff_id("t1");
  EXPECT_EQ(notes_seen_by(observed), "private words");

  // It still counts in the views.
  insights::StaffRecordQuery query;
  query.set_staff_id("t1");
  insights::StaffRecordView record;
  ASSERT_TRUE(insights::Insights::NewStub(channel_)
                  ->GetStaffRecord(Context(admin).get(), query, &record)
                  .ok());
  bool found = false;
  for (const auto& entry : record.timeline()) {
    found = found || entry.record_id() == "peer-1";
  }
  EXPECT_TRUE(found);
  ASSERT_EQ(record.latest_development_points_size(), 1);
  EXPECT_EQ(record.latest_development_points(0), "questioning");
}

TEST(AuthListenTest, NonLoopbackWithoutTlsIsRefusedUnlessAllowed) {
  TempDir dir;
  services::ServerConfig config;
  config.listen = "0.0.0.0:0";
  config.data_dir = dir.path();
  auto refused = services::Server::Start(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("allow_insecure_listen"));
  config.allow_insecure_listen = true;
  auto allowed = services::Server::Start(config);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  (*allowed)->Shutdown();
}

// Certificates made with the openssl command at test time: a CA, a server
// certificate for 127.0.0.1 and localhost, and two client certificates.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path();
    std::ofstream(d + "/server.ext")
        << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    std::ofstream(d + "/client.ext") << "extendedKeyUsage=clientAuth\n";
    const std::string script = absl::StrCat(
        "set -e; cd '", d, "'; exec 2>openssl.log; ",
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
        "-days 2 -subj /CN=test-ca; ",
        "for n in server client other; do "
        "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr "
        "-subj /CN=$n; done; ",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out server.pem -days 2 -extfile server.ext; ",
        "for n in client other; do openssl x509 -req -in $n.csr -CA ca.pem "
        "-CAkey ca.key -CAcreateserial -out $n.pem -days 2 "
        "-extfile client.ext; done; ",
        "openssl x509 -noout -fingerprint -sha256 -in client.pem "
        "> client.fingerprint");
    ASSERT_EQ(std::system(script.c_str()), 0) << Read("openssl.log");
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = d + "/data";
    config.tls_cert_file = d + "/server.pem";
    config.tls_key_file = d + "/server.key";
    config.tls_client_ca_file = d + "/ca.pem";
    auto server = services::Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  std::string Read(const std::string& name) const {
    std::ifstream in(dir_.path() + "/" + name);
    return std::string((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& client = "") {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = Read("ca.pem");
    if (!client.empty()) {
      tls.pem_cert_chain = Read(client + ".pem");
      tls.pem_private_key = Read(client + ".key");
    }
    return grpc::CreateChannel(address_, grpc::SslCredentials(tls));
  }

  grpc::Status WhoAmI(const std::shared_ptr<grpc::Channel>& channel,
                      const std::string& token,
                      authv1::WhoAmIResponse* response) {
    grpc::ClientContext context;
    if (!token.empty()) Authorize(&context, token);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return authv1::AuthService::NewStub(channel)->WhoAmI(&context, {},
                                                         response);
  }

  TempDir dir_;
  std::unique_ptr<services::Server> server_;
  std::string address_;
};

TEST_F(TlsTest, TlsWorksAndPlaintextIsRefused) {
  const std::string token = MintToken(server_->auth_store(), "northfield");
  authv1::WhoAmIResponse me;
  grpc::Status status = WhoAmI(Channel(), token, &me);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(me.principal().trust(), "northfield");
  // Plaintext to the TLS port: no call gets through.
  auto plain =
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  status = WhoAmI(plain, token, &me);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(TlsTest, ARegisteredClientCertificateStandsForItsPrincipal) {
  // `openssl x509 -fingerprint -sha256` prints "sha256 Fingerprint=AB:..".
  std::string fingerprint = Read("client.fingerprint");
  fingerprint = fingerprint.substr(fingerprint.find('=') + 1);
  while (!fingerprint.empty() && fingerprint.back() == '\n') {
    fingerprint.pop_back();
  }
  authv1::CreateTokenRequest request;
  request.set_request_id("observation-platform-certificate");
  *request.mutable_principal() =
      PrincipalFor("northfield", authv1::ROLE_PLATFORM_WRITER);
  request.mutable_principal()->set_name("observation platform");
  request.set_certificate_sha256(fingerprint);
  authv1::CreateTokenResponse created;
  {
    grpc::ClientContext context;
    Authorize(&context, ReadOperatorToken(dir_.path() + "/data"));
    grpc::Status status = authv1::AuthService::NewStub(Channel())->CreateToken(
        &context, request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(created.secret().empty());
  EXPECT_EQ(created.token().certificate_sha256().size(), 64u);

  authv1::WhoAmIResponse me;
  grpc::Status status = WhoAmI(Channel("client"), "", &me);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(me.principal().name(), "observation platform");
  EXPECT_EQ(me.principal().trust(), "northfield");
  EXPECT_EQ(me.token_id(), created.token().token_id());

  // A certificate from the same CA but not registered is no credential.
  status = WhoAmI(Channel("other"), "", &me);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // No certificate and no token either.
  status = WhoAmI(Channel(), "", &me);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Revoking the registration ends it.
  ASSERT_TRUE(server_->auth_store()
                  ->Revoke(created.token().token_id(), absl::Now())
                  .ok());
  status = WhoAmI(Channel("client"), "", &me);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(TlsConfigTest, TlsOptionsAreCheckedTogether) {
  bool help = false;
  EXPECT_FALSE(
      services::ParseServerConfig({"--tls_cert_file=a.pem"}, &help).ok());
  EXPECT_FALSE(
      services::ParseServerConfig({"--tls_client_ca_file=ca.pem"}, &help).ok());
  EXPECT_FALSE(
      services::ParseServerConfig({"--allow_insecure_listen=yes"}, &help).ok());
  auto config = services::ParseServerConfig(
      {"--tls_cert_file=a.pem", "--tls_key_file=a.key",
       "--allow_insecure_listen=true"},
      &help);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->allow_insecure_listen);
}

}  // namespace
}  // namespace throughline::testing
