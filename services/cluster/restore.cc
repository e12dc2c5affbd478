#include "services/cluster/restore.h"

#include <openssl/sha.h>

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "eventstore/format.h"

namespace throughline::services::cluster {
namespace {

// Events per ImportEvents call.
constexpr size_t kImportBatch = 256;
// How long the replay waits for the next message before giving up.
constexpr int64_t kNextMessageMillis = 10000;

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<uint64_t> NumberHeader(natsMsg* msg, const char* key) {
  uint64_t value = 0;
  if (!absl::SimpleAtoi(bus::GetHeader(msg, key), &value)) {
    return absl::DataLossError(absl::StrCat("bus message on ",
                                            natsMsg_GetSubject(msg),
                                            " has no valid ", key, " header"));
  }
  return value;
}

absl::StatusOr<int64_t> TimeHeader(natsMsg* msg, const char* key) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, bus::GetHeader(msg, key), &time,
                       &error)) {
    return absl::DataLossError(
        absl::StrCat("bus message on ", natsMsg_GetSubject(msg),
                     " has no valid ", key, " header: ", error));
  }
  return absl::ToUnixMicros(time);
}

// The store's chain head at `position` must be `source_hex`, the source's
// chain hash there (unchecked when the message predates the header).
absl::Status CheckChainHead(const eventstore::EventStore& store,
                            const std::string& tenant, uint64_t position,
                            const std::string& source_hex) {
  if (source_hex.empty()) return absl::OkStatus();
  absl::StatusOr<std::pair<uint64_t, eventstore::ChainHash>> head =
      store.ChainHead(tenant);
  if (!head.ok()) return head.status();
  const std::string local = eventstore::ChainHashToHex(head->second);
  if (head->first != position || local != source_hex) {
    return absl::DataLossError(absl::StrCat(
        "after restoring trust ", tenant, " up to position ", position,
        " its chain hash is ", local, " but the source's was ", source_hex));
  }
  return absl::OkStatus();
}

// Verifies the tenant's whole chain in the store; returns its head hash.
absl::StatusOr<eventstore::ChainHash> VerifyChain(
    const eventstore::EventStore& store, const std::string& tenant) {
  eventstore::VerifyOptions options;
  options.tenant = tenant;
  for (;;) {
    absl::StatusOr<eventstore::VerifyReport> report = store.Verify(options);
    if (!report.ok()) return report.status();
    if (report->mismatch.has_value()) {
      return absl::DataLossError(absl::StrCat(
          "the restored trust ", tenant, " fails verification at position ",
          report->mismatch->position, ": ", report->mismatch->detail));
    }
    if (report->next_position == 0) return report->chain_hash;
    options.from_position = report->next_position;
    options.start_hash = report->chain_hash;
  }
}

}  // namespace

absl::StatusOr<eventstore::ImportedEvent> StoredEventFromMessage(natsMsg* msg) {
  eventstore::ImportedEvent event;
  absl::StatusOr<uint64_t> position = NumberHeader(msg, bus::kPositionHeader);
  if (!position.ok()) return position.status();
  absl::StatusOr<uint64_t> revision = NumberHeader(msg, bus::kRevisionHeader);
  if (!revision.ok()) return revision.status();
  absl::StatusOr<int64_t> occurred = TimeHeader(msg, bus::kOccurredAtHeader);
  if (!occurred.ok()) return occurred.status();
  absl::StatusOr<int64_t> recorded = TimeHeader(msg, bus::kRecordedAtHeader);
  if (!recorded.ok()) return recorded.status();
  std::optional<eventstore::Uuid> id =
      eventstore::ParseUuid(bus::GetHeader(msg, bus::kMsgIdHeader));
  if (!id.has_value()) {
    return absl::DataLossError(absl::StrCat("bus message at position ",
                                            *position, " has no event id (",
                                            bus::kMsgIdHeader, ")"));
  }
  eventstore::EventRecord record;
  record.set_event_id(id->data(), id->size());
  record.set_type(bus::GetHeader(msg, bus::kTypeHeader));
  record.set_content_type(bus::GetHeader(msg, bus::kContentTypeHeader));
  record.set_data(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  record.set_correlation_id(bus::GetHeader(msg, bus::kCorrelationHeader));
  record.set_causation_id(bus::GetHeader(msg, bus::kCausationHeader));
  record.set_actor(bus::GetHeader(msg, bus::kActorHeader));
  record.set_source_platform(bus::GetHeader(msg, bus::kSourcePlatformHeader));
  record.set_occurred_at_micros(*occurred);
  record.set_recorded_at_micros(*recorded);
  record.set_stream(bus::GetHeader(msg, bus::kStreamHeader));
  record.set_revision(*revision);
  event.position = *position;
  event.stored = record.SerializeAsString();
  const std::string digest = bus::GetHeader(msg, bus::kRecordDigestHeader);
  if (!digest.empty() && digest != Sha256Hex(event.stored)) {
    return absl::DataLossError(absl::StrCat(
        "the bus message at position ", *position,
        " does not rebuild the stored record it was published from (",
        bus::kRecordDigestHeader,
        " differs; a value the headers cannot "
        "carry exactly?)"));
  }
  return event;
}

absl::StatusOr<uint64_t> LastPublishedPosition(bus::NatsConnection* conn,
                                               const bus::BusOptions& bus,
                                               const std::string& tenant) {
  const std::string filter =
      absl::StrCat(bus::kOutboundPrefix, bus::SubjectToken(tenant), ".>");
  natsMsg* msg = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&msg, conn->js(), bus.stream.c_str(),
                               filter.c_str(), nullptr, &js_code);
  if (s == NATS_NOT_FOUND || js_code == JSNoMessageFoundErr) return 0;
  if (s != NATS_OK) {
    return bus::NatsError(absl::StrCat("last message of ", filter), s, js_code);
  }
  absl::StatusOr<uint64_t> position = NumberHeader(msg, bus::kPositionHeader);
  natsMsg_Destroy(msg);
  return position;
}

absl::StatusOr<ReplayResult> ReplayFromBus(eventstore::EventStore* store,
                                           bus::NatsConnection* conn,
                                           const bus::BusOptions& bus,
                                           const std::string& tenant) {
  if (absl::Status s = eventstore::ValidateTenant(tenant); !s.ok()) return s;
  ReplayResult result;
  absl::StatusOr<uint64_t> head = store->HeadPosition(tenant);
  if (!head.ok()) return head.status();
  result.previous_head = result.head = *head;
  absl::StatusOr<uint64_t> last = LastPublishedPosition(conn, bus, tenant);
  if (!last.ok()) return last.status();
  if (*last == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "trust ", tenant, " has no events in the bus stream ", bus.stream));
  }
  if (*last < *head) {
    return absl::FailedPreconditionError(
        absl::StrCat("this node holds trust ", tenant, " up to position ",
                     *head, ", beyond the bus stream's last position ", *last));
  }
  std::string local_last_id;
  if (*head > 0) {
    absl::StatusOr<eventstore::LogPage> page =
        store->ReadLog(tenant, *head, eventstore::LogFilter(), 1);
    if (!page.ok()) return page.status();
    if (page->events.size() == 1) {
      local_last_id = page->events[0].record.event_id();
    }
  }
  if (*last == *head) return result;  // Nothing newer on the bus.

  const std::string filter =
      absl::StrCat(bus::kOutboundPrefix, bus::SubjectToken(tenant), ".>");
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = bus.stream.c_str();
  options.Ordered = true;
  options.Config.DeliverPolicy = js_DeliverAll;
  natsSubscription* sub = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&sub, conn->js(), filter.c_str(), nullptr,
                                  &options, &js_code);
  if (s != NATS_OK) {
    return bus::NatsError(absl::StrCat("replaying ", filter), s, js_code);
  }
  absl::Status status;
  std::vector<eventstore::ImportedEvent> batch;
  std::string batch_chain;  // Chain hash header of the batch's last message.
  uint64_t next = *head + 1;
  while (status.ok() && next <= *last) {
    natsMsg* msg = nullptr;
    s = natsSubscription_NextMsg(&msg, sub, kNextMessageMillis);
    if (s != NATS_OK) {
      status =
          bus::NatsError(absl::StrCat("replaying ", filter,
                                      " (waiting for position ", next, ")"),
                         s);
      break;
    }
    absl::StatusOr<eventstore::ImportedEvent> event =
        StoredEventFromMessage(msg);
    const std::string chain_header = bus::GetHeader(msg, bus::kChainHashHeader);
    natsMsg_Destroy(msg);
    if (!event.ok()) {
      status = event.status();
      break;
    }
    if (event->position < next) {
      if (event->position == *head) {
        eventstore::EventRecord record;
        record.ParseFromString(event->stored);
        if (record.event_id() != local_last_id) {
          status = absl::FailedPreconditionError(
              absl::StrCat("trust ", tenant,
                           "'s log on this node and the bus stream "
                           "differ at position ",
                           *head));
        }
      }
      continue;
    }
    if (event->position != next) {
      status = absl::DataLossError(absl::StrCat(
          "the bus stream lacks position ", next, " of trust ", tenant,
          " (the next message is position ", event->position, ")"));
      break;
    }
    batch.push_back(*std::move(event));
    batch_chain = chain_header;
    ++next;
    if (batch.size() == kImportBatch || next > *last) {
      absl::StatusOr<uint64_t> imported =
          store->ImportEvents(tenant, std::move(batch));
      batch.clear();
      if (!imported.ok()) {
        status = imported.status();
        break;
      }
      result.restored += *imported - result.head;
      result.head = *imported;
      status = CheckChainHead(*store, tenant, result.head, batch_chain);
    }
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  if (!status.ok()) return status;
  absl::StatusOr<eventstore::ChainHash> verified = VerifyChain(*store, tenant);
  if (!verified.ok()) return verified.status();
  result.chain_head = *verified;
  return result;
}

}  // namespace throughline::services::cluster
