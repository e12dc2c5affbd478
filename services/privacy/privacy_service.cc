#include "services/privacy/privacy_service.h"

#include <iostream>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"
#include "projections/cpd_codec.h"
#include "services/auth/auth_service.h"
#include "services/grpc_status.h"
#include "services/tenant.h"
#include "services/timestamps.h"

namespace throughline::services::privacy {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr size_t kMaxRequestIdLength = 128;
constexpr uint32_t kMaxRetentionYears = 100;
constexpr size_t kExportPage = 1000;

absl::Status CheckRequestId(const std::string& request_id) {
  if (request_id.empty())
    return InvalidField("request_id", "must not be empty");
  if (request_id.size() > kMaxRequestIdLength) {
    return InvalidField(
        "request_id",
        absl::StrCat("longer than ", kMaxRequestIdLength, " characters"));
  }
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidField("request_id",
                          "must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckStaffId(const std::string& staff_id) {
  if (staff_id.empty()) return InvalidField("staff_id", "must not be empty");
  return absl::OkStatus();
}

std::string PrivacyContentType(const Message& event) {
  return absl::StrCat("application/x-protobuf; proto=",
                      event.GetDescriptor()->full_name());
}

// Parses a stored privacy event of type T; nullopt for another type.
template <typename T>
std::optional<T> ParsePrivacyEvent(const eventstore::EventRecord& record) {
  if (record.type() != T::descriptor()->name()) return std::nullopt;
  T event;
  if (!event.ParseFromString(record.data())) return std::nullopt;
  return event;
}

// Adds to `matched` the path of every field in `message` that names
// `staff_id` (a field called staff_id or line_manager_id, or ending in
// _staff_id(s)), or
// whose name is goal_id and value one of `goals`.
void MatchSubject(const Message& message, const std::string& path,
                  const std::string& staff_id,
                  const absl::flat_hash_set<std::string>& goals,
                  std::vector<std::string>* matched) {
  const google::protobuf::Reflection* r = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string here =
        path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < r->FieldSize(message, field); ++i) {
          MatchSubject(r->GetRepeatedMessage(message, field, i), here, staff_id,
                       goals, matched);
        }
      } else {
        MatchSubject(r->GetMessage(message, field), here, staff_id, goals,
                     matched);
      }
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) continue;
    const std::string& name = field->name();
    const bool names_staff = name == "staff_id" || name == "line_manager_id" ||
                             absl::EndsWith(name, "_staff_id") ||
                             absl::EndsWith(name, "_staff_ids");
    const bool names_goal = name == "goal_id";
    if (!names_staff && !names_goal) continue;
    auto hit = [&](const std::string& value) {
      return names_staff ? value == staff_id : goals.contains(value);
    };
    if (field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(message, field); ++i) {
        if (hit(r->GetRepeatedString(message, field, i))) {
          matched->push_back(here);
          break;
        }
      }
    } else if (hit(r->GetString(message, field))) {
      matched->push_back(here);
    }
  }
}

absl::Time AddYears(absl::Time t, uint32_t years) {
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  return absl::FromCivil(absl::CivilSecond(c.year() + years, c.month(), c.day(),
                                           c.hour(), c.minute(), c.second()),
                         absl::UTCTimeZone());
}

// The accessor named in the access-log entries of the retention schedule's
// own erasures, which no credential runs.
constexpr char kRetentionAccessor[] = "retention schedule";

std::string KindsText(const google::protobuf::RepeatedField<int>& kinds) {
  std::vector<std::string> names;
  for (int kind : kinds) {
    names.push_back(
        cpd::PersonalDataKind_Name(static_cast<cpd::PersonalDataKind>(kind)));
  }
  return names.empty() ? "nothing held" : absl::StrJoin(names, ", ");
}

}  // namespace

PrivacyService::PrivacyService(eventstore::EventStore* store,
                               services::cpd::CommandRunner* runner,
                               PersonalData* personal_data,
                               auth::AuthStore* access_log,
                               BusDisclosure* bus_disclosure)
    : store_(store),
      runner_(runner),
      access_log_(access_log),
      bus_disclosure_(bus_disclosure),
      personal_data_(personal_data) {}

absl::Status PrivacyService::RecordAccess(const std::string& tenant,
                                          const auth::Caller* caller,
                                          const std::string& staff_id,
                                          const std::string& method,
                                          const std::string& detail) {
  if (caller != nullptr) {
    return auth::RecordRead(access_log_, *caller, staff_id, detail);
  }
  auth::v1::AccessEntry entry;
  TimeToProto(absl::Now(), entry.mutable_time());
  entry.set_accessor_token_id(kRetentionAccessor);
  entry.mutable_accessor()->set_name(kRetentionAccessor);
  entry.mutable_accessor()->set_trust(tenant);
  entry.set_subject_staff_id(staff_id);
  entry.set_method(method);
  entry.set_detail(detail);
  return access_log_->RecordAccess(tenant, entry);
}

namespace {

// The refusal of a request id already used for a different request.
absl::Status RequestIdReused(const std::string& request_id) {
  return FieldError(
      absl::StatusCode::kAlreadyExists, "request_id",
      absl::StrCat("\"", request_id,
                   "\" was already used for a different request"));
}

}  // namespace

PrivacyService::~PrivacyService() { StopSchedule(); }

absl::StatusOr<uint64_t> PrivacyService::AppendPrivacyEvent(
    const std::string& tenant, const std::string& request_id, size_t index,
    const Message& event) {
  eventstore::AppendRequest append;
  append.tenant = tenant;
  append.stream = kPrivacyStream;
  eventstore::ProposedEvent proposed;
  proposed.event_id = services::cpd::RequestEventId(tenant, request_id, index);
  proposed.type = event.GetDescriptor()->name();
  proposed.content_type = PrivacyContentType(event);
  proposed.data = event.SerializeAsString();
  proposed.correlation_id = request_id;
  append.events.push_back(std::move(proposed));
  absl::StatusOr<eventstore::AppendResult> result =
      store_->Append(std::move(append));
  if (!result.ok()) return result.status();
  return result->first_position;
}

grpc::Status PrivacyService::EraseSubject(
    grpc::ServerContext* context, const pv1::EraseSubjectRequest* request,
    pv1::EraseSubjectResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status s = CheckRequestId(request->request_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = CheckStaffId(request->staff_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::MutexLock lock(&erase_mu_);
  // A retry: finish the first call's erasure (it may have stopped between
  // recording and destroying) and answer with its outcome.
  absl::StatusOr<std::optional<eventstore::RecordedEvent>> earlier =
      store_->FindEvent(*tenant, services::cpd::RequestEventId(
                                     *tenant, request->request_id(), 0));
  if (!earlier.ok()) return ToGrpcStatus(earlier.status());
  if (earlier->has_value()) {
    std::optional<pv1::PersonalDataErased> first =
        ParsePrivacyEvent<pv1::PersonalDataErased>((*earlier)->record);
    if (!first.has_value() || first->staff_id() != request->staff_id() ||
        first->reason() != pv1::ERASURE_REASON_REQUEST) {
      return ToGrpcStatus(RequestIdReused(request->request_id()));
    }
    absl::StatusOr<std::vector<cpd::PersonalDataKind>> erased =
        personal_data_->Erase(*tenant, request->staff_id(), {});
    if (!erased.ok()) return ToGrpcStatus(erased.status());
    if (absl::Status s = RecordAccess(
            *tenant, &*caller, request->staff_id(), caller->method,
            absl::StrCat("erasure (retried) of ", KindsText(first->kinds()),
                         " recorded at position ", (*earlier)->position));
        !s.ok()) {
      return ToGrpcStatus(s);
    }
    response->mutable_erased_kinds()->Add(first->kinds().begin(),
                                          first->kinds().end());
    response->set_position((*earlier)->position);
    response->set_already_applied(true);
    return grpc::Status::OK;
  }
  grpc::Status known = runner_->Read(
      *context, [&](const projections::TrustState& state) -> grpc::Status {
        if (!state.registered()) {
          return ToGrpcStatus(FieldError(absl::StatusCode::kFailedPrecondition,
                                         "tenant",
                                         "this trust is not registered"));
        }
        if (state.FindStaff(request->staff_id()) == nullptr) {
          return ToGrpcStatus(
              FieldError(absl::StatusCode::kNotFound, "staff_id",
                         absl::StrCat("unknown staff member \"",
                                      request->staff_id(), "\"")));
        }
        return grpc::Status::OK;
      });
  if (!known.ok()) return known;
  absl::StatusOr<std::vector<cpd::PersonalDataKind>> held =
      personal_data_->KindsHeld(*tenant, request->staff_id());
  if (!held.ok()) return ToGrpcStatus(held.status());
  // Recorded first, so that a failure before the keys are gone is finished
  // by a retry rather than forgotten.
  pv1::PersonalDataErased event;
  event.set_staff_id(request->staff_id());
  event.mutable_kinds()->Add(held->begin(), held->end());
  event.set_reason(pv1::ERASURE_REASON_REQUEST);
  absl::StatusOr<uint64_t> position =
      AppendPrivacyEvent(*tenant, request->request_id(), 0, event);
  if (!position.ok()) return ToGrpcStatus(position.status());
  absl::StatusOr<std::vector<cpd::PersonalDataKind>> erased =
      personal_data_->Erase(*tenant, request->staff_id(), {});
  if (!erased.ok()) return ToGrpcStatus(erased.status());
  // After the keys are gone: a failure here is answered as an error, and
  // the client's retry (same request_id) records it.
  if (absl::Status s =
          RecordAccess(*tenant, &*caller, request->staff_id(), caller->method,
                       absl::StrCat("erasure of ", KindsText(event.kinds()),
                                    " recorded at position ", *position));
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  response->mutable_erased_kinds()->Add(held->begin(), held->end());
  response->set_position(*position);
  return grpc::Status::OK;
}

grpc::Status PrivacyService::ExportSubject(
    grpc::ServerContext* context, const pv1::ExportSubjectRequest* request,
    pv1::ExportSubjectResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status s = CheckStaffId(request->staff_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  const std::string& staff_id = request->staff_id();
  grpc::Status known = runner_->Read(
      *context, [&](const projections::TrustState& state) -> grpc::Status {
        if (state.FindStaff(staff_id) == nullptr) {
          return ToGrpcStatus(FieldError(
              absl::StatusCode::kNotFound, "staff_id",
              absl::StrCat("unknown staff member \"", staff_id, "\"")));
        }
        return grpc::Status::OK;
      });
  if (!known.ok()) return known;
  absl::StatusOr<uint64_t> head = store_->HeadPosition(*tenant);
  if (!head.ok()) return ToGrpcStatus(head.status());
  // An export is a read of the person's data: entered before anything is
  // read (no entry, no export), so that the export lists itself.
  if (absl::Status s = RecordAccess(
          *tenant, &*caller, staff_id, caller->method,
          absl::StrCat("subject access export as of position ", *head));
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  response->set_staff_id(staff_id);
  response->set_as_of_position(*head);
  // Goals the subject owns: their reviews are about the subject too.
  absl::flat_hash_set<std::string> goals;
  uint64_t next = 1;
  while (next <= *head) {
    absl::StatusOr<eventstore::LogPage> page =
        store_->ReadLog(*tenant, next, eventstore::LogFilter(), kExportPage);
    if (!page.ok()) return ToGrpcStatus(page.status());
    for (const eventstore::RecordedEvent& recorded : page->events) {
      if (recorded.position > *head) break;
      const eventstore::EventRecord& record = recorded.record;
      if (record.stream() == kPrivacyStream) {
        std::optional<pv1::PersonalDataErased> erased =
            ParsePrivacyEvent<pv1::PersonalDataErased>(record);
        if (erased.has_value() && erased->staff_id() == staff_id) {
          *response->add_erasures() = *std::move(erased);
        }
        continue;
      }
      absl::StatusOr<cpd::CpdEvent> event = projections::DecodeCpdEvent(record);
      if (!event.ok()) continue;  // Not a CPD event.
      if (event->has_appraisal_goal_set() &&
          event->appraisal_goal_set().staff_id() == staff_id) {
        goals.insert(event->appraisal_goal_set().goal_id());
      }
      std::vector<std::string> matched;
      MatchSubject(*event, "", staff_id, goals, &matched);
      if (matched.empty()) continue;
      if (absl::Status s = personal_data_->Reveal(*tenant, &*event); !s.ok()) {
        return ToGrpcStatus(s);
      }
      pv1::SubjectEvent* out = response->add_events();
      out->set_position(recorded.position);
      if (record.event_id().size() == 16) {
        eventstore::Uuid uuid;
        std::copy_n(record.event_id().begin(), uuid.size(), uuid.begin());
        out->set_event_id(eventstore::FormatUuid(uuid));
      }
      out->set_stream(record.stream());
      out->set_type(record.type());
      TimeToProto(absl::FromUnixMicros(record.occurred_at_micros()),
                  out->mutable_occurred_at());
      TimeToProto(absl::FromUnixMicros(record.recorded_at_micros()),
                  out->mutable_recorded_at());
      out->set_actor(record.actor());
      for (std::string& field : matched) out->add_matched_fields(field);
      *out->mutable_event() = *std::move(event);
    }
    if (page->next_position <= next) break;
    next = page->next_position;
  }
  // Entries naming the person; reads of the whole log (no subject) hold
  // everyone's data and are left to ListAccess.
  absl::StatusOr<std::vector<auth::v1::AccessEntry>> access =
      access_log_->ListAccess(*tenant, staff_id, absl::UnixEpoch(),
                              std::numeric_limits<size_t>::max());
  if (!access.ok()) return ToGrpcStatus(access.status());
  for (auth::v1::AccessEntry& entry : *access) {
    if (entry.subject_staff_id() != staff_id) continue;
    *response->add_access() = std::move(entry);
  }
  return grpc::Status::OK;
}

absl::StatusOr<pv1::RetentionSchedule> PrivacyService::Schedule(
    const std::string& tenant) {
  pv1::RetentionSchedule schedule;
  absl::StatusOr<eventstore::StreamInfo> info =
      store_->GetStreamInfo(tenant, kPrivacyStream);
  if (absl::IsNotFound(info.status())) return schedule;
  if (!info.ok()) return info.status();
  // The latest RetentionScheduleSet, reading back from the end.
  uint64_t from = info->revision;
  for (;;) {
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
        store_->ReadStream(tenant, kPrivacyStream, from, /*backwards=*/true,
                           100);
    if (!events.ok()) return events.status();
    for (const eventstore::RecordedEvent& event : *events) {
      std::optional<pv1::RetentionScheduleSet> set =
          ParsePrivacyEvent<pv1::RetentionScheduleSet>(event.record);
      if (set.has_value()) {
        *schedule.mutable_rules() = set->rules();
        schedule.set_position(event.position);
        return schedule;
      }
    }
    if (events->empty() || events->back().record.revision() == 0) break;
    from = events->back().record.revision() - 1;
  }
  return schedule;
}

grpc::Status PrivacyService::SetRetentionSchedule(
    grpc::ServerContext* context,
    const pv1::SetRetentionScheduleRequest* request,
    pv1::RetentionSchedule* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (absl::Status s = CheckRequestId(request->request_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  pv1::RetentionScheduleSet event;
  absl::flat_hash_set<int> kinds;
  for (int i = 0; i < request->schedule().rules_size(); ++i) {
    const pv1::RetentionRule& rule = request->schedule().rules(i);
    const std::string field = absl::StrCat("schedule.rules[", i, "]");
    if (rule.kind() == cpd::PERSONAL_DATA_KIND_UNSPECIFIED ||
        !cpd::PersonalDataKind_IsValid(rule.kind())) {
      return ToGrpcStatus(
          InvalidField(field + ".kind", "must be a known kind of record"));
    }
    if (!kinds.insert(rule.kind()).second) {
      return ToGrpcStatus(InvalidField(
          field + ".kind", absl::StrCat(cpd::PersonalDataKind_Name(rule.kind()),
                                        " has more than one rule")));
    }
    if (rule.years_after_leaving() < 1 ||
        rule.years_after_leaving() > kMaxRetentionYears) {
      return ToGrpcStatus(
          InvalidField(field + ".years_after_leaving",
                       absl::StrCat("must be 1 to ", kMaxRetentionYears)));
    }
    *event.add_rules() = rule;
  }
  grpc::Status registered = runner_->Read(
      *context, [&](const projections::TrustState& state) -> grpc::Status {
        if (state.registered()) return grpc::Status::OK;
        return ToGrpcStatus(FieldError(absl::StatusCode::kFailedPrecondition,
                                       "tenant",
                                       "this trust is not registered"));
      });
  if (!registered.ok()) return registered;
  absl::StatusOr<uint64_t> position =
      AppendPrivacyEvent(*tenant, request->request_id(), 0, event);
  if (absl::IsAlreadyExists(position.status())) {
    return ToGrpcStatus(RequestIdReused(request->request_id()));
  }
  if (!position.ok()) return ToGrpcStatus(position.status());
  *response->mutable_rules() = event.rules();
  response->set_position(*position);
  return grpc::Status::OK;
}

grpc::Status PrivacyService::GetRetentionSchedule(
    grpc::ServerContext* context, const pv1::GetRetentionScheduleRequest*,
    pv1::RetentionSchedule* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<pv1::RetentionSchedule> schedule = Schedule(*tenant);
  if (!schedule.ok()) return ToGrpcStatus(schedule.status());
  *response = *std::move(schedule);
  return grpc::Status::OK;
}

absl::StatusOr<pv1::RunRetentionResponse> PrivacyService::RunRetentionFor(
    const std::string& tenant, const std::string& request_id, absl::Time now,
    const auth::Caller* caller) {
  absl::MutexLock lock(&erase_mu_);
  pv1::RunRetentionResponse report;
  TimeToProto(now, report.mutable_as_of());
  absl::StatusOr<pv1::RetentionSchedule> schedule = Schedule(tenant);
  if (!schedule.ok()) return schedule.status();
  // Leavers and the kinds due for each, as of now.
  struct Due {
    std::string staff_id;
    absl::Time left_at;
    std::vector<cpd::PersonalDataKind> kinds;
  };
  std::vector<Due> due;
  absl::Status read =
      runner_->ReadTenant(tenant, [&](const projections::TrustState& state) {
        for (const auto& [id, member] : state.staff()) {
          if (!member.left_at.has_value()) continue;
          report.set_leavers_checked(report.leavers_checked() + 1);
          Due d{id, *member.left_at, {}};
          for (const pv1::RetentionRule& rule : schedule->rules()) {
            if (AddYears(*member.left_at, rule.years_after_leaving()) <= now) {
              d.kinds.push_back(rule.kind());
            }
          }
          if (!d.kinds.empty()) due.push_back(std::move(d));
        }
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  std::sort(due.begin(), due.end(),
            [](const Due& a, const Due& b) { return a.staff_id < b.staff_id; });
  size_t index = 0;
  for (const Due& d : due) {
    absl::StatusOr<std::vector<cpd::PersonalDataKind>> held =
        personal_data_->KindsHeld(tenant, d.staff_id);
    if (!held.ok()) return held.status();
    std::vector<cpd::PersonalDataKind> kinds;
    for (cpd::PersonalDataKind kind : *held) {
      if (std::find(d.kinds.begin(), d.kinds.end(), kind) != d.kinds.end()) {
        kinds.push_back(kind);
      }
    }
    if (kinds.empty()) continue;  // Erased already.
    pv1::PersonalDataErased event;
    event.set_staff_id(d.staff_id);
    event.mutable_kinds()->Add(kinds.begin(), kinds.end());
    event.set_reason(pv1::ERASURE_REASON_RETENTION);
    absl::StatusOr<uint64_t> position =
        AppendPrivacyEvent(tenant, request_id, index++, event);
    if (!position.ok()) return position.status();
    absl::StatusOr<std::vector<cpd::PersonalDataKind>> erased =
        personal_data_->Erase(tenant, d.staff_id, kinds);
    if (!erased.ok()) return erased.status();
    if (absl::Status s = RecordAccess(
            tenant, caller, d.staff_id,
            caller != nullptr
                ? caller->method
                : "/throughline.privacy.v1.PrivacyService/RunRetention",
            absl::StrCat("retention erasure of ", KindsText(event.kinds()),
                         " recorded at position ", *position));
        !s.ok()) {
      return s;
    }
    pv1::RetentionErasure* out = report.add_erased();
    out->set_staff_id(d.staff_id);
    out->mutable_kinds()->Add(kinds.begin(), kinds.end());
    TimeToProto(d.left_at, out->mutable_left_at());
    out->set_position(*position);
  }
  return report;
}

grpc::Status PrivacyService::RunRetention(
    grpc::ServerContext* context, const pv1::RunRetentionRequest* request,
    pv1::RunRetentionResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context, gate_);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (absl::Status s = CheckRequestId(request->request_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  // A retry whose first run erased something: that run's report.
  for (size_t i = 0;; ++i) {
    absl::StatusOr<std::optional<eventstore::RecordedEvent>> earlier =
        store_->FindEvent(*tenant, services::cpd::RequestEventId(
                                       *tenant, request->request_id(), i));
    if (!earlier.ok()) return ToGrpcStatus(earlier.status());
    if (!earlier->has_value()) break;
    std::optional<pv1::PersonalDataErased> first =
        ParsePrivacyEvent<pv1::PersonalDataErased>((*earlier)->record);
    if (!first.has_value() ||
        first->reason() != pv1::ERASURE_REASON_RETENTION) {
      return ToGrpcStatus(RequestIdReused(request->request_id()));
    }
    pv1::RetentionErasure* out = response->add_erased();
    out->set_staff_id(first->staff_id());
    *out->mutable_kinds() = first->kinds();
    out->set_position((*earlier)->position);
  }
  if (response->erased_size() > 0) return grpc::Status::OK;
  absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<pv1::RunRetentionResponse> report =
      RunRetentionFor(*tenant, request->request_id(), absl::Now(), &*caller);
  if (!report.ok()) return ToGrpcStatus(report.status());
  *response = *std::move(report);
  return grpc::Status::OK;
}

grpc::Status PrivacyService::SetBusDisclosure(
    grpc::ServerContext* context, const pv1::SetBusDisclosureRequest* request,
    pv1::BusDisclosure* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (absl::Status s = CheckRequestId(request->request_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  grpc::Status registered = runner_->Read(
      *context, [&](const projections::TrustState& state) -> grpc::Status {
        if (state.registered()) return grpc::Status::OK;
        return ToGrpcStatus(FieldError(absl::StatusCode::kFailedPrecondition,
                                       "tenant",
                                       "this trust is not registered"));
      });
  if (!registered.ok()) return registered;
  pv1::BusDisclosureSet event;
  event.set_clear_personal_data(request->clear_personal_data());
  absl::StatusOr<uint64_t> position =
      AppendPrivacyEvent(*tenant, request->request_id(), 0, event);
  if (absl::IsAlreadyExists(position.status())) {
    return ToGrpcStatus(RequestIdReused(request->request_id()));
  }
  if (!position.ok()) return ToGrpcStatus(position.status());
  response->set_clear_personal_data(request->clear_personal_data());
  response->set_position(*position);
  return grpc::Status::OK;
}

grpc::Status PrivacyService::GetBusDisclosure(
    grpc::ServerContext* context, const pv1::GetBusDisclosureRequest*,
    pv1::BusDisclosure* response) {
  absl::StatusOr<std::string> tenant = TenantOf(*context);
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<pv1::BusDisclosure> current =
      bus_disclosure_->Current(*tenant);
  if (!current.ok()) return ToGrpcStatus(current.status());
  *response = *std::move(current);
  return grpc::Status::OK;
}

void PrivacyService::StartSchedule(absl::Duration interval) {
  scheduler_ = std::thread([this, interval] {
    while (!stop_.WaitForNotificationWithTimeout(interval)) {
      absl::StatusOr<std::vector<std::string>> tenants = store_->ListTenants();
      if (!tenants.ok()) {
        std::cerr << "retention: " << tenants.status() << "\n";
        continue;
      }
      const absl::Time now = absl::Now();
      for (const std::string& tenant : *tenants) {
        // A trust another node serves is that node's to run; this store's
        // copy of it (left by a move) must not grow.
        if (gate_ != nullptr && !gate_->Admit(tenant).ok()) continue;
        absl::StatusOr<pv1::RunRetentionResponse> report = RunRetentionFor(
            tenant, absl::StrCat("retention-", absl::ToUnixMicros(now)), now);
        if (!report.ok()) {
          std::cerr << "retention: trust " << tenant << ": " << report.status()
                    << "\n";
        } else if (report->erased_size() > 0) {
          std::cerr << "retention: trust " << tenant << ": erased data of "
                    << report->erased_size() << " leaver(s)\n";
        }
      }
    }
  });
}

void PrivacyService::StopSchedule() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (scheduler_.joinable()) scheduler_.join();
}

}  // namespace throughline::services::privacy
