#include "fuzz/harness.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/test/server_context_test_spouse.h"
#include "services/auth/gate.h"
#include "throughline/auth/v1/auth.pb.h"

namespace throughline::fuzz {
namespace {

// Inputs between two recyclings of the sandbox's store.
constexpr uint64_t kRecycleEvery = 2000;

void IgnoreLog(google::protobuf::LogLevel, const char*, int,
               const std::string&) {}

void IgnoreGrpcLog(gpr_log_func_args*) {}

}  // namespace

void Fail(const char* file, int line, const char* condition,
          const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n%s\n", file, line,
               condition, detail.c_str());
  std::fflush(stderr);
  abort();
}

std::vector<Frame> SplitFrames(absl::string_view input, size_t max_frames) {
  std::vector<Frame> frames;
  while (input.size() >= 3 && frames.size() < max_frames) {
    Frame frame;
    frame.tag = static_cast<uint8_t>(input[0]);
    const size_t length =
        static_cast<uint8_t>(input[1]) |
        (static_cast<size_t>(static_cast<uint8_t>(input[2])) << 8);
    input.remove_prefix(3);
    frame.body = input.substr(0, length);
    input.remove_prefix(frame.body.size());
    frames.push_back(frame);
  }
  return frames;
}

void AppendFrame(uint8_t tag, absl::string_view body, std::string* out) {
  body = body.substr(0, 65535);
  out->push_back(static_cast<char>(tag));
  out->push_back(static_cast<char>(body.size() & 0xff));
  out->push_back(static_cast<char>(body.size() >> 8));
  out->append(body.data(), body.size());
}

void QuietLogs() {
  google::protobuf::SetLogHandler(&IgnoreLog);
  gpr_set_log_function(&IgnoreGrpcLog);
}

Silos::Silos(services::cpd::CommandRunner* runner)
    : organisation(runner),
      staff(runner),
      observation(runner),
      coaching(runner),
      appraisal(runner),
      programme(runner),
      planning(runner) {}

Sandbox::Sandbox(bool with_views) : with_views_(with_views) { Open(); }

Sandbox::~Sandbox() { Close(); }

void Sandbox::Open() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
      "/throughline-fuzz-XXXXXX";
  FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
  dir_ = pattern;

  eventstore::EventStoreOptions options;
  options.path = dir_ + "/log";
  // Durability is not what is fuzzed; syncing would only slow every input.
  options.sync = false;
  options.block_cache_bytes = 8 << 20;
  absl::StatusOr<std::unique_ptr<eventstore::EventStore>> store =
      eventstore::EventStore::Open(options);
  FUZZ_CHECK(store.ok(), store.status().ToString());
  store_ = *std::move(store);
  absl::StatusOr<std::unique_ptr<services::auth::AuthStore>> auth =
      services::auth::AuthStore::Open(dir_ + "/auth");
  FUZZ_CHECK(auth.ok(), auth.status().ToString());
  auth_ = *std::move(auth);
  gate_ = std::make_unique<services::auth::Gate>(auth_.get());
  // A fixed master key: what is fuzzed is sealing, not key management.
  personal_data_ = std::make_unique<services::privacy::PersonalData>(
      store_.get(), std::string(services::privacy::kKeyBytes, 'k'));
  runner_ = std::make_unique<services::cpd::CommandRunner>(
      store_.get(), personal_data_.get());
  silos_ = std::make_unique<Silos>(runner_.get());
  event_store_service_ =
      std::make_unique<services::EventStoreService>(store_.get(), auth_.get());

  grpc::ServerBuilder builder;
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(gate_->NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(event_store_service_.get());
  server_ = builder.BuildAndStart();
  FUZZ_CHECK(server_ != nullptr, "the in-process server did not start");
  stub_ = services::v1::EventStore::NewStub(
      server_->InProcessChannel(grpc::ChannelArguments()));

  if (with_views_) {
    absl::StatusOr<std::unique_ptr<projections::FactStore>> facts =
        projections::FactStore::Open(dir_ + "/views");
    FUZZ_CHECK(facts.ok(), facts.status().ToString());
    facts_ = *std::move(facts);
    // Not started: the event fuzzer drives CatchUp itself.
    projector_ =
        std::make_unique<projections::Projector>(store_.get(), facts_.get());
  }
}

void Sandbox::Close() {
  projector_.reset();
  facts_.reset();
  stub_.reset();
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
  event_store_service_.reset();
  silos_.reset();
  runner_.reset();
  personal_data_.reset();
  gate_.reset();
  auth_.reset();
  if (store_ != nullptr) store_->Shutdown();
  store_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string Sandbox::NextTrust() {
  if (inputs_ > 0 && inputs_ % kRecycleEvery == 0) {
    Close();
    Open();
  }
  trust_ = absl::StrCat("trust-", inputs_++);
  ::throughline::auth::v1::CreateTokenRequest request;
  request.set_request_id(trust_);
  request.mutable_principal()->set_trust(trust_);
  request.mutable_principal()->set_role(::throughline::auth::v1::ROLE_ADMIN);
  absl::StatusOr<services::auth::IssuedToken> issued =
      auth_->Create(request, "fuzz", "fuzz", absl::Now());
  FUZZ_CHECK(issued.ok(), issued.status().ToString());
  token_ = issued->secret;
  return trust_;
}

const std::string& Sandbox::TokenFor(const std::string& trust) const {
  FUZZ_CHECK(trust == trust_, trust);
  return token_;
}

uint64_t Sandbox::Head(const std::string& trust) {
  absl::StatusOr<uint64_t> head = store_->HeadPosition(trust);
  FUZZ_CHECK(head.ok(), head.status().ToString());
  return *head;
}

struct DirectContext::Spouse {
  explicit Spouse(grpc::ServerContext* context) : spouse(context) {}
  grpc::testing::ServerContextTestSpouse spouse;
};

DirectContext::DirectContext(const Sandbox& sandbox, const std::string& method,
                             const std::string& trust, const std::string& actor,
                             const std::string& source_platform,
                             const std::string& correlation_id)
    : spouse_(std::make_unique<Spouse>(&context_)) {
  spouse_->spouse.AddClientMetadata(
      "authorization", absl::StrCat("Bearer ", sandbox.TokenFor(trust)));
  const std::pair<const char*, const std::string*> optional[] = {
      {services::cpd::kActorMetadataKey, &actor},
      {services::cpd::kSourcePlatformMetadataKey, &source_platform},
      {services::cpd::kCorrelationMetadataKey, &correlation_id},
  };
  for (const auto& [key, value] : optional) {
    if (!value->empty()) spouse_->spouse.AddClientMetadata(key, *value);
  }
  // What the server's interceptor would add: the gate's verdict.
  auto [key, verdict] = sandbox.gate().VerdictEntry(
      method, context_.client_metadata(), /*auth_context=*/nullptr);
  spouse_->spouse.AddClientMetadata(key, verdict);
}

// The spouse points into the context's metadata; it goes first.
DirectContext::~DirectContext() = default;

namespace {

using google::protobuf::Message;
namespace cpd_v1 = ::throughline::cpd::v1;
namespace es_v1 = ::throughline::eventstore::v1;

// "/package.Service/Method" for an Rpc's "Service.Method".
std::string FullMethod(absl::string_view name) {
  const size_t dot = name.find('.');
  FUZZ_CHECK(dot != absl::string_view::npos, std::string(name));
  const absl::string_view service = name.substr(0, dot);
  return absl::StrCat("/",
                      service == "EventStore" ? "throughline.eventstore.v1"
                                              : "throughline.cpd.v1",
                      ".", service, "/", name.substr(dot + 1));
}

// A unary RPC of a synchronous service, called directly.
template <typename Service, typename Request, typename Response>
Rpc Direct(std::string name, Service* (*service)(Sandbox&),
           grpc::Status (Service::*method)(grpc::ServerContext*, const Request*,
                                           Response*)) {
  Rpc rpc;
  rpc.name = std::move(name);
  rpc.new_request = [] { return std::make_unique<Request>(); };
  const std::string full_method = FullMethod(rpc.name);
  rpc.call = [service, method, full_method](Sandbox& sandbox,
                                            const CallMetadata& metadata,
                                            const Message& request) {
    DirectContext context(sandbox, full_method, metadata.trust, metadata.actor,
                          metadata.source_platform, metadata.correlation_id);
    Response response;
    CallResult result;
    result.status = (service(sandbox)->*method)(
        context.get(), static_cast<const Request*>(&request), &response);
    if constexpr (std::is_same_v<Response, cpd_v1::RecordResponse>) {
      result.writes = true;
      if (result.status.ok() && !response.already_applied()) {
        result.appended = static_cast<uint64_t>(response.event_ids_size());
        FUZZ_CHECK(response.last_position() - response.first_position() + 1 ==
                           result.appended ||
                       result.appended == 0,
                   response.DebugString());
      }
    }
    return result;
  };
  return rpc;
}

// Sets the credential of `metadata`'s trust and a deadline on a call over
// the in-process channel.
void PrepareChannelCall(Sandbox& sandbox, const CallMetadata& metadata,
                        grpc::ClientContext* context) {
  context->AddMetadata(
      "authorization",
      absl::StrCat("Bearer ", sandbox.TokenFor(metadata.trust)));
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
}

// EventStore.Append: a callback method, so it goes over the in-process
// channel like a real call.
Rpc Append() {
  Rpc rpc;
  rpc.name = "EventStore.Append";
  rpc.new_request = [] { return std::make_unique<es_v1::AppendRequest>(); };
  rpc.call = [](Sandbox& sandbox, const CallMetadata& metadata,
                const Message& request) {
    grpc::ClientContext context;
    PrepareChannelCall(sandbox, metadata, &context);
    es_v1::AppendResponse response;
    CallResult result;
    result.writes = true;
    result.status = sandbox.event_store_stub()->Append(
        &context, static_cast<const es_v1::AppendRequest&>(request), &response);
    if (result.status.ok() && !response.already_stored()) {
      result.appended =
          response.last_position() - response.first_position() + 1;
    }
    return result;
  };
  return rpc;
}

// EventStore.ReadAll: a raw callback method (its reply is written from the
// stored bytes), so it too goes over the in-process channel.
Rpc ReadAll() {
  Rpc rpc;
  rpc.name = "EventStore.ReadAll";
  rpc.new_request = [] { return std::make_unique<es_v1::ReadAllRequest>(); };
  rpc.call = [](Sandbox& sandbox, const CallMetadata& metadata,
                const Message& request) {
    grpc::ClientContext context;
    PrepareChannelCall(sandbox, metadata, &context);
    es_v1::ReadAllResponse response;
    CallResult result;
    result.status = sandbox.event_store_stub()->ReadAll(
        &context, static_cast<const es_v1::ReadAllRequest&>(request),
        &response);
    return result;
  };
  return rpc;
}

template <typename S>
using Get = S* (*)(Sandbox&);

}  // namespace

const std::vector<Rpc>& Rpcs() {
  using services::EventStoreService;
  using services::cpd::AppraisalService;
  using services::cpd::CoachingService;
  using services::cpd::CpdProgrammeService;
  using services::cpd::ObservationService;
  using services::cpd::OrganisationService;
  using services::cpd::PlanningService;
  using services::cpd::StaffDirectoryService;
  static const Get<OrganisationService> organisation = [](Sandbox& s) {
    return &s.silos()->organisation;
  };
  static const Get<StaffDirectoryService> staff = [](Sandbox& s) {
    return &s.silos()->staff;
  };
  static const Get<ObservationService> observation = [](Sandbox& s) {
    return &s.silos()->observation;
  };
  static const Get<CoachingService> coaching = [](Sandbox& s) {
    return &s.silos()->coaching;
  };
  static const Get<AppraisalService> appraisal = [](Sandbox& s) {
    return &s.silos()->appraisal;
  };
  static const Get<CpdProgrammeService> programme = [](Sandbox& s) {
    return &s.silos()->programme;
  };
  static const Get<PlanningService> planning = [](Sandbox& s) {
    return &s.silos()->planning;
  };
  static const Get<EventStoreService> event_store = [](Sandbox& s) {
    return s.event_store_service();
  };
  static const auto* rpcs = new std::vector<Rpc>{
      Direct("OrganisationService.RegisterTrust", organisation,
             &OrganisationService::RegisterTrust),
      Direct("OrganisationService.AddSchool", organisation,
             &OrganisationService::AddSchool),
      Direct("OrganisationService.AddDepartment", organisation,
             &OrganisationService::AddDepartment),
      Direct("OrganisationService.AddDevelopmentArea", organisation,
             &OrganisationService::AddDevelopmentArea),
      Direct("OrganisationService.RelabelDevelopmentArea", organisation,
             &OrganisationService::RelabelDevelopmentArea),
      Direct("OrganisationService.RetireDevelopmentArea", organisation,
             &OrganisationService::RetireDevelopmentArea),
      Direct("OrganisationService.ListDevelopmentAreas", organisation,
             &OrganisationService::ListDevelopmentAreas),
      Direct("StaffDirectoryService.RecordStaffJoined", staff,
             &StaffDirectoryService::RecordStaffJoined),
      Direct("StaffDirectoryService.RecordStaffMoved", staff,
             &StaffDirectoryService::RecordStaffMoved),
      Direct("StaffDirectoryService.RecordStaffLeft", staff,
             &StaffDirectoryService::RecordStaffLeft),
      Direct("ObservationService.RecordObservation", observation,
             &ObservationService::RecordObservation),
      Direct("ObservationService.RecordLearningWalk", observation,
             &ObservationService::RecordLearningWalk),
      Direct("CoachingService.RecordCoachingConversation", coaching,
             &CoachingService::RecordCoachingConversation),
      Direct("AppraisalService.SetAppraisalGoal", appraisal,
             &AppraisalService::SetAppraisalGoal),
      Direct("AppraisalService.ReviewAppraisalGoal", appraisal,
             &AppraisalService::ReviewAppraisalGoal),
      Direct("CpdProgrammeService.LaunchProgramme", programme,
             &CpdProgrammeService::LaunchProgramme),
      Direct("CpdProgrammeService.PlanSession", programme,
             &CpdProgrammeService::PlanSession),
      Direct("CpdProgrammeService.RecordSessionHeld", programme,
             &CpdProgrammeService::RecordSessionHeld),
      Direct("CpdProgrammeService.EvidenceFollowUp", programme,
             &CpdProgrammeService::EvidenceFollowUp),
      Direct("CpdProgrammeService.ShareEnquiryFindings", programme,
             &CpdProgrammeService::ShareEnquiryFindings),
      Direct("PlanningService.AdoptImprovementPriority", planning,
             &PlanningService::AdoptImprovementPriority),
      Direct("PlanningService.CloseImprovementPriority", planning,
             &PlanningService::CloseImprovementPriority),
      Direct("PlanningService.AllocateCpdTime", planning,
             &PlanningService::AllocateCpdTime),
      Direct("PlanningService.RecordMeetingTimeRepurposed", planning,
             &PlanningService::RecordMeetingTimeRepurposed),
      Direct("PlanningService.SetCpdBudget", planning,
             &PlanningService::SetCpdBudget),
      Direct("PlanningService.RecordCpdSpend", planning,
             &PlanningService::RecordCpdSpend),
      Direct("PlanningService.IdentifyTrainingNeed", planning,
             &PlanningService::IdentifyTrainingNeed),
      Direct("PlanningService.RecordCpdDecision", planning,
             &PlanningService::RecordCpdDecision),
      Direct("PlanningService.RecordImpactEvaluation", planning,
             &PlanningService::RecordImpactEvaluation),
      Append(),
      Direct("EventStore.ReadStream", event_store,
             &EventStoreService::ReadStream),
      ReadAll(),
      Direct("EventStore.GetStream", event_store,
             &EventStoreService::GetStream),
      Direct("EventStore.GetLogInfo", event_store,
             &EventStoreService::GetLogInfo),
      Direct("EventStore.Verify", event_store, &EventStoreService::Verify),
  };
  return *rpcs;
}

}  // namespace throughline::fuzz
