// Erasure, subject access and retention end to end: a real server on
// loopback over real RocksDB stores, fed with the demo trust through the
// public CPD API, and its data directory scanned byte by byte after it
// stops.

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "eventstore/event_store.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "projections/cpd_codec.h"
#include "services/privacy/personal_data.h"
#include "services/privacy/privacy_service.h"
#include "services/server.h"
#include "tests/auth_support.h"
#include "tests/cpd_fixture.h"
#include "tests/test_support.h"
#include "throughline/cpd/v1/appraisal.grpc.pb.h"
#include "throughline/cpd/v1/coaching.grpc.pb.h"
#include "throughline/cpd/v1/observation.grpc.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"
#include "throughline/insights/v1/insights.grpc.pb.h"
#include "throughline/privacy/v1/privacy.grpc.pb.h"
#include "tools/demo.h"

namespace throughline::testing {
namespace {

namespace insights = ::throughline::insights::v1;
namespace privacy = ::throughline::privacy::v1;
namespace es = ::throughline::eventstore::v1;
using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;

constexpr char kTenant[] = "demo-trust";

// A call as the trust's admin.
std::unique_ptr<grpc::ClientContext> Ctx(const std::string& tenant = kTenant) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (std::string token = RememberedToken(tenant); !token.empty()) {
    Authorize(context.get(), token);
  }
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
  return context;
}

// Every personal string (names, emails, free text) in `message`, at any
// depth, for the byte scans. Short names are left out: they could occur by
// chance in unrelated bytes.
void CollectPersonal(const Message& message, std::set<std::string>* out) {
  if (message.GetDescriptor() == cpd::PersonalDetails::descriptor()) {
    const auto& d = static_cast<const cpd::PersonalDetails&>(message);
    if (d.display_name().size() >= 8) out->insert(d.display_name());
    if (!d.email().empty()) out->insert(d.email());
    return;
  }
  if (message.GetDescriptor() == cpd::PrivateText::descriptor()) {
    const auto& t = static_cast<const cpd::PrivateText&>(message);
    if (t.text().size() >= 8) out->insert(t.text());
    return;
  }
  const auto* r = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() !=
        google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(message, field); ++i) {
        CollectPersonal(r->GetRepeatedMessage(message, field, i), out);
      }
    } else {
      CollectPersonal(r->GetMessage(message, field), out);
    }
  }
}

// Which of `needles` occur in any file under `dir` (every RocksDB's SST,
// WAL, MANIFEST and LOG files included).
std::set<std::string> FoundOnDisk(const std::string& dir,
                                  const std::set<std::string>& needles) {
  std::set<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string bytes = buffer.str();
    for (const std::string& needle : needles) {
      if (bytes.find(needle) != std::string::npos) found.insert(needle);
    }
  }
  return found;
}

// Every view's answer to one query (the staff record of one person).
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

class ErasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli::DemoOptions options;
    options.seed = 7;
    options.schools = 2;
    options.staff = 30;
    options.now = absl::Now();
    auto plan = cli::GenerateDemo(options);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = *std::move(plan);
    // The subject: the staff member with the most kinds of personal data.
    std::map<std::string, std::set<std::string>> kinds;
    std::map<std::string, cpd::PersonalDetails> details;
    for (const cli::DemoCall& call : plan_.calls) {
      CollectPersonal(*call.request, &personal_);
      const Message* m = call.request.get();
      if (const auto* r =
              dynamic_cast<const cpd::RecordStaffJoinedRequest*>(m)) {
        details[r->joined().staff_id()] = r->joined().personal();
      } else if (const auto* r =
                     dynamic_cast<const cpd::RecordObservationRequest*>(m)) {
        if (r->observation().has_notes()) {
          kinds[r->observation().observed_staff_id()].insert("observation");
        }
      } else if (const auto* r = dynamic_cast<
                     const cpd::RecordCoachingConversationRequest*>(m)) {
        if (r->conversation().has_agreed_next_step()) {
          kinds[r->conversation().coachee_staff_id()].insert("coaching");
        }
      } else if (const auto* r =
                     dynamic_cast<const cpd::SetAppraisalGoalRequest*>(m)) {
        if (r->goal().has_description()) {
          kinds[r->goal().staff_id()].insert("appraisal");
        }
      }
    }
    size_t most = 0;
    for (const auto& [staff, held] : kinds) {
      if (held.size() > most && details.count(staff) > 0) {
        most = held.size();
        subject_ = staff;
      }
    }
    ASSERT_FALSE(subject_.empty());
    subject_name_ = details[subject_].display_name();
    subject_email_ = details[subject_].email();
    config_.listen = "127.0.0.1:0";
    config_.data_dir = dir_.path() + "/data";
    StartServer();
    cli::DemoOutcome outcome = cli::SendDemo(
        channel_, plan_, {RememberedToken(kTenant), "", ""}, absl::Seconds(30));
    ASSERT_FALSE(outcome.failed_call.has_value())
        << outcome.failure.error_message();
  }

  void StartServer() {
    auto server = services::Server::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    RememberToken(kTenant, MintToken(server_->auth_store(), kTenant));
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    insights_ = insights::Insights::NewStub(channel_);
    privacy_ = privacy::PrivacyService::NewStub(channel_);
    events_ = es::EventStore::NewStub(channel_);
  }

  void StopServer() { server_.reset(); }

  insights::ViewQuery Query(uint64_t as_of_position) const {
    insights::ViewQuery query;
    SetTime(plan_.registered_at, query.mutable_from());
    SetTime(plan_.registered_at + absl::Hours(24 * 300), query.mutable_to());
    SetTime(plan_.registered_at + absl::Hours(24 * 310),
            query.mutable_as_of_time());
    query.set_as_of_position(as_of_position);
    return query;
  }

  Answers Ask(const insights::ViewQuery& query) {
    Answers a;
    auto check = [](const grpc::Status& s) {
      EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    };
    check(insights_->GetEmergentNeeds(Ctx().get(), query, &a.needs));
    check(insights_->GetFollowThrough(Ctx().get(), query, &a.follow_through));
    insights::StaffRecordQuery staff;
    staff.set_staff_id(subject_);
    *staff.mutable_query() = query;
    check(insights_->GetStaffRecord(Ctx().get(), staff, &a.staff));
    check(insights_->GetConnectingTheDots(Ctx().get(), query, &a.dots));
    check(insights_->GetTimeAndMoney(Ctx().get(), query, &a.money));
    check(insights_->GetImpact(Ctx().get(), query, &a.impact));
    check(insights_->GetDecisionAudit(Ctx().get(), query, &a.decisions));
    check(insights_->GetProgrammeDesign(Ctx().get(), query, &a.programmes));
    return a;
  }

  uint64_t Head() {
    es::GetLogInfoResponse info;
    EXPECT_TRUE(events_->GetLogInfo(Ctx().get(), {}, &info).ok());
    return info.head_position();
  }

  // Every CPD event of the trust as the EventStore API returns it.
  std::vector<std::pair<uint64_t, cpd::CpdEvent>> ReadAll() {
    std::vector<std::pair<uint64_t, cpd::CpdEvent>> out;
    uint64_t from = 1;
    for (;;) {
      es::ReadAllRequest request;
      request.set_from_position(from);
      es::ReadAllResponse response;
      grpc::Status status = events_->ReadAll(Ctx().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const es::RecordedEvent& event : response.events()) {
        eventstore::EventRecord record;
        record.set_type(event.type());
        record.set_data(event.data());
        auto decoded = projections::DecodeCpdEvent(record);
        if (decoded.ok()) out.emplace_back(event.position(), *decoded);
      }
      if (response.next_position() > response.head_position()) break;
      from = response.next_position();
    }
    return out;
  }

  // The wrapped data keys of the subject, read from the stopped server's
  // store.
  std::vector<std::string> WrappedKeys() {
    eventstore::EventStoreOptions options;
    options.path = config_.data_dir;
    auto store = eventstore::EventStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    std::vector<std::string> keys;
    if (!store.ok()) return keys;
    auto secrets = (*store)->ListSecrets(
        kTenant, std::string(services::privacy::kDataKeySecretPrefix) +
                     std::string(1, '\0') + subject_ + std::string(1, '\0'));
    EXPECT_TRUE(secrets.ok()) << secrets.status();
    for (const auto& [name, value] : *secrets) keys.push_back(value);
    return keys;
  }

  TempDir dir_;
  cli::DemoPlan plan_;
  std::set<std::string> personal_;
  std::string subject_, subject_name_, subject_email_;
  services::ServerConfig config_;
  std::unique_ptr<services::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<insights::Insights::Stub> insights_;
  std::unique_ptr<privacy::PrivacyService::Stub> privacy_;
  std::unique_ptr<es::EventStore::Stub> events_;
};

TEST_F(ErasureTest, ReadsShowPersonalDataInClearButDiskNeverHoldsIt) {
  insights::StaffRecordQuery staff;
  staff.set_staff_id(subject_);
  *staff.mutable_query() = Query(0);
  insights::StaffRecordView record;
  ASSERT_TRUE(insights_->GetStaffRecord(Ctx().get(), staff, &record).ok());
  EXPECT_EQ(record.personal().display_name(), subject_name_);
  EXPECT_EQ(record.personal().email(), subject_email_);
  EXPECT_FALSE(record.personal().has_sealed());

  // Every personal field read back through the EventStore API is in clear.
  std::set<std::string> read_back;
  for (const auto& [position, event] : ReadAll()) {
    CollectPersonal(event, &read_back);
  }
  EXPECT_EQ(read_back, personal_);

  StopServer();
  ASSERT_GT(personal_.size(), 20u);
  EXPECT_EQ(FoundOnDisk(config_.data_dir, personal_), std::set<std::string>());
}

TEST_F(ErasureTest, EraseKeepsFiguresShowsErasedAndRemovesTheKeyFromDisk) {
  const uint64_t head = Head();
  const Answers before = Ask(Query(head));
  EXPECT_EQ(before.staff.personal().display_name(), subject_name_);
  // The chain head an auditor saved before the erasure.
  es::VerifyResponse chain_before;
  ASSERT_TRUE(events_->Verify(Ctx().get(), {}, &chain_before).ok());
  ASSERT_FALSE(chain_before.has_mismatch());
  ASSERT_EQ(chain_before.last_position(), head);

  // The subject's wrapped keys are on disk before erasure.
  StopServer();
  const std::vector<std::string> wrapped = WrappedKeys();
  ASSERT_GE(wrapped.size(), 3u);  // Staff details and two kinds of record.
  {
    const std::set<std::string> needles(wrapped.begin(), wrapped.end());
    EXPECT_EQ(FoundOnDisk(config_.data_dir, needles), needles);
  }
  StartServer();

  privacy::EraseSubjectRequest erase;
  erase.set_request_id("erase-1");
  erase.set_staff_id(subject_);
  privacy::EraseSubjectResponse erased;
  grpc::Status status = privacy_->EraseSubject(Ctx().get(), erase, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(static_cast<size_t>(erased.erased_kinds_size()), wrapped.size());
  EXPECT_EQ(erased.position(), head + 1);
  EXPECT_FALSE(erased.already_applied());

  // A retry answers the same and appends nothing.
  privacy::EraseSubjectResponse retried;
  ASSERT_TRUE(privacy_->EraseSubject(Ctx().get(), erase, &retried).ok());
  EXPECT_TRUE(retried.already_applied());
  EXPECT_EQ(retried.position(), erased.position());
  EXPECT_EQ(Head(), head + 1);

  // Every view's figures are those before; only the personal fields of
  // the subject's record changed, to erased.
  const Answers after = Ask(Query(head));
  for (const auto& [a, b] :
       std::vector<std::pair<const Message*, const Message*>>{
           {&before.needs, &after.needs},
           {&before.follow_through, &after.follow_through},
           {&before.dots, &after.dots},
           {&before.money, &after.money},
           {&before.impact, &after.impact},
           {&before.decisions, &after.decisions},
           {&before.programmes, &after.programmes}}) {
    EXPECT_TRUE(MessageDifferencer::Equals(*a, *b))
        << a->GetTypeName() << " changed";
  }
  EXPECT_TRUE(after.staff.personal().erased());
  EXPECT_EQ(after.staff.personal().display_name(),
            services::privacy::kErasedText);
  EXPECT_EQ(after.staff.personal().email(), "");
  insights::StaffRecordView before_staff = before.staff,
                            after_staff = after.staff;
  before_staff.clear_personal();
  after_staff.clear_personal();
  EXPECT_TRUE(MessageDifferencer::Equals(before_staff, after_staff));

  // Reads of the log show the subject's personal data as erased, and
  // everyone else's in clear.
  size_t erased_fields = 0;
  std::set<std::string> still_clear;
  for (auto& [position, event] : ReadAll()) {
    if (event.has_staff_member_joined() &&
        event.staff_member_joined().staff_id() == subject_) {
      EXPECT_TRUE(event.staff_member_joined().personal().erased());
      EXPECT_EQ(event.staff_member_joined().personal().display_name(),
                "[erased]");
      ++erased_fields;
    }
    if (event.has_observation_recorded() &&
        event.observation_recorded().observed_staff_id() == subject_ &&
        event.observation_recorded().has_notes()) {
      EXPECT_TRUE(event.observation_recorded().notes().erased());
      EXPECT_EQ(event.observation_recorded().notes().text(), "[erased]");
      ++erased_fields;
    }
    CollectPersonal(event, &still_clear);
  }
  EXPECT_GE(erased_fields, 2u);
  EXPECT_TRUE(still_clear.count(subject_name_) == 0);
  EXPECT_TRUE(still_clear.count(subject_email_) == 0);

  // The chain still verifies, through the head saved before the erasure.
  es::VerifyRequest verify;
  verify.mutable_expected_head()->set_position(head);
  verify.mutable_expected_head()->set_hash(chain_before.chain_hash());
  es::VerifyResponse chain_after;
  ASSERT_TRUE(events_->Verify(Ctx().get(), verify, &chain_after).ok());
  EXPECT_FALSE(chain_after.has_mismatch());
  EXPECT_EQ(chain_after.events_checked(), head + 1);
  EXPECT_EQ(chain_after.expected_head_found_at(), head);
  EXPECT_FALSE(chain_after.expected_head_differs());

  // The export records the erasure.
  privacy::ExportSubjectRequest export_request;
  export_request.set_staff_id(subject_);
  privacy::ExportSubjectResponse exported;
  ASSERT_TRUE(
      privacy_->ExportSubject(Ctx().get(), export_request, &exported).ok());
  ASSERT_EQ(exported.erasures_size(), 1);
  EXPECT_EQ(exported.erasures(0).reason(), privacy::ERASURE_REASON_REQUEST);

  // After the server stops, neither the subject's (nor anyone's) personal
  // data nor the subject's wrapped keys are anywhere under the data
  // directory, and the key store holds no key of theirs.
  StopServer();
  EXPECT_EQ(WrappedKeys(), std::vector<std::string>());
  EXPECT_EQ(FoundOnDisk(config_.data_dir, personal_), std::set<std::string>());
  const std::set<std::string> needles(wrapped.begin(), wrapped.end());
  EXPECT_EQ(FoundOnDisk(config_.data_dir, needles), std::set<std::string>());
}

TEST_F(ErasureTest, ExportHoldsEveryEventAboutTheSubjectDecrypted) {
  privacy::ExportSubjectRequest request;
  request.set_staff_id(subject_);
  privacy::ExportSubjectResponse exported;
  grpc::Status status =
      privacy_->ExportSubject(Ctx().get(), request, &exported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(exported.staff_id(), subject_);

  // Independently: every event whose JSON names the subject's id as a
  // value, or reviews a goal of theirs.
  std::set<uint64_t> expected;
  std::set<std::string> goals;
  const std::string quoted = absl::StrCat("\"", subject_, "\"");
  for (const auto& [position, event] : ReadAll()) {
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(event, &json).ok());
    if (event.has_appraisal_goal_set() &&
        event.appraisal_goal_set().staff_id() == subject_) {
      goals.insert(event.appraisal_goal_set().goal_id());
    }
    if (json.find(quoted) != std::string::npos ||
        (event.has_appraisal_goal_reviewed() &&
         goals.count(event.appraisal_goal_reviewed().goal_id()) > 0)) {
      expected.insert(position);
    }
  }
  std::set<uint64_t> got;
  bool saw_joined = false;
  for (const privacy::SubjectEvent& event : exported.events()) {
    got.insert(event.position());
    EXPECT_FALSE(event.matched_fields().empty());
    if (event.event().has_staff_member_joined()) {
      saw_joined = true;
      EXPECT_EQ(event.event().staff_member_joined().personal().display_name(),
                subject_name_);
    }
    std::set<std::string> sealed_left;
    std::string json;
    ASSERT_TRUE(
        google::protobuf::util::MessageToJsonString(event.event(), &json).ok());
    EXPECT_EQ(json.find("\"sealed\""), std::string::npos) << json;
  }
  EXPECT_TRUE(saw_joined);
  EXPECT_GT(got.size(), 3u);
  EXPECT_EQ(got, expected);
}

// The access log in subject access: a read of the subject's record by
// another principal is in their export with who, when and which RPC;
// reads about another person or in another trust are not. The export and
// the erasure are entered too, and the log names the person by id only.
TEST_F(ErasureTest, ExportListsWhoReadTheSubjectAndErasureLeavesARecord) {
  std::string other;
  for (const cli::DemoCall& call : plan_.calls) {
    const auto* r =
        dynamic_cast<const cpd::RecordStaffJoinedRequest*>(call.request.get());
    if (r != nullptr && r->joined().staff_id() != subject_) {
      other = r->joined().staff_id();
      break;
    }
  }
  ASSERT_FALSE(other.empty());
  authv1::Principal governor;
  governor.set_name("Chair of governors");
  governor.set_role(authv1::ROLE_TRUST_LEADER);
  governor.set_trust(kTenant);
  const std::string reader = MintToken(server_->auth_store(), governor);
  ASSERT_FALSE(reader.empty());
  // "tl1_<token_id>_<secret>".
  const std::string reader_id = reader.substr(4, 32);
  auto as_reader = [&] {
    auto context = std::make_unique<grpc::ClientContext>();
    Authorize(context.get(), reader);
    return context;
  };

  const absl::Time before_read = absl::Now();
  grpc::Status status;
  for (const std::string& staff_id : {subject_, other}) {
    insights::StaffRecordQuery staff;
    staff.set_staff_id(staff_id);
    *staff.mutable_query() = Query(0);
    insights::StaffRecordView record;
    status = insights_->GetStaffRecord(as_reader().get(), staff, &record);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // A raw read of an observation of the subject, whose notes are theirs.
  std::string observation;
  for (const cli::DemoCall& call : plan_.calls) {
    const auto* r =
        dynamic_cast<const cpd::RecordObservationRequest*>(call.request.get());
    if (r != nullptr && r->observation().observed_staff_id() == subject_ &&
        r->observation().has_notes()) {
      observation = "observation-" + r->observation().observation_id();
      break;
    }
  }
  ASSERT_FALSE(observation.empty());
  es::ReadStreamRequest read_stream;
  read_stream.set_stream(observation);
  es::ReadStreamResponse stream_events;
  status = events_->ReadStream(as_reader().get(), read_stream, &stream_events);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(stream_events.events().empty());
  const absl::Time after_read = absl::Now();
  // Another trust whose staff ids happen to include the subject's.
  authv1::AccessEntry elsewhere;
  SetTime(absl::Now(), elsewhere.mutable_time());
  elsewhere.set_accessor_token_id("elsewhere");
  elsewhere.mutable_accessor()->set_name("Reader in another trust");
  elsewhere.set_subject_staff_id(subject_);
  elsewhere.set_method("/throughline.insights.v1.Insights/GetStaffRecord");
  ASSERT_TRUE(
      server_->auth_store()->RecordAccess("other-trust", elsewhere).ok());

  privacy::ExportSubjectRequest request;
  request.set_staff_id(subject_);
  privacy::ExportSubjectResponse exported;
  status = privacy_->ExportSubject(Ctx().get(), request, &exported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(exported.access_size(), 3) << exported.DebugString();
  const authv1::AccessEntry& read = exported.access(0);
  EXPECT_EQ(read.accessor_token_id(), reader_id);
  EXPECT_EQ(read.accessor().name(), "Chair of governors");
  EXPECT_EQ(read.accessor().role(), authv1::ROLE_TRUST_LEADER);
  EXPECT_EQ(read.method(), "/throughline.insights.v1.Insights/GetStaffRecord");
  EXPECT_EQ(read.subject_staff_id(), subject_);
  const absl::Time read_at = absl::FromUnixSeconds(read.time().seconds()) +
                             absl::Nanoseconds(read.time().nanos());
  EXPECT_GE(read_at, before_read);
  EXPECT_LE(read_at, after_read);
  const authv1::AccessEntry& raw = exported.access(1);
  EXPECT_EQ(raw.accessor_token_id(), reader_id);
  EXPECT_EQ(raw.method(), "/throughline.eventstore.v1.EventStore/ReadStream");
  EXPECT_EQ(raw.detail(), "stream " + observation);
  // The export itself, by the admin.
  const authv1::AccessEntry& self = exported.access(2);
  EXPECT_EQ(self.method(),
            "/throughline.privacy.v1.PrivacyService/ExportSubject");
  EXPECT_EQ(self.accessor().role(), authv1::ROLE_ADMIN);
  EXPECT_EQ(self.subject_staff_id(), subject_);

  // The other person's export holds the read of their record, not the
  // subject's entries.
  request.set_staff_id(other);
  privacy::ExportSubjectResponse other_export;
  ASSERT_TRUE(
      privacy_->ExportSubject(Ctx().get(), request, &other_export).ok());
  ASSERT_EQ(other_export.access_size(), 2);
  for (const authv1::AccessEntry& entry : other_export.access()) {
    EXPECT_EQ(entry.subject_staff_id(), other);
  }

  // The erasure is entered: who erased whom, when.
  privacy::EraseSubjectRequest erase;
  erase.set_request_id("erase-logged");
  erase.set_staff_id(subject_);
  privacy::EraseSubjectResponse erased;
  const absl::Time before_erase = absl::Now();
  ASSERT_TRUE(privacy_->EraseSubject(Ctx().get(), erase, &erased).ok());
  request.set_staff_id(subject_);
  ASSERT_TRUE(privacy_->ExportSubject(Ctx().get(), request, &exported).ok());
  ASSERT_EQ(exported.access_size(), 5);
  const authv1::AccessEntry& erasure = exported.access(3);
  EXPECT_EQ(erasure.method(),
            "/throughline.privacy.v1.PrivacyService/EraseSubject");
  EXPECT_EQ(erasure.accessor().role(), authv1::ROLE_ADMIN);
  EXPECT_EQ(erasure.subject_staff_id(), subject_);
  EXPECT_NE(erasure.detail().find(absl::StrCat("position ", erased.position())),
            std::string::npos)
      << erasure.detail();
  EXPECT_GE(absl::FromUnixSeconds(erasure.time().seconds()) + absl::Seconds(1),
            before_erase);

  // The access log (its own database) holds the subject's id, never
  // their name or email.
  StopServer();
  const std::string auth_dir = config_.data_dir + "/auth";
  std::set<std::string> personal;
  for (const std::string& text : {subject_name_, subject_email_}) {
    if (text.size() >= 8) personal.insert(text);
  }
  ASSERT_FALSE(personal.empty());
  EXPECT_EQ(FoundOnDisk(auth_dir, personal), std::set<std::string>());
  EXPECT_EQ(FoundOnDisk(auth_dir, {subject_}), std::set<std::string>{subject_});
}

TEST_F(ErasureTest, RefusesUnknownStaffAndBadRequests) {
  const uint64_t head = Head();
  privacy::EraseSubjectRequest erase;
  erase.set_request_id("erase-unknown");
  erase.set_staff_id("nobody");
  privacy::EraseSubjectResponse response;
  grpc::Status status = privacy_->EraseSubject(Ctx().get(), erase, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("staff_id"), std::string::npos);
  erase.set_staff_id(subject_);
  erase.clear_request_id();
  status = privacy_->EraseSubject(Ctx().get(), erase, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("request_id"), std::string::npos);

  privacy::ExportSubjectRequest export_request;
  export_request.set_staff_id("nobody");
  privacy::ExportSubjectResponse exported;
  EXPECT_EQ(privacy_->ExportSubject(Ctx().get(), export_request, &exported)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  privacy::SetRetentionScheduleRequest set;
  set.set_request_id("schedule-bad");
  privacy::RetentionRule* rule = set.mutable_schedule()->add_rules();
  rule->set_kind(cpd::PERSONAL_DATA_KIND_APPRAISAL);
  rule->set_years_after_leaving(0);
  privacy::RetentionSchedule schedule;
  status = privacy_->SetRetentionSchedule(Ctx().get(), set, &schedule);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(
      status.error_message().find("schedule.rules[0].years_after_leaving"),
      std::string::npos)
      << status.error_message();
  EXPECT_EQ(Head(), head);
}

// A request may not carry the server-only sealed form.
TEST_F(ErasureTest, RefusesARequestThatSetsTheSealedForm) {
  const uint64_t head = Head();
  auto observations = cpd::ObservationService::NewStub(channel_);
  // A valid observation of the demo, but for its sealed notes.
  cpd::RecordObservationRequest request;
  for (const cli::DemoCall& call : plan_.calls) {
    const auto* r =
        dynamic_cast<const cpd::RecordObservationRequest*>(call.request.get());
    if (r != nullptr) {
      request = *r;
      break;
    }
  }
  request.set_request_id("forged-sealed");
  request.mutable_observation()->set_observation_id("forged");
  request.mutable_observation()
      ->mutable_notes()
      ->mutable_sealed()
      ->set_ciphertext("x");
  cpd::RecordResponse response;
  grpc::Status status =
      observations->RecordObservation(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_NE(status.error_message().find("sealed"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(Head(), head);
}

// A trust's events copied into another store without the trust's data keys,
// as a trust restored on another node from the bus is (the keys never leave
// their node; docs/operations.md): every personal field reads as erased,
// nothing else changes, and data recorded afterwards about the same people
// is sealed under new keys and reads in clear beside the old, still erased.
TEST_F(ErasureTest, EventsCopiedWithoutKeysReadErasedAndNewRecordsReadInClear) {
  const uint64_t head = Head();
  es::VerifyResponse chain_before;
  ASSERT_TRUE(events_->Verify(Ctx().get(), {}, &chain_before).ok());
  // The subject's observation with notes, to record another like it later.
  cpd::RecordObservationRequest observation;
  for (const cli::DemoCall& call : plan_.calls) {
    const auto* r =
        dynamic_cast<const cpd::RecordObservationRequest*>(call.request.get());
    if (r != nullptr && r->observation().observed_staff_id() == subject_ &&
        r->observation().has_notes() && !r->observation().confidential()) {
      observation = *r;
      break;
    }
  }
  ASSERT_TRUE(observation.has_observation())
      << "no observation of " << subject_;
  StopServer();

  // The copy: the same stored bytes at the same positions, through the
  // import path a restore from the bus uses; no secrets.
  const std::string copy_dir = dir_.path() + "/copy";
  {
    eventstore::EventStoreOptions options;
    options.path = config_.data_dir;
    auto source = eventstore::EventStore::Open(options);
    ASSERT_TRUE(source.ok()) << source.status();
    options.path = copy_dir;
    auto copy = eventstore::EventStore::Open(options);
    ASSERT_TRUE(copy.ok()) << copy.status();
    for (uint64_t from = 1; from <= head;) {
      auto page = (*source)->ReadLog(kTenant, from, eventstore::LogFilter(),
                                     500, size_t{1} << 30);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_FALSE(page->events.empty());
      std::vector<eventstore::ImportedEvent> events;
      for (const auto& event : page->events) {
        events.push_back({event.position, event.record.SerializeAsString()});
      }
      ASSERT_TRUE((*copy)->ImportEvents(kTenant, std::move(events)).ok());
      from = page->next_position;
    }
    auto keys = (*copy)->ListSecrets(kTenant, "");
    ASSERT_TRUE(keys.ok());
    EXPECT_TRUE(keys->empty());
  }
  config_.data_dir = copy_dir;  // With a master key of its own.
  StartServer();
  ASSERT_EQ(Head(), head);
  es::VerifyResponse chain_copy;
  ASSERT_TRUE(events_->Verify(Ctx().get(), {}, &chain_copy).ok());
  EXPECT_FALSE(chain_copy.has_mismatch());
  EXPECT_EQ(chain_copy.chain_hash(), chain_before.chain_hash());

  // Every personal field reads as erased; no read fails.
  std::set<std::string> clear;
  size_t erased_fields = 0;
  for (auto& [position, event] : ReadAll()) {
    CollectPersonal(event, &clear);
    if (event.has_staff_member_joined() &&
        event.staff_member_joined().has_personal()) {
      EXPECT_TRUE(event.staff_member_joined().personal().erased());
      ++erased_fields;
    }
  }
  clear.erase(services::privacy::kErasedText);
  EXPECT_EQ(clear, std::set<std::string>());
  EXPECT_GT(erased_fields, 20u);

  // A new observation of the same person is readable; the old ones of the
  // same kind stay erased (their key is not the new one).
  const std::string notes = "Copied trust: questioning was sharper today.";
  observation.set_request_id("after-copy");
  observation.mutable_observation()->set_observation_id("after-copy");
  observation.mutable_observation()->mutable_notes()->set_text(notes);
  auto observations = cpd::ObservationService::NewStub(channel_);
  cpd::RecordResponse recorded;
  grpc::Status status =
      observations->RecordObservation(Ctx().get(), observation, &recorded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  size_t old_erased = 0, new_clear = 0;
  for (auto& [position, event] : ReadAll()) {
    if (!event.has_observation_recorded() ||
        event.observation_recorded().observed_staff_id() != subject_ ||
        !event.observation_recorded().has_notes()) {
      continue;
    }
    if (position > head) {
      EXPECT_EQ(event.observation_recorded().notes().text(), notes);
      EXPECT_FALSE(event.observation_recorded().notes().erased());
      ++new_clear;
    } else {
      EXPECT_TRUE(event.observation_recorded().notes().erased());
      ++old_erased;
    }
  }
  EXPECT_EQ(new_clear, 1u);
  EXPECT_GE(old_erased, 1u);
}

// Retention over a small hand-made trust, the job run as of chosen times.
class RetentionTest : public CpdFixture {
 protected:
  void AddServices(services::cpd::CommandRunner* runner,
                   std::vector<std::unique_ptr<grpc::Service>>* out) override {
    out->push_back(std::make_unique<services::cpd::ObservationService>(runner));
    out->push_back(std::make_unique<services::cpd::AppraisalService>(runner));
    bus_disclosure_ = std::make_unique<services::privacy::BusDisclosure>(
        store(), personal_data());
    auto service = std::make_unique<services::privacy::PrivacyService>(
        store(), runner, personal_data(), auth_store(), bus_disclosure_.get());
    privacy_service_ = service.get();
    out->push_back(std::move(service));
  }

  void SetUp() override {
    CpdFixture::SetUp();
    if (HasFatalFailure()) return;
    SeedTrust();
    privacy_ = privacy::PrivacyService::NewStub(channel());
    for (const char* staff : {"t1", "t2", "t3"}) {
      Observe(staff);
      SetGoal(staff);
    }
    Leave("t1", Day(30));
    Leave("t2", Day(200));
  }

  static absl::Time Day(int days) {
    return RegisteredAt() + absl::Hours(24 * days);
  }

  void Observe(const std::string& staff) {
    auto stub = cpd::ObservationService::NewStub(channel());
    cpd::RecordObservationRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(5), request.mutable_occurred_at());
    auto* o = request.mutable_observation();
    o->set_observation_id("obs-" + staff);
    o->set_observed_staff_id(staff);
    o->set_observer_staff_id("t4");
    o->set_kind(cpd::OBSERVATION_KIND_FORMAL);
    o->add_development_points("questioning");
    o->mutable_notes()->set_text("Observation notes about " + staff);
    cpd::RecordResponse response;
    grpc::Status s =
        stub->RecordObservation(Context().get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void SetGoal(const std::string& staff) {
    auto stub = cpd::AppraisalService::NewStub(channel());
    cpd::SetAppraisalGoalRequest request;
    request.set_request_id(NewRequestId());
    SetTime(Day(6), request.mutable_occurred_at());
    auto* g = request.mutable_goal();
    g->set_goal_id("goal-" + staff);
    g->set_staff_id(staff);
    g->set_set_by_staff_id("t4");
    g->add_areas("questioning");
    g->mutable_description()->set_text("Appraisal goal of " + staff);
    SetTime(Day(100), g->mutable_review_due());
    cpd::RecordResponse response;
    grpc::Status s =
        stub->SetAppraisalGoal(Context().get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // Whether the observation / goal text of `staff` reads as erased.
  bool ObservationErased(const std::string& staff) {
    auto events = StreamEvents("observation-obs-" + staff);
    EXPECT_EQ(events.size(), 1u);
    const auto& notes = events.at(0).observation_recorded().notes();
    if (!notes.erased()) {
      EXPECT_EQ(notes.text(), "Observation notes about " + staff);
    }
    return notes.erased();
  }
  bool GoalErased(const std::string& staff) {
    auto events = StreamEvents("goal-goal-" + staff);
    EXPECT_EQ(events.size(), 1u);
    const auto& text = events.at(0).appraisal_goal_set().description();
    if (!text.erased()) {
      EXPECT_EQ(text.text(), "Appraisal goal of " + staff);
    }
    return text.erased();
  }

  // (staff, kind) pairs a run erased.
  static std::set<std::pair<std::string, int>> Erased(
      const privacy::RunRetentionResponse& report) {
    std::set<std::pair<std::string, int>> out;
    for (const auto& e : report.erased()) {
      for (int kind : e.kinds()) out.emplace(e.staff_id(), kind);
    }
    return out;
  }

  std::unique_ptr<services::privacy::BusDisclosure> bus_disclosure_;
  services::privacy::PrivacyService* privacy_service_ = nullptr;
  std::unique_ptr<privacy::PrivacyService::Stub> privacy_;
};

TEST_F(RetentionTest, ErasesExactlyWhatIsDue) {
  privacy::SetRetentionScheduleRequest set;
  set.set_request_id("schedule-1");
  auto* appraisal = set.mutable_schedule()->add_rules();
  appraisal->set_kind(cpd::PERSONAL_DATA_KIND_APPRAISAL);
  appraisal->set_years_after_leaving(1);
  auto* observation = set.mutable_schedule()->add_rules();
  observation->set_kind(cpd::PERSONAL_DATA_KIND_OBSERVATION);
  observation->set_years_after_leaving(2);
  privacy::RetentionSchedule set_reply;
  grpc::Status status =
      privacy_->SetRetentionSchedule(Context().get(), set, &set_reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(set_reply.position(), Head());

  privacy::RetentionSchedule shown;
  ASSERT_TRUE(privacy_->GetRetentionSchedule(Context().get(), {}, &shown).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(shown, set_reply));

  // t1 left on day 30, t2 on day 200, t3 stays. One year after day 30 and
  // before day 200 + 1 year: only t1's appraisal text is due.
  auto report =
      privacy_service_->RunRetentionFor(kTrust, "run-1", Day(30 + 366 + 10));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->leavers_checked(), 2u);
  EXPECT_EQ(Erased(*report), (std::set<std::pair<std::string, int>>{
                                 {"t1", cpd::PERSONAL_DATA_KIND_APPRAISAL}}));
  EXPECT_TRUE(GoalErased("t1"));
  EXPECT_FALSE(ObservationErased("t1"));
  EXPECT_FALSE(GoalErased("t2"));
  EXPECT_FALSE(ObservationErased("t2"));
  EXPECT_FALSE(GoalErased("t3"));
  EXPECT_FALSE(ObservationErased("t3"));

  // Running again as of the same time erases nothing more.
  report =
      privacy_service_->RunRetentionFor(kTrust, "run-2", Day(30 + 366 + 10));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->erased().empty());

  // Two years after t1 left (and over a year after t2 did): t1's
  // observation notes and t2's appraisal text; t2's observation notes are
  // kept until two years after day 200.
  report = privacy_service_->RunRetentionFor(kTrust, "run-3",
                                             Day(30 + 2 * 366 + 10));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(Erased(*report), (std::set<std::pair<std::string, int>>{
                                 {"t1", cpd::PERSONAL_DATA_KIND_OBSERVATION},
                                 {"t2", cpd::PERSONAL_DATA_KIND_APPRAISAL}}));
  EXPECT_TRUE(ObservationErased("t1"));
  EXPECT_TRUE(GoalErased("t2"));
  EXPECT_FALSE(ObservationErased("t2"));
  EXPECT_FALSE(GoalErased("t3"));
  EXPECT_FALSE(ObservationErased("t3"));

  // Names are kept: no rule for staff details.
  auto joined = StreamEvents("staff-t1");
  ASSERT_FALSE(joined.empty());
  EXPECT_FALSE(joined.front().staff_member_joined().personal().erased());

  // Each erasure is an audited event of the "privacy" stream.
  auto privacy_events = store()->ReadStream(kTrust, "privacy", 0, false, 100);
  ASSERT_TRUE(privacy_events.ok());
  ASSERT_EQ(privacy_events->size(), 1u + 1u + 2u);  // Schedule + erasures.
  EXPECT_EQ(privacy_events->at(0).record.type(), "RetentionScheduleSet");
  EXPECT_EQ(privacy_events->at(1).record.type(), "PersonalDataErased");

  // And each is entered in the access log, by the retention schedule (no
  // credential ran these), naming the person by id. (The reads of t1's
  // streams above are entered too, by the admin.)
  auto access = auth_store()->ListAccess(kTrust, "t1", absl::UnixEpoch(), 100);
  ASSERT_TRUE(access.ok()) << access.status();
  std::vector<authv1::AccessEntry> erasures;
  for (const authv1::AccessEntry& entry : *access) {
    EXPECT_EQ(entry.subject_staff_id(), "t1");
    if (entry.accessor().name() == "retention schedule") {
      erasures.push_back(entry);
    } else {
      EXPECT_EQ(entry.method(),
                "/throughline.eventstore.v1.EventStore/ReadStream");
    }
  }
  ASSERT_EQ(erasures.size(), 2u);
  for (const authv1::AccessEntry& entry : erasures) {
    EXPECT_EQ(entry.method(),
              "/throughline.privacy.v1.PrivacyService/RunRetention");
  }
  EXPECT_NE(erasures[0].detail().find("PERSONAL_DATA_KIND_APPRAISAL"),
            std::string::npos)
      << erasures[0].detail();
  EXPECT_NE(erasures[1].detail().find("PERSONAL_DATA_KIND_OBSERVATION"),
            std::string::npos)
      << erasures[1].detail();

  // Through the RPC, now (long after): t2's observation notes are due too.
  privacy::RunRetentionRequest run;
  run.set_request_id("run-rpc");
  privacy::RunRetentionResponse via_rpc;
  status = privacy_->RunRetention(Context().get(), run, &via_rpc);
  ASSERT_TRUE(status.ok()) << status.error_message();
  if (absl::Now() >= Day(200 + 2 * 366)) {
    EXPECT_EQ(Erased(via_rpc),
              (std::set<std::pair<std::string, int>>{
                  {"t2", cpd::PERSONAL_DATA_KIND_OBSERVATION}}));
  }
  // A retry returns the first run's report.
  privacy::RunRetentionResponse retried;
  ASSERT_TRUE(privacy_->RunRetention(Context().get(), run, &retried).ok());
  EXPECT_EQ(Erased(retried), Erased(via_rpc));
}

}  // namespace
}  // namespace throughline::testing
