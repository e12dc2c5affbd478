// The restore's rebuild of a stored record from one outbound bus message
// (docs/bus.md): every field comes back byte for byte, and a message that
// cannot rebuild the record it was published from is refused with DATA_LOSS.

#include <nats/nats.h>

#include <map>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/format.h"
#include "gtest/gtest.h"
#include "openssl/sha.h"
#include "services/bus/nats_util.h"
#include "services/cluster/restore.h"

namespace throughline::services::cluster {
namespace {

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

eventstore::EventRecord Record() {
  eventstore::EventRecord record;
  const eventstore::Uuid id =
      *eventstore::ParseUuid("0f8fad5b-d9cb-469f-a165-70867728950e");
  record.set_event_id(id.data(), id.size());
  record.set_type("ObservationRecorded");
  record.set_content_type(
      "application/x-protobuf; proto=throughline.cpd.v1.ObservationRecorded");
  record.set_data(std::string("\0\x01\xff payload", 11));
  record.set_correlation_id("corr-1");
  record.set_causation_id("request:abc");
  record.set_actor("teacher-7");
  record.set_source_platform("observation-platform");
  record.set_occurred_at_micros(1725179400123456);
  record.set_recorded_at_micros(1725179401654321);
  record.set_stream("observation-42");
  record.set_revision(3);
  return record;
}

// The message the relay publishes for `record` at `position`, its header
// values as given (an empty value is left out, as the relay does).
natsMsg* Message(const eventstore::EventRecord& record, uint64_t position,
                 std::map<std::string, std::string> overrides = {}) {
  natsMsg* msg = nullptr;
  EXPECT_EQ(natsMsg_Create(&msg, "throughline.ev.northfield.observation.X",
                           nullptr, record.data().data(),
                           static_cast<int>(record.data().size())),
            NATS_OK);
  std::map<std::string, std::string> headers = {
      {bus::kMsgIdHeader, "0f8fad5b-d9cb-469f-a165-70867728950e"},
      {bus::kTenantHeader, "northfield"},
      {bus::kStreamHeader, record.stream()},
      {bus::kTypeHeader, record.type()},
      {bus::kContentTypeHeader, record.content_type()},
      {bus::kPositionHeader, absl::StrCat(position)},
      {bus::kRevisionHeader, absl::StrCat(record.revision())},
      {bus::kOccurredAtHeader, "2024-09-01T08:30:00.123456Z"},
      {bus::kRecordedAtHeader, "2024-09-01T08:30:01.654321Z"},
      {bus::kCorrelationHeader, record.correlation_id()},
      {bus::kCausationHeader, record.causation_id()},
      {bus::kActorHeader, record.actor()},
      {bus::kSourcePlatformHeader, record.source_platform()},
      {bus::kRecordDigestHeader, Sha256Hex(record.SerializeAsString())},
  };
  for (const auto& [key, value] : overrides) headers[key] = value;
  for (const auto& [key, value] : headers) {
    if (value.empty()) continue;
    EXPECT_EQ(natsMsgHeader_Set(msg, key.c_str(), value.c_str()), NATS_OK);
  }
  return msg;
}

// The NATS library must be initialised before messages are made (a
// connection does it otherwise).
class NatsLibrary : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(nats_Open(-1), NATS_OK); }
};
const ::testing::Environment* const kNatsLibrary =
    ::testing::AddGlobalTestEnvironment(new NatsLibrary);

TEST(StoredEventFromMessageTest, RebuildsTheStoredBytesExactly) {
  const eventstore::EventRecord record = Record();
  natsMsg* msg = Message(record, 17);
  absl::StatusOr<eventstore::ImportedEvent> event = StoredEventFromMessage(msg);
  natsMsg_Destroy(msg);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->position, 17u);
  EXPECT_EQ(event->stored, record.SerializeAsString());
}

TEST(StoredEventFromMessageTest, EmptyFieldsStayEmpty) {
  eventstore::EventRecord record = Record();
  record.clear_actor();
  record.clear_correlation_id();
  record.clear_data();
  natsMsg* msg = Message(record, 1);
  absl::StatusOr<eventstore::ImportedEvent> event = StoredEventFromMessage(msg);
  natsMsg_Destroy(msg);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->stored, record.SerializeAsString());
}

TEST(StoredEventFromMessageTest, AValueTheHeadersCannotCarryIsDataLoss) {
  // The relay replaces control characters in header values by spaces: the
  // rebuilt record then differs from the digest published with it.
  eventstore::EventRecord record = Record();
  record.set_actor("teacher\n7");
  natsMsg* msg = Message(record, 5, {{bus::kActorHeader, "teacher 7"}});
  absl::StatusOr<eventstore::ImportedEvent> event = StoredEventFromMessage(msg);
  natsMsg_Destroy(msg);
  EXPECT_EQ(event.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(event.status().message().find("position 5"), std::string::npos)
      << event.status();
}

TEST(StoredEventFromMessageTest, MissingOrMalformedHeadersAreDataLoss) {
  const eventstore::EventRecord record = Record();
  for (const auto& [key, value] :
       std::map<std::string, std::string>{{bus::kPositionHeader, ""},
                                          {bus::kRevisionHeader, "three"},
                                          {bus::kOccurredAtHeader, "yesterday"},
                                          {bus::kMsgIdHeader, "not-a-uuid"}}) {
    natsMsg* msg = Message(record, 2, {{key, value}});
    absl::StatusOr<eventstore::ImportedEvent> event =
        StoredEventFromMessage(msg);
    natsMsg_Destroy(msg);
    EXPECT_EQ(event.status().code(), absl::StatusCode::kDataLoss) << key;
  }
}

}  // namespace
}  // namespace throughline::services::cluster
