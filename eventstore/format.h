// The on-disk layout of the event log: column families, keys and values.
// This header is the single definition of the format; docs/storage-format.md
// describes the same layout in prose.
//
// Every key starts with the tenant prefix `tenant 0x00`. Tenant names never
// contain 0x00, so one tenant's keys form one contiguous range in every column
// family and no tenant's range interleaves with another's. Integers in keys
// are 8-byte big-endian so that keys sort numerically.
//
//   column family  key                                   value
//   -------------  ------------------------------------  ----------------------
//   log            tenant 0x00 position                  EventRecord (protobuf)
//   streams        tenant 0x00 stream 0x00 revision      position
//   ids            tenant 0x00 event-id(16 bytes)        IdEntry (see below)
//   secrets        tenant 0x00 name                      opaque bytes
//   chain          tenant 0x00 position                  chain hash (32 bytes)
//   default        "format-version"                      "2"
//
// A tenant's head position is its largest key in "log"; a stream's revision is
// its largest key in "streams". Both are derived, never stored separately, so
// they cannot disagree with the events.
//
// The hash chain (format version 2). Each tenant's log is hash-chained so
// that any change to a stored event, or to a stored hash, is detected:
//
//   chain(0) = 32 zero bytes                             (genesis)
//   chain(p) = SHA-256(chain(p - 1) || log value at p)   (p = 1, 2, ...)
//
// "log value at p" is the canonical bytes of the event: the value of the
// "log" key exactly as stored, byte for byte, never re-serialized. Whatever
// the store keeps there (today a serialized EventRecord; later possibly one
// holding ciphertext) is what the chain covers. chain(p) is written in the
// same WriteBatch as the event, under the same key in the "chain" family.
//
// Version 1 stores had no chain; opening one computes the chain from the
// stored events and then records version 2 (see docs/storage-format.md).

#ifndef THROUGHLINE_EVENTSTORE_FORMAT_H_
#define THROUGHLINE_EVENTSTORE_FORMAT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace throughline::eventstore {

inline constexpr char kLogColumnFamily[] = "log";
inline constexpr char kStreamsColumnFamily[] = "streams";
inline constexpr char kIdsColumnFamily[] = "ids";
inline constexpr char kSecretsColumnFamily[] = "secrets";
inline constexpr size_t kMaxSecretNameLength = 512;
inline constexpr char kChainColumnFamily[] = "chain";
inline constexpr char kFormatVersionKey[] = "format-version";
inline constexpr char kFormatVersion[] = "2";
// The version before the hash chain; opening such a store migrates it.
inline constexpr char kFormatVersionWithoutChain[] = "1";

inline constexpr size_t kMaxTenantLength = 63;
inline constexpr size_t kMaxStreamLength = 200;
inline constexpr size_t kMaxTypeLength = 128;
inline constexpr size_t kMaxContentTypeLength = 128;
inline constexpr size_t kMaxMetadataFieldLength = 256;

using Uuid = std::array<uint8_t, 16>;
using Digest = std::array<uint8_t, 32>;
// A link of a tenant's hash chain (see above).
using ChainHash = std::array<uint8_t, 32>;

// chain(0): the hash before a tenant's first event.
inline constexpr ChainHash kChainGenesis{};
// chain(p) from chain(p - 1) and the log value at p exactly as stored.
ChainHash NextChainHash(const ChainHash& previous, absl::string_view log_value);
// The chain key of `position` is its log key; the value is the 32 raw bytes.
std::string EncodeChainHash(const ChainHash& hash);
// nullopt unless `value` is exactly 32 bytes.
std::optional<ChainHash> DecodeChainHash(absl::string_view value);
// Lowercase hex (64 characters), the form users see and save.
std::string ChainHashToHex(const ChainHash& hash);
// Parses 64 hex digits (either case); nullopt otherwise.
std::optional<ChainHash> ChainHashFromHex(absl::string_view hex);

// Appends `value` as 8 big-endian bytes.
void PutFixed64BigEndian(std::string* dst, uint64_t value);
// REQUIRES: `src` holds at least 8 bytes.
uint64_t DecodeFixed64BigEndian(absl::string_view src);

// The prefix shared by every key of `tenant` in every column family.
std::string TenantPrefix(absl::string_view tenant);
std::string LogKey(absl::string_view tenant, uint64_t position);
// The prefix shared by every revision key of one stream.
std::string StreamPrefix(absl::string_view tenant, absl::string_view stream);
std::string StreamKey(absl::string_view tenant, absl::string_view stream,
                      uint64_t revision);
std::string IdKey(absl::string_view tenant, const Uuid& id);
std::string SecretKey(absl::string_view tenant, absl::string_view name);

// Decodes the position at the end of a log key.
uint64_t PositionFromLogKey(absl::string_view key);
// Decodes the revision at the end of a streams key.
uint64_t RevisionFromStreamKey(absl::string_view key);

// Value of an "ids" entry: where the event with that id was stored, and a
// digest of its content so that a retry with different content is detected.
struct IdEntry {
  uint64_t position = 0;
  uint64_t revision = 0;
  Digest digest{};
};
std::string EncodeIdEntry(const IdEntry& entry);
std::optional<IdEntry> DecodeIdEntry(absl::string_view value);

// A stored EventRecord (the value of a "log" key) read in place: every field
// points into the stored bytes, nothing is copied or allocated. For readers
// that pass events on (catch-up reads, projectors) without the cost of an
// EventRecord object per event.
struct EventRecordView {
  absl::string_view event_id;  // 16 raw UUID bytes.
  absl::string_view type;
  absl::string_view content_type;
  absl::string_view data;
  absl::string_view correlation_id;
  absl::string_view causation_id;
  absl::string_view actor;
  absl::string_view source_platform;
  absl::string_view stream;
  int64_t occurred_at_micros = 0;
  int64_t recorded_at_micros = 0;
  uint64_t revision = 0;
};
// Reads `stored`, an EventRecord in protobuf wire format (eventstore/
// record.proto; fields it does not know are skipped). False if it is not
// well-formed. The view is valid while `stored` is.
bool ParseEventRecordView(absl::string_view stored, EventRecordView* view);

// Name rules. Each returns OK or InvalidArgument with a message that names
// `field` (the request field path, e.g. "stream" or "events[1].type").
//
// Tenant: 1-63 of [a-z0-9-], starting with a letter or digit.
absl::Status ValidateTenant(absl::string_view tenant);
// Stream: 1-200 of [A-Za-z0-9-_.:@], starting with a letter or digit.
absl::Status ValidateStreamName(absl::string_view stream,
                                absl::string_view field);
// Event type: 1-128 of [A-Za-z0-9_.], starting with a letter.
absl::Status ValidateEventType(absl::string_view type, absl::string_view field);

// Parses a UUID in canonical 8-4-4-4-12 hex form (either case).
std::optional<Uuid> ParseUuid(absl::string_view text);
// Formats a UUID in lowercase canonical form.
std::string FormatUuid(const Uuid& id);

// The category of a stream: the part of its name before the first '-', or the
// whole name when it has none.
absl::string_view StreamCategory(absl::string_view stream);

}  // namespace throughline::eventstore

#endif  // THROUGHLINE_EVENTSTORE_FORMAT_H_
