// Tests of EventStore::ImportEvents and FreezeTenant against real RocksDB
// databases: a tenant's log copied from one store into another keeps every
// byte, position, id and revision, and an import that does not continue the
// log exactly is refused whole.

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/errors.h"
#include "eventstore/event_store.h"
#include "eventstore/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace throughline::eventstore {
namespace {

using ::throughline::testing::NewUuid;
using ::throughline::testing::TempDir;

constexpr char kTenant[] = "acme";

std::unique_ptr<EventStore> OpenStore(const std::string& path) {
  EventStoreOptions options;
  options.path = path;
  absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

void AppendTo(EventStore* store, const std::string& stream, int count,
              const std::string& tenant = kTenant) {
  AppendRequest request;
  request.tenant = tenant;
  request.stream = stream;
  for (int i = 0; i < count; ++i) {
    ProposedEvent event;
    event.event_id = NewUuid();
    event.type = "ThingHappened";
    event.data = absl::StrCat(stream, "-", i, std::string("\0\x01\xff", 3));
    event.actor = "someone";
    event.correlation_id = "corr";
    event.occurred_at = absl::FromUnixMicros(1700000000123456 + i);
    request.events.push_back(std::move(event));
  }
  absl::StatusOr<AppendResult> result = store->Append(std::move(request));
  ASSERT_TRUE(result.ok()) << result.status();
}

// The tenant's whole log as ImportedEvents, the stored bytes re-serialized
// from the records read (the store serializes deterministically).
std::vector<ImportedEvent> Export(const EventStore& store,
                                  const std::string& tenant = kTenant) {
  absl::StatusOr<LogPage> page =
      store.ReadLog(tenant, 1, LogFilter(), 1000000, 1 << 30);
  EXPECT_TRUE(page.ok()) << page.status();
  std::vector<ImportedEvent> events;
  for (const RecordedEvent& event : page->events) {
    events.push_back({event.position, event.record.SerializeAsString()});
  }
  return events;
}

std::vector<ImportedEvent> Slice(const std::vector<ImportedEvent>& all,
                                 size_t from, size_t to) {
  return std::vector<ImportedEvent>(all.begin() + from, all.begin() + to);
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = OpenStore(dir_.path() + "/source");
    target_ = OpenStore(dir_.path() + "/target");
    ASSERT_NE(source_, nullptr);
    ASSERT_NE(target_, nullptr);
  }

  TempDir dir_;
  std::unique_ptr<EventStore> source_;
  std::unique_ptr<EventStore> target_;
};

TEST_F(ImportTest, CopiesTheLogExactlyInBatches) {
  AppendTo(source_.get(), "order-1", 3);
  AppendTo(source_.get(), "order-2", 2);
  AppendTo(source_.get(), "order-1", 4);
  const std::vector<ImportedEvent> all = Export(*source_);
  ASSERT_EQ(all.size(), 9u);

  EXPECT_EQ(*target_->ImportEvents(kTenant, Slice(all, 0, 4)), 4u);
  EXPECT_EQ(*target_->ImportEvents(kTenant, Slice(all, 4, 9)), 9u);

  EXPECT_EQ(*target_->HeadPosition(kTenant), 9u);
  const std::vector<ImportedEvent> copied = Export(*target_);
  ASSERT_EQ(copied.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(copied[i].position, all[i].position);
    EXPECT_EQ(copied[i].stored, all[i].stored) << "position " << i + 1;
  }
  // Streams, revisions and ids are indexed as if appended.
  EXPECT_EQ(target_->GetStreamInfo(kTenant, "order-1")->revision, 6u);
  EXPECT_EQ(target_->GetStreamInfo(kTenant, "order-2")->revision, 1u);
  absl::StatusOr<std::vector<RecordedEvent>> stream =
      target_->ReadStream(kTenant, "order-2", 0, false, 10);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_EQ(stream->size(), 2u);
  EXPECT_EQ((*stream)[1].position, 5u);
}

TEST_F(ImportTest, TheCopyTakesAppendsAfterwardsAndKeepsIdempotency) {
  AppendTo(source_.get(), "order-1", 2);
  const std::vector<ImportedEvent> all = Export(*source_);
  ASSERT_TRUE(target_->ImportEvents(kTenant, all).ok());

  // A retry of an imported event is recognised as already stored.
  absl::StatusOr<LogPage> page = source_->ReadLog(kTenant, 1, LogFilter(), 1);
  const EventRecord& first = page->events[0].record;
  AppendRequest retry;
  retry.tenant = kTenant;
  retry.stream = first.stream();
  ProposedEvent event;
  Uuid id;
  std::copy_n(first.event_id().begin(), 16, id.begin());
  event.event_id = FormatUuid(id);
  event.type = first.type();
  event.content_type = first.content_type();
  event.data = first.data();
  retry.events.push_back(event);
  absl::StatusOr<AppendResult> result = target_->Append(retry);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->already_stored);
  EXPECT_EQ(result->first_position, 1u);

  // New appends continue the log and the stream.
  AppendTo(target_.get(), "order-1", 1);
  EXPECT_EQ(*target_->HeadPosition(kTenant), 3u);
  EXPECT_EQ(target_->GetStreamInfo(kTenant, "order-1")->revision, 2u);
}

TEST_F(ImportTest, RefusesGapsAndOverlapsAndAppendsNothing) {
  AppendTo(source_.get(), "order-1", 5);
  const std::vector<ImportedEvent> all = Export(*source_);
  ASSERT_TRUE(target_->ImportEvents(kTenant, Slice(all, 0, 2)).ok());

  absl::Status gap = target_->ImportEvents(kTenant, Slice(all, 3, 5)).status();
  EXPECT_EQ(gap.code(), absl::StatusCode::kFailedPrecondition) << gap;
  EXPECT_EQ(ErrorField(gap), "events[0].position");
  EXPECT_THAT(gap.message(), ::testing::HasSubstr("gap"));

  absl::Status overlap =
      target_->ImportEvents(kTenant, Slice(all, 1, 4)).status();
  EXPECT_EQ(overlap.code(), absl::StatusCode::kFailedPrecondition) << overlap;
  EXPECT_THAT(overlap.message(), ::testing::HasSubstr("overlaps"));

  std::vector<ImportedEvent> holes = {all[2], all[4]};
  absl::Status hole = target_->ImportEvents(kTenant, holes).status();
  EXPECT_EQ(hole.code(), absl::StatusCode::kInvalidArgument) << hole;
  EXPECT_EQ(ErrorField(hole), "events[1].position");

  std::vector<ImportedEvent> garbage = {{3, "\xff\xff not a record"}};
  EXPECT_EQ(target_->ImportEvents(kTenant, garbage).status().code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(*target_->HeadPosition(kTenant), 2u);
  EXPECT_TRUE(target_->ImportEvents(kTenant, Slice(all, 2, 5)).ok());
  EXPECT_EQ(*target_->HeadPosition(kTenant), 5u);
}

TEST_F(ImportTest, RefusesARevisionOutOfSequenceOrAStoredId) {
  AppendTo(source_.get(), "order-1", 3);
  const std::vector<ImportedEvent> all = Export(*source_);
  // The target already has its own order-1 event: the copy's revision 0
  // does not follow it.
  AppendTo(target_.get(), "order-1", 1);
  std::vector<ImportedEvent> shifted = Slice(all, 0, 3);
  for (size_t i = 0; i < shifted.size(); ++i) shifted[i].position = 2 + i;
  absl::Status status = target_->ImportEvents(kTenant, shifted).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(ErrorField(status), "events[0].revision");

  // Another tenant holding the same ids is fine (ids are per tenant); the
  // same tenant importing an id it has is not.
  EXPECT_TRUE(target_->ImportEvents("other", Slice(all, 0, 3)).ok());
  std::vector<ImportedEvent> again = Slice(all, 0, 1);
  again[0].position = 4;
  status = target_->ImportEvents("other", again).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(ErrorField(status), "events[0].event_id");
  EXPECT_EQ(*target_->HeadPosition(kTenant), 1u);
  EXPECT_EQ(*target_->HeadPosition("other"), 3u);
}

TEST_F(ImportTest, FreezeStopsAppendsUntilThaw) {
  AppendTo(source_.get(), "order-1", 2);
  // Appends racing the freeze either land before its head or are refused.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        AppendRequest request;
        request.tenant = kTenant;
        request.stream = "order-9";
        ProposedEvent event;
        event.event_id = NewUuid();
        event.type = "ThingHappened";
        request.events.push_back(event);
        absl::StatusOr<AppendResult> result = source_->Append(request);
        if (!result.ok()) {
          EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
        }
      }
    });
  }
  absl::StatusOr<uint64_t> head = source_->FreezeTenant(kTenant);
  ASSERT_TRUE(head.ok()) << head.status();
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(*source_->HeadPosition(kTenant), *head);

  AppendRequest refused;
  refused.tenant = kTenant;
  refused.stream = "order-1";
  ProposedEvent event;
  event.event_id = NewUuid();
  event.type = "ThingHappened";
  refused.events.push_back(event);
  EXPECT_EQ(source_->Append(refused).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(*source_->HeadPosition(kTenant), *head);
  // Other tenants are not affected.
  AppendTo(source_.get(), "order-1", 1, "other");

  source_->ThawTenant(kTenant);
  EXPECT_TRUE(source_->Append(refused).ok());
  EXPECT_EQ(*source_->HeadPosition(kTenant), *head + 1);
}

}  // namespace
}  // namespace throughline::eventstore
