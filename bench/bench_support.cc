#include "bench/bench_support.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "projections/cpd_codec.h"
#include "services/server.h"
#include "services/server_config.h"

namespace throughline::bench {
namespace {

namespace cpd = ::throughline::cpd::v1;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Events that set up the organisation: written once, in the oldest year.
bool IsOrganisation(const cpd::CpdEvent& event) {
  switch (event.event_case()) {
    case cpd::CpdEvent::kTrustRegistered:
    case cpd::CpdEvent::kSchoolAdded:
    case cpd::CpdEvent::kDepartmentAdded:
    case cpd::CpdEvent::kDevelopmentAreaAdded:
    case cpd::CpdEvent::kDevelopmentAreaRelabelled:
    case cpd::CpdEvent::kDevelopmentAreaRetired:
      return true;
    default:
      return false;
  }
}

// Ids that name a record of one year (everything but the organisation).
bool IsYearId(const FieldDescriptor& field) {
  const std::string& name = field.name();
  if (name == "school_id" || name == "department_id" ||
      name == "department_ids") {
    return false;
  }
  return absl::EndsWith(name, "_id") || absl::EndsWith(name, "_ids");
}

// "2025-26" shifted by `years`; other text unchanged.
std::string ShiftAcademicYear(const std::string& text, int years) {
  int start = 0;
  if (text.size() != 7 || text[4] != '-' ||
      !absl::SimpleAtoi(text.substr(0, 4), &start)) {
    return text;
  }
  start += years;
  return absl::StrFormat("%04d-%02d", start, (start + 1) % 100);
}

// Rewrites one year's copy of an event: ids suffixed, times shifted, cited
// positions mapped.
class YearRewriter {
 public:
  YearRewriter(int years_back, std::string suffix,
               const std::vector<uint64_t>* positions)
      : years_back_(years_back),
        suffix_(std::move(suffix)),
        positions_(positions) {}

  absl::Time Shift(absl::Time t) const { return ShiftYears(t, -years_back_); }

  void Rewrite(Message* message) const {
    if (auto* evidence =
            google::protobuf::DynamicCastToGenerated<cpd::EvidenceReference>(
                message)) {
      RewriteEvidence(evidence);
      return;
    }
    if (auto* timestamp = google::protobuf::DynamicCastToGenerated<
            google::protobuf::Timestamp>(message)) {
      const absl::Time t = Shift(absl::FromUnixSeconds(timestamp->seconds()) +
                                 absl::Nanoseconds(timestamp->nanos()));
      const int64_t seconds = absl::ToUnixSeconds(t);
      timestamp->set_seconds(seconds);
      timestamp->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
      return;
    }
    const Reflection* reflection = message->GetReflection();
    std::vector<const FieldDescriptor*> fields;
    reflection->ListFields(*message, &fields);
    for (const FieldDescriptor* field : fields) {
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (field->is_repeated()) {
          for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
            Rewrite(reflection->MutableRepeatedMessage(message, field, i));
          }
        } else {
          Rewrite(reflection->MutableMessage(message, field));
        }
        continue;
      }
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) continue;
      if (field->name() == "academic_year" && !field->is_repeated()) {
        reflection->SetString(
            message, field,
            ShiftAcademicYear(reflection->GetString(*message, field),
                              -years_back_));
        continue;
      }
      if (!IsYearId(*field)) continue;
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          const std::string id =
              reflection->GetRepeatedString(*message, field, i);
          if (!id.empty()) {
            reflection->SetRepeatedString(message, field, i, id + suffix_);
          }
        }
      } else {
        const std::string id = reflection->GetString(*message, field);
        if (!id.empty()) reflection->SetString(message, field, id + suffix_);
      }
    }
  }

 private:
  void RewriteEvidence(cpd::EvidenceReference* evidence) const {
    for (std::string& id : *evidence->mutable_record_ids()) id += suffix_;
    for (auto& [key, value] : *evidence->mutable_parameters()) {
      if (key != "from" && key != "to" && key != "as_of_time") continue;
      absl::Time t;
      std::string error;
      if (absl::ParseTime(absl::RFC3339_full, value, &t, &error)) {
        value =
            absl::FormatTime(absl::RFC3339_full, Shift(t), absl::UTCTimeZone());
      }
    }
    if (evidence->log_position() > 0 &&
        evidence->log_position() < positions_->size()) {
      evidence->set_log_position((*positions_)[evidence->log_position()]);
    }
  }

  const int years_back_;
  const std::string suffix_;
  const std::vector<uint64_t>* const positions_;
};

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/",
                                     prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    pattern = absl::StrCat("/tmp/", prefix, "-", getpid());
    std::filesystem::create_directories(pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string MakeUuid(uint64_t hi, uint64_t lo) {
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32,
                         (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                         lo & 0xffffffffffffull);
}

absl::Time ShiftYears(absl::Time t, int years) {
  if (years == 0) return t;
  const absl::CivilSecond civil = absl::ToCivilSecond(t, absl::UTCTimeZone());
  const absl::Duration fraction =
      t - absl::FromCivil(civil, absl::UTCTimeZone());
  const absl::CivilSecond shifted(civil.year() + years, civil.month(),
                                  civil.day(), civil.hour(), civil.minute(),
                                  civil.second());
  return absl::FromCivil(shifted, absl::UTCTimeZone()) + fraction;
}

absl::StatusOr<std::vector<eventstore::RecordedEvent>> RecordDemo(
    const cli::DemoOptions& options, const std::string& dir,
    const std::string& tenant) {
  absl::StatusOr<cli::DemoPlan> plan = cli::GenerateDemo(options);
  if (!plan.ok()) return plan.status();
  services::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir;
  absl::StatusOr<std::unique_ptr<services::Server>> server =
      services::Server::Start(config);
  if (!server.ok()) return server.status();
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  // An admin credential of the trust, straight from the server's store.
  ::throughline::auth::v1::CreateTokenRequest token_request;
  token_request.set_request_id(absl::StrCat("bench-", tenant));
  token_request.mutable_principal()->set_name("bench");
  token_request.mutable_principal()->set_role(
      ::throughline::auth::v1::ROLE_ADMIN);
  token_request.mutable_principal()->set_trust(tenant);
  absl::StatusOr<services::auth::IssuedToken> token =
      (*server)->auth_store()->Create(token_request, "bench", "bench",
                                      absl::Now());
  if (!token.ok()) return token.status();
  cli::CallMetadata metadata;
  metadata.token = token->secret;
  metadata.actor = "bench";
  const cli::DemoOutcome outcome =
      cli::SendDemo(channel, *plan, metadata, absl::Seconds(60));
  if (outcome.failed_call.has_value()) {
    return absl::InternalError(
        absl::StrCat("demo call ", *outcome.failed_call, " (",
                     plan->calls[*outcome.failed_call].rpc,
                     ") failed: ", outcome.failure.error_message()));
  }
  std::vector<eventstore::RecordedEvent> log;
  uint64_t next = 1;
  for (;;) {
    absl::StatusOr<eventstore::LogPage> page = (*server)->store()->ReadLog(
        tenant, next, eventstore::LogFilter(), 10000, size_t{1} << 30);
    if (!page.ok()) return page.status();
    if (page->events.empty()) break;
    next = page->next_position;
    for (eventstore::RecordedEvent& event : page->events) {
      log.push_back(std::move(event));
    }
  }
  (*server)->Shutdown();
  return log;
}

std::vector<projections::Fact> ToFacts(
    const std::vector<eventstore::RecordedEvent>& log) {
  std::vector<projections::Fact> facts;
  facts.reserve(log.size());
  for (const eventstore::RecordedEvent& event : log) {
    absl::StatusOr<cpd::CpdEvent> decoded =
        projections::DecodeCpdEvent(event.record);
    if (!decoded.ok()) continue;
    projections::Fact fact;
    fact.position = event.position;
    fact.occurred_at = absl::FromUnixMicros(event.record.occurred_at_micros());
    fact.recorded_at = absl::FromUnixMicros(event.record.recorded_at_micros());
    fact.event = *std::move(decoded);
    facts.push_back(std::move(fact));
  }
  return facts;
}

TrustYears::TrustYears(std::vector<eventstore::RecordedEvent> demo_year)
    : demo_(std::move(demo_year)) {
  uint64_t organisation = 0;
  absl::flat_hash_set<std::string> staying;
  for (const eventstore::RecordedEvent& event : demo_) {
    absl::StatusOr<cpd::CpdEvent> decoded =
        projections::DecodeCpdEvent(event.record);
    if (!decoded.ok()) continue;
    if (IsOrganisation(*decoded)) ++organisation;
    if (decoded->has_staff_member_joined()) {
      staying.insert(decoded->staff_member_joined().staff_id());
    } else if (decoded->has_staff_member_left()) {
      staying.erase(decoded->staff_member_left().staff_id());
    }
  }
  const uint64_t leavers = staying.size();
  first_year_events_ = demo_.size() + leavers;
  middle_year_events_ = demo_.size() - organisation + leavers;
  last_year_events_ = demo_.size() - organisation;
}

int TrustYears::YearsFor(uint64_t events) const {
  if (demo_.size() >= events || middle_year_events_ == 0) return 1;
  int years = 2;
  while (first_year_events_ + (years - 2) * middle_year_events_ +
             last_year_events_ <
         events) {
    ++years;
  }
  return years;
}

uint64_t TrustYears::Generate(
    int years, uint64_t max_events, const std::string& tenant,
    const std::function<void(eventstore::AppendRequest)>& append) const {
  if (demo_.empty()) return 0;
  const absl::Time registered =
      absl::FromUnixMicros(demo_.front().record.occurred_at_micros());
  std::vector<uint64_t> positions(demo_.back().position + 1, 0);
  uint64_t proposed = 0;
  for (int year = 0; year < years && proposed < max_events; ++year) {
    const int years_back = years - 1 - year;
    const bool first = year == 0;
    const bool last = year == years - 1;
    const std::string suffix = absl::StrCat("-y", year);
    const YearRewriter rewriter(years_back, suffix, &positions);
    std::vector<std::string> joined;  // In order of joining, once each.
    absl::flat_hash_set<std::string> joined_set, left;
    for (const eventstore::RecordedEvent& original : demo_) {
      if (proposed >= max_events) break;
      const uint64_t p = original.position;
      absl::StatusOr<cpd::CpdEvent> decoded =
          projections::DecodeCpdEvent(original.record);
      if (!decoded.ok() || (!first && IsOrganisation(*decoded))) {
        if (p < positions.size()) positions[p] = proposed;
        continue;
      }
      const bool organisation = IsOrganisation(*decoded);
      if (!organisation) rewriter.Rewrite(&*decoded);
      if (decoded->has_staff_member_joined()) {
        const std::string& staff_id = decoded->staff_member_joined().staff_id();
        if (joined_set.insert(staff_id).second) joined.push_back(staff_id);
      } else if (decoded->has_staff_member_left()) {
        left.insert(decoded->staff_member_left().staff_id());
      }
      const eventstore::EventRecord& record = original.record;
      eventstore::AppendRequest request;
      request.tenant = tenant;
      request.stream = organisation ? record.stream()
                                    : absl::StrCat(record.stream(), suffix);
      eventstore::ProposedEvent event;
      projections::EncodeCpdEvent(*decoded, &event);
      event.event_id = MakeUuid(year + 1, p);
      event.correlation_id = record.correlation_id();
      event.causation_id = record.causation_id();
      event.actor = record.actor();
      event.source_platform = record.source_platform();
      event.occurred_at =
          rewriter.Shift(absl::FromUnixMicros(record.occurred_at_micros()));
      request.events.push_back(std::move(event));
      append(std::move(request));
      ++proposed;
      if (p < positions.size()) positions[p] = proposed;
    }
    if (last) break;
    // The year's staff leave the day before the next year starts.
    const absl::Time year_end =
        ShiftYears(registered, -years_back + 1) - absl::Hours(24);
    uint64_t leaver = 0;
    for (const std::string& staff_id : joined) {
      if (proposed >= max_events) break;
      if (left.contains(staff_id)) continue;
      cpd::CpdEvent leave;
      leave.mutable_staff_member_left()->set_staff_id(staff_id);
      eventstore::AppendRequest request;
      request.tenant = tenant;
      request.stream = absl::StrCat("staff-", staff_id);
      eventstore::ProposedEvent event;
      projections::EncodeCpdEvent(leave, &event);
      event.event_id = MakeUuid(year + 1, (uint64_t{1} << 40) + leaver++);
      event.actor = "bench";
      event.occurred_at = year_end;
      request.events.push_back(std::move(event));
      append(std::move(request));
      ++proposed;
    }
  }
  return proposed;
}

}  // namespace throughline::bench
