#include "services/read_encoding.h"

#include <algorithm>
#include <cstring>

namespace throughline::services {
namespace {

namespace v1 = ::throughline::eventstore::v1;

constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;
constexpr size_t kUuidTextLength = 36;

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

// Writes wire bytes into space reserved beforehand (sizes are computed
// first, so every byte is written once, with no per-byte bounds checks).
class Writer {
 public:
  explicit Writer(char* at) : at_(at) {}
  char* at() const { return at_; }
  void Varint(uint64_t value) {
    while (value >= 0x80) {
      *at_++ = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    *at_++ = static_cast<char>(value);
  }
  void Tag(uint32_t field, uint32_t wire_type) {
    Varint(uint64_t{field} << 3 | wire_type);
  }
  void Bytes(uint32_t field, absl::string_view value) {
    Tag(field, kLengthDelimited);
    Varint(value.size());
    std::memcpy(at_, value.data(), value.size());
    at_ += value.size();
  }
  void NonEmptyBytes(uint32_t field, absl::string_view value) {
    if (!value.empty()) Bytes(field, value);
  }
  void VarintField(uint32_t field, uint64_t value) {
    if (value == 0) return;
    Tag(field, kVarint);
    Varint(value);
  }

 private:
  char* at_;
};

// Size of a length-delimited field of `length` bytes (field numbers < 16).
size_t BytesFieldSize(size_t length) { return 1 + VarintSize(length) + length; }
size_t NonEmptyBytesFieldSize(size_t length) {
  return length == 0 ? 0 : BytesFieldSize(length);
}
size_t VarintFieldSize(uint64_t value) {
  return value == 0 ? 0 : 1 + VarintSize(value);
}

// google.protobuf.Timestamp of a time in microseconds since the epoch.
struct Timestamp {
  int64_t seconds;
  int32_t nanos;
};
Timestamp FromMicros(int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t remainder = micros % 1000000;
  if (remainder < 0) {
    remainder += 1000000;
    --seconds;
  }
  return {seconds, static_cast<int32_t>(remainder * 1000)};
}
size_t TimestampSize(const Timestamp& t) {
  return VarintFieldSize(static_cast<uint64_t>(t.seconds)) +
         VarintFieldSize(static_cast<uint64_t>(static_cast<int64_t>(t.nanos)));
}
void PutTimestampField(uint32_t field, const Timestamp& t, Writer* out) {
  out->Tag(field, kLengthDelimited);
  out->Varint(TimestampSize(t));
  out->VarintField(1, static_cast<uint64_t>(t.seconds));
  out->VarintField(2, static_cast<uint64_t>(static_cast<int64_t>(t.nanos)));
}

// The canonical text of 16 raw id bytes, as eventstore::FormatUuid (missing
// bytes read as zero).
void FormatUuidText(absl::string_view raw, char text[kUuidTextLength]) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t at = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text[at++] = '-';
    const uint8_t byte = i < raw.size() ? static_cast<uint8_t>(raw[i]) : 0;
    text[at++] = kHex[byte >> 4];
    text[at++] = kHex[byte & 0xf];
  }
}

}  // namespace

void AppendVarintField(uint32_t field_number, uint64_t value,
                       std::string* out) {
  if (value == 0) return;
  char buffer[20];
  Writer writer(buffer);
  writer.VarintField(field_number, value);
  out->append(buffer, writer.at() - buffer);
}

void AppendBytesField(uint32_t field_number, absl::string_view value,
                      std::string* out) {
  char buffer[20];
  Writer writer(buffer);
  writer.Tag(field_number, kLengthDelimited);
  writer.Varint(value.size());
  out->append(buffer, writer.at() - buffer);
  out->append(value.data(), value.size());
}

void AppendRecordedEventField(uint32_t field_number, uint64_t position,
                              const eventstore::EventRecordView& record,
                              std::string* out) {
  const absl::string_view category = eventstore::StreamCategory(record.stream);
  const Timestamp occurred = FromMicros(record.occurred_at_micros);
  const Timestamp recorded = FromMicros(record.recorded_at_micros);
  const size_t metadata_size =
      NonEmptyBytesFieldSize(record.correlation_id.size()) +
      NonEmptyBytesFieldSize(record.causation_id.size()) +
      NonEmptyBytesFieldSize(record.actor.size()) +
      NonEmptyBytesFieldSize(record.source_platform.size());
  const size_t size =
      BytesFieldSize(kUuidTextLength) +
      NonEmptyBytesFieldSize(record.type.size()) +
      NonEmptyBytesFieldSize(record.content_type.size()) +
      NonEmptyBytesFieldSize(record.data.size()) +
      BytesFieldSize(metadata_size) + BytesFieldSize(TimestampSize(occurred)) +
      BytesFieldSize(TimestampSize(recorded)) +
      NonEmptyBytesFieldSize(record.stream.size()) +
      NonEmptyBytesFieldSize(category.size()) +
      VarintFieldSize(record.revision) + VarintFieldSize(position);
  const size_t at = out->size();
  out->resize(at + VarintSize(uint64_t{field_number} << 3) + VarintSize(size) +
              size);
  Writer writer(out->data() + at);
  writer.Tag(field_number, kLengthDelimited);
  writer.Varint(size);
  char id[kUuidTextLength];
  FormatUuidText(record.event_id, id);
  writer.Bytes(1, absl::string_view(id, sizeof(id)));
  writer.NonEmptyBytes(2, record.type);
  writer.NonEmptyBytes(3, record.content_type);
  writer.NonEmptyBytes(4, record.data);
  // Metadata, always present as ToProto sets it.
  writer.Tag(5, kLengthDelimited);
  writer.Varint(metadata_size);
  writer.NonEmptyBytes(1, record.correlation_id);
  writer.NonEmptyBytes(2, record.causation_id);
  writer.NonEmptyBytes(3, record.actor);
  writer.NonEmptyBytes(4, record.source_platform);
  PutTimestampField(6, occurred, &writer);
  PutTimestampField(7, recorded, &writer);
  writer.NonEmptyBytes(8, record.stream);
  writer.NonEmptyBytes(9, category);
  writer.VarintField(10, record.revision);
  writer.VarintField(11, position);
}

void SetRecordedEvent(uint64_t position,
                      const eventstore::EventRecordView& record,
                      v1::RecordedEvent* proto) {
  char id[kUuidTextLength];
  FormatUuidText(record.event_id, id);
  proto->set_event_id(id, sizeof(id));
  proto->set_type(record.type.data(), record.type.size());
  proto->set_content_type(record.content_type.data(),
                          record.content_type.size());
  proto->set_data(record.data.data(), record.data.size());
  v1::EventMetadata* metadata = proto->mutable_metadata();
  metadata->set_correlation_id(record.correlation_id.data(),
                               record.correlation_id.size());
  metadata->set_causation_id(record.causation_id.data(),
                             record.causation_id.size());
  metadata->set_actor(record.actor.data(), record.actor.size());
  metadata->set_source_platform(record.source_platform.data(),
                                record.source_platform.size());
  const Timestamp occurred = FromMicros(record.occurred_at_micros);
  proto->mutable_occurred_at()->set_seconds(occurred.seconds);
  proto->mutable_occurred_at()->set_nanos(occurred.nanos);
  const Timestamp recorded = FromMicros(record.recorded_at_micros);
  proto->mutable_recorded_at()->set_seconds(recorded.seconds);
  proto->mutable_recorded_at()->set_nanos(recorded.nanos);
  proto->set_stream(record.stream.data(), record.stream.size());
  const absl::string_view category = eventstore::StreamCategory(record.stream);
  proto->set_category(category.data(), category.size());
  proto->set_revision(record.revision);
  proto->set_position(position);
}

}  // namespace throughline::services
