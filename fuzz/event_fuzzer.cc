// Event decoding: events as any EventStore client can append them — a CPD
// event type with arbitrary bytes as its data and an arbitrary occurred
// time — followed through everything that reads stored events: the stored
// record, DecodeCpdEvent, the CommandRunner's fold into TrustState, the
// projector's apply into the FactStore, the facts read back into a
// TrustHistory, and the eight views over it.
//
// Frames (fuzz/harness.h): each frame is one event. The tag picks its type:
// the tag-th event of CpdEvent's oneof (modulo one more than their number;
// the extra one is a type that is not a CPD event). The body is the occurred
// time (8 bytes, little-endian microseconds since the Unix epoch) followed by
// the event's data.
//
// Besides crashes, leaks and undefined behaviour it checks that every event
// is applied (the projector's checkpoint reaches the head), that decoding is
// stable (decode, encode, decode gives the same event), and that the facts
// read back are exactly the CPD events that decode.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "eventstore/format.h"
#include "fuzz/harness.h"
#include "google/protobuf/util/message_differencer.h"
#include "projections/cpd_codec.h"
#include "projections/history.h"
#include "projections/views.h"

namespace throughline::fuzz {
namespace {

namespace cpd = ::throughline::cpd::v1;
using google::protobuf::util::MessageDifferencer;

constexpr size_t kMaxEvents = 200;
constexpr char kOtherType[] = "NotACpdEvent";

std::string TypeFor(uint8_t tag) {
  const google::protobuf::OneofDescriptor* oneof =
      cpd::CpdEvent::descriptor()->FindOneofByName("event");
  const int index = tag % (oneof->field_count() + 1);
  if (index == oneof->field_count()) return kOtherType;
  return oneof->field(index)->message_type()->name();
}

std::string EventId(size_t index) {
  eventstore::Uuid id{};
  id[6] = 0x40;
  id[8] = 0x80;
  id[15] = static_cast<uint8_t>(index);
  id[14] = static_cast<uint8_t>(index >> 8);
  return eventstore::FormatUuid(id);
}

int64_t LittleEndian64(absl::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return static_cast<int64_t>(value);
}

// Decode, encode, decode: the same event.
void CheckStableDecoding(const eventstore::EventRecord& record) {
  absl::StatusOr<cpd::CpdEvent> decoded = projections::DecodeCpdEvent(record);
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kNotFound ||
                   decoded.status().code() == absl::StatusCode::kDataLoss,
               decoded.status().ToString());
    return;
  }
  eventstore::ProposedEvent encoded;
  projections::EncodeCpdEvent(*decoded, &encoded);
  FUZZ_CHECK(encoded.type == record.type(), encoded.type);
  eventstore::EventRecord again;
  again.set_type(encoded.type);
  again.set_data(encoded.data);
  absl::StatusOr<cpd::CpdEvent> redecoded = projections::DecodeCpdEvent(again);
  FUZZ_CHECK(redecoded.ok(), redecoded.status().ToString());
  FUZZ_CHECK(MessageDifferencer::Equals(*decoded, *redecoded),
             decoded->ShortDebugString());
}

absl::StatusOr<projections::TrustHistory> History(Sandbox& sandbox,
                                                  const std::string& trust,
                                                  uint64_t position) {
  projections::TrustHistory history;
  absl::Status scanned = sandbox.facts()->Scan(
      trust, {}, position,
      [&](projections::Fact&& fact) { history.Add(std::move(fact)); });
  if (!scanned.ok()) return scanned;
  return history;
}

void ComputeViews(const projections::TrustHistory& history,
                  const projections::ViewParams& params) {
  projections::EmergentNeeds(history, params);
  projections::FollowThrough(history, params);
  projections::ConnectingTheDots(history, params);
  projections::TimeAndMoney(history, params);
  projections::Impact(history, params);
  projections::ProgrammeDesign(history, params);
  size_t people = 0;
  for (const auto& [staff_id, member] : history.state().staff()) {
    if (++people > 3) break;
    absl::StatusOr<insights::v1::StaffRecordView> record =
        projections::StaffRecord(history, params, staff_id);
    FUZZ_CHECK(record.ok(), record.status().ToString());
  }
  projections::DecisionAudit(history, params).IgnoreError();
}

void Run(Sandbox& sandbox, absl::string_view input) {
  const std::string trust = sandbox.NextTrust();
  eventstore::AppendRequest append;
  append.tenant = trust;
  append.stream = "fuzz-1";
  absl::Time earliest = absl::InfiniteFuture();
  absl::Time latest = absl::InfinitePast();
  for (const Frame& frame : SplitFrames(input, kMaxEvents)) {
    eventstore::ProposedEvent event;
    event.event_id = EventId(append.events.size());
    event.type = TypeFor(frame.tag);
    event.content_type = projections::CpdContentType(event.type);
    event.occurred_at = absl::FromUnixMicros(LittleEndian64(frame.body));
    event.data =
        std::string(frame.body.substr(std::min<size_t>(8, frame.body.size())));
    earliest = std::min(earliest, *event.occurred_at);
    latest = std::max(latest, *event.occurred_at);
    append.events.push_back(std::move(event));
  }
  if (append.events.empty()) return;
  const size_t count = append.events.size();
  absl::StatusOr<eventstore::AppendResult> appended =
      sandbox.store()->Append(std::move(append));
  FUZZ_CHECK(appended.ok(), appended.status().ToString());
  const uint64_t head = appended->last_position;
  FUZZ_CHECK(head == count, absl::StrCat(head));

  // The stored records, and what decodes of them.
  absl::StatusOr<eventstore::LogPage> page =
      sandbox.store()->ReadLog(trust, 1, eventstore::LogFilter(), kMaxEvents);
  FUZZ_CHECK(page.ok(), page.status().ToString());
  FUZZ_CHECK(page->events.size() == count, "");
  size_t cpd_events = 0;
  for (const eventstore::RecordedEvent& event : page->events) {
    CheckStableDecoding(event.record);
    if (projections::DecodeCpdEvent(event.record).ok()) ++cpd_events;
  }

  // The fold the silo services check requests against.
  DirectContext context(
      sandbox, "/throughline.cpd.v1.OrganisationService/ListDevelopmentAreas",
      trust);
  grpc::Status read = sandbox.runner()->Read(
      *context.get(), [&](const projections::TrustState& state) {
        FUZZ_CHECK(state.position() == head, absl::StrCat(state.position()));
        return grpc::Status::OK;
      });
  FUZZ_CHECK(read.ok(), read.error_message());

  // The projector's apply path, and the facts read back.
  absl::Status caught_up = sandbox.projector()->CatchUp(
      trust, head, absl::Now() + absl::Seconds(60));
  FUZZ_CHECK(caught_up.ok(), caught_up.ToString());
  absl::StatusOr<uint64_t> checkpoint = sandbox.facts()->Checkpoint(trust);
  FUZZ_CHECK(checkpoint.ok() && *checkpoint == head, "");
  absl::StatusOr<projections::TrustHistory> history =
      History(sandbox, trust, head);
  FUZZ_CHECK(history.ok(), history.status().ToString());
  size_t facts = 0;
  sandbox.facts()
      ->Scan(trust, {}, head, [&](projections::Fact&&) { ++facts; })
      .IgnoreError();
  FUZZ_CHECK(facts == cpd_events,
             absl::StrCat(facts, " facts for ", cpd_events, " CPD events"));

  // The views, over the trust and over its first school and department, for
  // a window a query can ask for (timestamps of years 1 to 9999) that ends
  // just after the latest event and spans at most ten years of them (a view
  // over a longer window costs time in proportion; it is not what is
  // fuzzed here).
  const absl::Time first_valid = absl::FromUnixSeconds(-62135596800);
  const absl::Time last_valid = absl::FromUnixSeconds(253402300799);
  projections::ViewParams params;
  params.to = std::clamp(latest + absl::Seconds(1), first_valid, last_valid);
  params.from = std::clamp(earliest, first_valid, last_valid);
  params.from = std::max(params.from, params.to - absl::Hours(24 * 3653));
  params.as_of_time = params.to + absl::Hours(24 * 90);
  params.as_of_position = head;
  if (params.from >= params.to) return;
  ComputeViews(*history, params);
  const auto& schools = history->Of(cpd::CpdEvent::kSchoolAdded);
  if (!schools.empty()) {
    params.scope = projections::Scope::School(
        schools.front().event.school_added().school_id());
    ComputeViews(*history, params);
  }
  const auto& departments = history->Of(cpd::CpdEvent::kDepartmentAdded);
  if (!departments.empty()) {
    params.scope = projections::Scope::Department(
        departments.front().event.department_added().department_id());
    ComputeViews(*history, params);
  }
}

}  // namespace
}  // namespace throughline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* sandbox = [] {
    throughline::fuzz::QuietLogs();
    return new throughline::fuzz::Sandbox(/*with_views=*/true);
  }();
  throughline::fuzz::Run(
      *sandbox, absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
