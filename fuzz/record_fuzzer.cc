// The event log's storage format (eventstore/format.h, record.proto) and
// its conversion to the API: the input is taken as a stored record value,
// an "ids" entry value, a chain hash (raw and hex), a UUID text and a name,
// each decoded and, where the format promises it, checked to round-trip. No
// store is needed: these are the pure functions every read goes through.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "eventstore/format.h"
#include "fuzz/harness.h"
#include "projections/cpd_codec.h"
#include "services/event_store_service.h"

namespace throughline::fuzz {
namespace {

uint64_t BigEndian64(absl::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

void Run(absl::string_view input) {
  // A stored record, as every read parses it, converted as the API sends it.
  eventstore::EventRecord record;
  if (record.ParseFromArray(input.data(), static_cast<int>(input.size()))) {
    eventstore::RecordedEvent event;
    event.position = BigEndian64(input);
    event.record = record;
    services::v1::RecordedEvent proto;
    services::ToProto(event, &proto);
    FUZZ_CHECK(eventstore::ParseUuid(proto.event_id()).has_value(),
               proto.event_id());
    projections::DecodeCpdEvent(record).IgnoreError();
  }

  // An "ids" entry: decodes only at its exact size, and round-trips.
  if (std::optional<eventstore::IdEntry> entry =
          eventstore::DecodeIdEntry(input)) {
    FUZZ_CHECK(eventstore::EncodeIdEntry(*entry) == input, "");
  }

  // A chain hash value, and its hex form: each round-trips.
  if (std::optional<eventstore::ChainHash> hash =
          eventstore::DecodeChainHash(input)) {
    FUZZ_CHECK(eventstore::EncodeChainHash(*hash) == input, "");
  }
  if (std::optional<eventstore::ChainHash> hash =
          eventstore::ChainHashFromHex(input)) {
    FUZZ_CHECK(
        eventstore::ChainHashToHex(*hash) == absl::AsciiStrToLower(input),
        std::string(input));
  }

  // A UUID text: parses only in canonical form, and formats back to it.
  if (std::optional<eventstore::Uuid> id = eventstore::ParseUuid(input)) {
    FUZZ_CHECK(eventstore::FormatUuid(*id) == absl::AsciiStrToLower(input),
               std::string(input));
  }

  // Names: whatever validates keeps keys unambiguous (no 0x00 separator),
  // and keys built from it decode to what was put in.
  const uint64_t number = BigEndian64(input);
  const bool tenant_ok = eventstore::ValidateTenant(input).ok();
  const bool stream_ok = eventstore::ValidateStreamName(input, "stream").ok();
  eventstore::ValidateEventType(input, "type").IgnoreError();
  if (tenant_ok) {
    FUZZ_CHECK(input.find('\0') == absl::string_view::npos, "");
    const std::string key = eventstore::LogKey(input, number);
    FUZZ_CHECK(key.rfind(eventstore::TenantPrefix(input), 0) == 0, "");
    FUZZ_CHECK(eventstore::PositionFromLogKey(key) == number, "");
  }
  if (stream_ok) {
    FUZZ_CHECK(input.find('\0') == absl::string_view::npos, "");
    const std::string key = eventstore::StreamKey("t", input, number);
    FUZZ_CHECK(key.rfind(eventstore::StreamPrefix("t", input), 0) == 0, "");
    FUZZ_CHECK(eventstore::RevisionFromStreamKey(key) == number, "");
    const absl::string_view category = eventstore::StreamCategory(input);
    FUZZ_CHECK(!category.empty() && input.rfind(category, 0) == 0, "");
  }
}

}  // namespace
}  // namespace throughline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    throughline::fuzz::QuietLogs();
    return true;
  }();
  (void)quiet;
  throughline::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
