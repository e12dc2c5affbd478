// Tests of EventStore against a real RocksDB database in a temporary
// directory. They assert behaviour only, never speed.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "eventstore/errors.h"
#include "eventstore/event_store.h"
#include "eventstore/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace throughline::eventstore {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::throughline::testing::NewUuid;
using ::throughline::testing::TempDir;

constexpr char kTenant[] = "acme";
constexpr size_t kMaxDataBytes = 64;
constexpr size_t kMaxEventsPerAppend = 5;
constexpr uint64_t kEnd = std::numeric_limits<uint64_t>::max();

// An OK StatusOr holding `value`.
MATCHER_P(IsOkAndHolds, value, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  *result_listener << "value is " << *arg;
  return *arg == value;
}

// A status with `code` whose field payload and message prefix name `field`.
MATCHER_P2(FieldErrorIs, code, field, "") {
  const absl::Status& status = arg;
  *result_listener << "status is " << status;
  return status.code() == code &&
         ErrorField(status) == std::optional<std::string>(field) &&
         absl::StartsWith(status.message(), absl::StrCat(field, ": "));
}

ProposedEvent Event(std::string type = "ThingHappened",
                    std::string data = "data") {
  ProposedEvent event;
  event.event_id = NewUuid();
  event.type = std::move(type);
  event.data = std::move(data);
  return event;
}

std::vector<ProposedEvent> Events(size_t count,
                                  const std::string& type = "ThingHappened") {
  std::vector<ProposedEvent> events;
  for (size_t i = 0; i < count; ++i) {
    events.push_back(Event(type, absl::StrCat("data-", i)));
  }
  return events;
}

AppendRequest Request(std::string tenant, std::string stream,
                      std::vector<ProposedEvent> events,
                      ExpectedRevision expected = ExpectedRevision::Any()) {
  return AppendRequest{std::move(tenant), std::move(stream), expected,
                       std::move(events)};
}

std::vector<uint64_t> Positions(const std::vector<RecordedEvent>& events) {
  std::vector<uint64_t> positions;
  for (const RecordedEvent& event : events) positions.push_back(event.position);
  return positions;
}

std::vector<uint64_t> Revisions(const std::vector<RecordedEvent>& events) {
  std::vector<uint64_t> revisions;
  for (const RecordedEvent& event : events) {
    revisions.push_back(event.record.revision());
  }
  return revisions;
}

// The canonical text of a record's 16-byte event id.
std::string IdOf(const EventRecord& record) {
  Uuid id{};
  if (record.event_id().size() != id.size()) return "<bad id>";
  std::memcpy(id.data(), record.event_id().data(), id.size());
  return FormatUuid(id);
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> values;
  for (uint64_t v = first; v <= last; ++v) values.push_back(v);
  return values;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = dir_.path();
    options_.max_event_data_bytes = kMaxDataBytes;
    options_.max_events_per_append = kMaxEventsPerAppend;
    Reopen();
  }

  // Closes the store (if open) and opens it again on the same directory.
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<EventStore>> store =
        EventStore::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  AppendResult MustAppend(AppendRequest request) {
    absl::StatusOr<AppendResult> result = store_->Append(std::move(request));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : AppendResult{};
  }

  uint64_t Head(const std::string& tenant) {
    absl::StatusOr<uint64_t> head = store_->HeadPosition(tenant);
    EXPECT_TRUE(head.ok()) << head.status();
    return head.value_or(0);
  }

  std::vector<RecordedEvent> ReadStream(const std::string& tenant,
                                        const std::string& stream,
                                        uint64_t from = 0,
                                        bool backwards = false,
                                        size_t max_count = 1000) {
    absl::StatusOr<std::vector<RecordedEvent>> events =
        store_->ReadStream(tenant, stream, from, backwards, max_count);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *std::move(events) : std::vector<RecordedEvent>{};
  }

  LogPage ReadLog(const std::string& tenant, uint64_t from, size_t max_count,
                  const LogFilter& filter = {}) {
    absl::StatusOr<LogPage> page =
        store_->ReadLog(tenant, from, filter, max_count);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *std::move(page) : LogPage{};
  }

  // Every event of the tenant's log, read in small pages.
  std::vector<RecordedEvent> WholeLog(const std::string& tenant) {
    std::vector<RecordedEvent> events;
    uint64_t from = 1;
    for (;;) {
      LogPage page = ReadLog(tenant, from, 7);
      if (page.events.empty()) break;
      EXPECT_GT(page.next_position, from);
      from = page.next_position;
      for (RecordedEvent& event : page.events) {
        events.push_back(std::move(event));
      }
    }
    return events;
  }

  absl::StatusCode StreamStatus(const std::string& tenant,
                                const std::string& stream) {
    return store_->GetStreamInfo(tenant, stream).status().code();
  }

  // Expects `request` to be refused with `code` naming `field`, and the
  // tenant's log to be unchanged.
  void ExpectRefused(AppendRequest request, absl::StatusCode code,
                     const std::string& field) {
    const uint64_t head = Head(kTenant);
    absl::StatusOr<AppendResult> result = store_->Append(std::move(request));
    EXPECT_THAT(result.status(), FieldErrorIs(code, field));
    EXPECT_EQ(Head(kTenant), head);
  }

  TempDir dir_;
  EventStoreOptions options_;
  std::unique_ptr<EventStore> store_;
};

// 1. Append and ReadStream.

TEST_F(EventStoreTest, AppendThenReadStreamRoundTripsEveryField) {
  std::vector<ProposedEvent> events = Events(3);
  events[0].content_type = "application/json";
  events[0].data = std::string("{\"a\":1}\0bin", 11);
  events[0].correlation_id = "corr-1";
  events[0].causation_id = "cause-1";
  events[0].actor = "user-42";
  events[0].source_platform = "observation-platform";
  events[0].occurred_at = absl::FromUnixMicros(1700000000123456);
  const int64_t before = absl::ToUnixMicros(absl::Now());

  AppendResult result =
      MustAppend(Request(kTenant, "order-1", events, ExpectedRevision::Any()));

  const int64_t after = absl::ToUnixMicros(absl::Now());
  EXPECT_EQ(result.first_revision, 0u);
  EXPECT_EQ(result.last_revision, 2u);
  EXPECT_EQ(result.first_position, 1u);
  EXPECT_EQ(result.last_position, 3u);
  EXPECT_FALSE(result.already_stored);

  std::vector<RecordedEvent> read = ReadStream(kTenant, "order-1");
  ASSERT_THAT(read, SizeIs(3));
  EXPECT_THAT(Positions(read), ElementsAre(1, 2, 3));
  EXPECT_THAT(Revisions(read), ElementsAre(0, 1, 2));
  const EventRecord& first = read[0].record;
  EXPECT_EQ(IdOf(first), events[0].event_id);
  EXPECT_EQ(first.type(), "ThingHappened");
  EXPECT_EQ(first.stream(), "order-1");
  EXPECT_EQ(first.content_type(), "application/json");
  EXPECT_EQ(first.data(), events[0].data);
  EXPECT_EQ(first.correlation_id(), "corr-1");
  EXPECT_EQ(first.causation_id(), "cause-1");
  EXPECT_EQ(first.actor(), "user-42");
  EXPECT_EQ(first.source_platform(), "observation-platform");
  EXPECT_EQ(first.occurred_at_micros(), 1700000000123456);
  EXPECT_GE(first.recorded_at_micros(), before);
  EXPECT_LE(first.recorded_at_micros(), after);

  const EventRecord& second = read[1].record;
  EXPECT_EQ(IdOf(second), events[1].event_id);
  EXPECT_EQ(second.content_type(), "application/octet-stream");
  EXPECT_EQ(second.data(), "data-1");
  // Without occurred_at the recorded time is used.
  EXPECT_EQ(second.occurred_at_micros(), second.recorded_at_micros());
  EXPECT_EQ(IdOf(read[2].record), events[2].event_id);
}

TEST_F(EventStoreTest, ReadStreamForwardsAndBackwardsWithCountLimits) {
  MustAppend(Request(kTenant, "order-1", Events(3)));
  MustAppend(Request(kTenant, "user-1", Events(1)));  // Position 4.
  MustAppend(Request(kTenant, "order-1", Events(2)));

  std::vector<RecordedEvent> all = ReadStream(kTenant, "order-1");
  EXPECT_THAT(Revisions(all), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(Positions(all), ElementsAre(1, 2, 3, 5, 6));

  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1", 1, false, 2)),
              ElementsAre(1, 2));
  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1", 4, false, 10)),
              ElementsAre(4));
  EXPECT_THAT(ReadStream(kTenant, "order-1", 5, false, 10), IsEmpty());
  EXPECT_THAT(ReadStream(kTenant, "order-1", 0, false, 0), IsEmpty());

  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1", kEnd, true, 10)),
              ElementsAre(4, 3, 2, 1, 0));
  EXPECT_THAT(Positions(ReadStream(kTenant, "order-1", kEnd, true, 2)),
              ElementsAre(6, 5));
  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1", 2, true, 10)),
              ElementsAre(2, 1, 0));
  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1", 0, true, 10)),
              ElementsAre(0));

  absl::StatusOr<StreamInfo> info = store_->GetStreamInfo(kTenant, "order-1");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->revision, 4u);
  EXPECT_EQ(info->last_position, 6u);
}

TEST_F(EventStoreTest, ReadStreamOfEmptyStreamIsNotFound) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  for (bool backwards : {false, true}) {
    absl::StatusOr<std::vector<RecordedEvent>> read =
        store_->ReadStream(kTenant, "order-2", 0, backwards, 10);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  }
  // A stream whose name extends an existing one is still empty.
  EXPECT_EQ(
      store_->ReadStream(kTenant, "order-1-x", 0, false, 10).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(StreamStatus(kTenant, "order-2"), absl::StatusCode::kNotFound);
  EXPECT_EQ(
      store_->ReadStream("other", "order-1", 0, false, 10).status().code(),
      absl::StatusCode::kNotFound);
}

// 2. Expected revision.

TEST_F(EventStoreTest, ExpectedRevisionThatHoldsAppends) {
  EXPECT_EQ(MustAppend(Request(kTenant, "order-1", Events(1),
                               ExpectedRevision::NoStream()))
                .first_revision,
            0u);
  EXPECT_EQ(MustAppend(Request(kTenant, "order-1", Events(2),
                               ExpectedRevision::StreamExists()))
                .last_revision,
            2u);
  EXPECT_EQ(MustAppend(Request(kTenant, "order-1", Events(1),
                               ExpectedRevision::Exact(2)))
                .first_revision,
            3u);
  AppendResult any = MustAppend(
      Request(kTenant, "order-1", Events(1), ExpectedRevision::Any()));
  EXPECT_EQ(any.first_revision, 4u);
  EXPECT_EQ(any.first_position, 5u);
  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1")),
              ElementsAre(0, 1, 2, 3, 4));
}

TEST_F(EventStoreTest, WrongExpectedRevisionIsAbortedWithActualRevision) {
  MustAppend(Request(kTenant, "order-1", Events(3)));  // Revision 2.

  struct Case {
    std::string stream;
    ExpectedRevision expected;
    std::string expected_text;
    bool stream_exists;
  };
  const Case cases[] = {
      {"order-1", ExpectedRevision::NoStream(), "no_stream", true},
      {"order-1", ExpectedRevision::Exact(1), "1", true},
      {"order-1", ExpectedRevision::Exact(3), "3", true},
      {"order-2", ExpectedRevision::StreamExists(), "stream_exists", false},
      {"order-2", ExpectedRevision::Exact(0), "0", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.stream, " expected ", c.expected_text));
    absl::StatusOr<AppendResult> result =
        store_->Append(Request(kTenant, c.stream, Events(2), c.expected));
    ASSERT_EQ(result.status().code(), absl::StatusCode::kAborted)
        << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr("expected_revision"));
    std::optional<RevisionConflict> conflict =
        ErrorRevisionConflict(result.status());
    ASSERT_TRUE(conflict.has_value());
    EXPECT_EQ(conflict->stream, c.stream);
    EXPECT_EQ(conflict->expected, c.expected_text);
    EXPECT_EQ(conflict->stream_exists, c.stream_exists);
    if (c.stream_exists) {
      EXPECT_EQ(conflict->actual_revision, 2u);
    }

    EXPECT_EQ(Head(kTenant), 3u);
    EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1")),
                ElementsAre(0, 1, 2));
    EXPECT_EQ(StreamStatus(kTenant, "order-2"), absl::StatusCode::kNotFound);
  }
}

// 3. Atomicity.

TEST_F(EventStoreTest, MultiEventAppendIsAllOrNothing) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  const ProposedEvent stored = Event("Stored", "stored");
  MustAppend(Request(kTenant, "order-1", {stored}));

  // The second event is invalid.
  std::vector<ProposedEvent> bad_type = Events(3);
  bad_type[1].type = "";
  ExpectRefused(Request(kTenant, "order-2", bad_type),
                absl::StatusCode::kInvalidArgument, "events[1].type");

  // The second event's id is already stored with other content.
  std::vector<ProposedEvent> reused_id = Events(2);
  reused_id[1].event_id = stored.event_id;
  ExpectRefused(Request(kTenant, "order-2", reused_id),
                absl::StatusCode::kAlreadyExists, "events[1].event_id");

  EXPECT_EQ(Head(kTenant), 2u);
  EXPECT_EQ(StreamStatus(kTenant, "order-2"), absl::StatusCode::kNotFound);
  // None of the refused events was stored: their ids are still new.
  AppendResult retry = MustAppend(Request(kTenant, "order-2", {bad_type[0]}));
  EXPECT_FALSE(retry.already_stored);
  EXPECT_EQ(retry.first_position, 3u);
  EXPECT_EQ(retry.first_revision, 0u);
}

TEST_F(EventStoreTest, FailedAppendDoesNotAffectOthersCommittedWithIt) {
  MustAppend(Request(kTenant, "taken", Events(1)));
  constexpr int kAppends = 20;
  absl::Mutex mu;
  int ok = 0, aborted = 0;
  absl::BlockingCounter done(kAppends);
  for (int i = 0; i < kAppends; ++i) {
    AppendRequest request =
        i % 2 == 0
            ? Request(kTenant, "taken", Events(1), ExpectedRevision::NoStream())
            : Request(kTenant, absl::StrCat("free-", i), Events(1));
    store_->AppendAsync(
        std::move(request), [&](absl::StatusOr<AppendResult> result) {
          {
            absl::MutexLock lock(&mu);
            if (result.ok()) ++ok;
            if (result.status().code() == absl::StatusCode::kAborted) {
              ++aborted;
            }
          }
          done.DecrementCount();
        });
  }
  done.Wait();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(ok, kAppends / 2);
  EXPECT_EQ(aborted, kAppends / 2);
  EXPECT_THAT(Positions(WholeLog(kTenant)), ElementsAreArray(Range(1, 11)));
}

// 4. Idempotency.

TEST_F(EventStoreTest, RetryReturnsOriginalPositionsUnderAnyExpectedRevision) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  const std::vector<ProposedEvent> events = Events(2);
  const AppendResult original = MustAppend(
      Request(kTenant, "order-1", events, ExpectedRevision::Exact(0)));
  MustAppend(Request(kTenant, "order-1", Events(1)));  // Revision 3.
  ASSERT_EQ(Head(kTenant), 4u);

  for (ExpectedRevision expected :
       {ExpectedRevision::Exact(0), ExpectedRevision::Exact(3),
        ExpectedRevision::Exact(99), ExpectedRevision::NoStream(),
        ExpectedRevision::StreamExists(), ExpectedRevision::Any()}) {
    SCOPED_TRACE(expected.ToString());
    AppendResult retry =
        MustAppend(Request(kTenant, "order-1", events, expected));
    EXPECT_TRUE(retry.already_stored);
    EXPECT_EQ(retry.first_position, original.first_position);
    EXPECT_EQ(retry.last_position, original.last_position);
    EXPECT_EQ(retry.first_revision, original.first_revision);
    EXPECT_EQ(retry.last_revision, original.last_revision);
  }
  EXPECT_EQ(Head(kTenant), 4u);
  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1")),
              ElementsAre(0, 1, 2, 3));
}

TEST_F(EventStoreTest, RetryIsIdempotentAfterReopen) {
  const std::vector<ProposedEvent> events = Events(3);
  const AppendResult original = MustAppend(
      Request(kTenant, "order-1", events, ExpectedRevision::NoStream()));
  Reopen();

  AppendResult retry = MustAppend(
      Request(kTenant, "order-1", events, ExpectedRevision::NoStream()));
  EXPECT_TRUE(retry.already_stored);
  EXPECT_EQ(retry.first_position, original.first_position);
  EXPECT_EQ(retry.last_position, original.last_position);
  EXPECT_EQ(retry.first_revision, original.first_revision);
  EXPECT_EQ(retry.last_revision, original.last_revision);
  EXPECT_EQ(Head(kTenant), 3u);
  // Ids stored in the same batch as their events are also detected after a
  // reopen when the content differs.
  std::vector<ProposedEvent> changed = events;
  changed[0].data = "changed";
  ExpectRefused(Request(kTenant, "order-1", changed),
                absl::StatusCode::kAlreadyExists, "events[0].event_id");
}

TEST_F(EventStoreTest, SameIdWithDifferentContentIsAlreadyExists) {
  const ProposedEvent event = Event("OrderPlaced", "original");
  MustAppend(Request(kTenant, "order-1", {event}));

  ProposedEvent other_data = event;
  other_data.data = "different";
  ProposedEvent other_type = event;
  other_type.type = "OrderShipped";
  ProposedEvent other_content_type = event;
  other_content_type.content_type = "application/json";
  for (const ProposedEvent& changed :
       {other_data, other_type, other_content_type}) {
    ExpectRefused(Request(kTenant, "order-1", {changed}),
                  absl::StatusCode::kAlreadyExists, "events[0].event_id");
  }
  // The same event in another stream is different content too.
  ExpectRefused(Request(kTenant, "order-2", {event}),
                absl::StatusCode::kAlreadyExists, "events[0].event_id");
  EXPECT_EQ(Head(kTenant), 1u);
  EXPECT_EQ(StreamStatus(kTenant, "order-2"), absl::StatusCode::kNotFound);
}

TEST_F(EventStoreTest, PartiallyStoredBatchIsAlreadyExists) {
  const std::vector<ProposedEvent> stored = Events(2);
  MustAppend(Request(kTenant, "order-1", stored));
  const ProposedEvent fresh = Event();

  ExpectRefused(Request(kTenant, "order-1", {stored[0], stored[1], fresh}),
                absl::StatusCode::kAlreadyExists, "events[2].event_id");
  ExpectRefused(Request(kTenant, "order-1", {fresh, stored[1]}),
                absl::StatusCode::kAlreadyExists, "events[0].event_id");
  EXPECT_EQ(Head(kTenant), 2u);
  EXPECT_FALSE(MustAppend(Request(kTenant, "order-1", {fresh})).already_stored);
}

TEST_F(EventStoreTest, DuplicateIdInOneRequestIsInvalid) {
  std::vector<ProposedEvent> events = Events(3);
  events[2].event_id = events[0].event_id;
  ExpectRefused(Request(kTenant, "order-1", events),
                absl::StatusCode::kInvalidArgument, "events[2].event_id");
  // The same UUID in another case is the same id.
  events[2].event_id = absl::AsciiStrToUpper(events[0].event_id);
  ExpectRefused(Request(kTenant, "order-1", events),
                absl::StatusCode::kInvalidArgument, "events[2].event_id");
  EXPECT_EQ(StreamStatus(kTenant, "order-1"), absl::StatusCode::kNotFound);
}

TEST_F(EventStoreTest, ConcurrentRetriesOfOneAppendStoreItOnce) {
  const std::vector<ProposedEvent> events = Events(2);
  constexpr int kRetries = 8;
  absl::Mutex mu;
  std::vector<AppendResult> results;
  absl::BlockingCounter done(kRetries);
  for (int i = 0; i < kRetries; ++i) {
    store_->AppendAsync(
        Request(kTenant, "order-1", events, ExpectedRevision::NoStream()),
        [&](absl::StatusOr<AppendResult> result) {
          EXPECT_TRUE(result.ok()) << result.status();
          if (result.ok()) {
            absl::MutexLock lock(&mu);
            results.push_back(*result);
          }
          done.DecrementCount();
        });
  }
  done.Wait();
  absl::MutexLock lock(&mu);
  ASSERT_THAT(results, SizeIs(kRetries));
  int appended = 0;
  for (const AppendResult& result : results) {
    if (!result.already_stored) ++appended;
    EXPECT_EQ(result.first_position, 1u);
    EXPECT_EQ(result.last_position, 2u);
    EXPECT_EQ(result.last_revision, 1u);
  }
  EXPECT_EQ(appended, 1);
  EXPECT_EQ(Head(kTenant), 2u);
}

// 5. Tenants.

TEST_F(EventStoreTest, TenantsHaveIndependentRevisionsAndPositions) {
  MustAppend(Request("acme", "order-1", Events(3)));
  const ProposedEvent shared_id = Event();
  MustAppend(Request("acme", "order-1", {shared_id}));

  // The same stream name in another tenant starts afresh; so does the same
  // event id.
  AppendResult globex = MustAppend(
      Request("globex", "order-1", {shared_id}, ExpectedRevision::NoStream()));
  EXPECT_FALSE(globex.already_stored);
  EXPECT_EQ(globex.first_revision, 0u);
  EXPECT_EQ(globex.first_position, 1u);
  AppendResult acme = MustAppend(Request("acme", "order-1", Events(1)));
  EXPECT_EQ(acme.first_revision, 4u);
  EXPECT_EQ(acme.first_position, 5u);

  EXPECT_EQ(Head("acme"), 5u);
  EXPECT_EQ(Head("globex"), 1u);
  EXPECT_EQ(Head("initech"), 0u);
  EXPECT_THAT(Positions(ReadStream("globex", "order-1")), ElementsAre(1));
  EXPECT_THAT(Positions(ReadStream("acme", "order-1")),
              ElementsAre(1, 2, 3, 4, 5));
}

TEST_F(EventStoreTest, ReadLogNeverReturnsAnotherTenantsEvents) {
  for (int i = 0; i < 5; ++i) {
    MustAppend(Request("acme", absl::StrCat("order-", i), Events(2)));
    MustAppend(Request("globex", absl::StrCat("order-", i), Events(1)));
  }
  std::vector<RecordedEvent> acme = WholeLog("acme");
  std::vector<RecordedEvent> globex = WholeLog("globex");
  EXPECT_THAT(Positions(acme), ElementsAreArray(Range(1, 10)));
  EXPECT_THAT(Positions(globex), ElementsAreArray(Range(1, 5)));
  for (const RecordedEvent& a : acme) {
    for (const RecordedEvent& g : globex) {
      EXPECT_NE(a.record.event_id(), g.record.event_id());
    }
  }
  EXPECT_THAT(WholeLog("initech"), IsEmpty());
}

TEST_F(EventStoreTest, TenantNamedAsPrefixOfAnotherStaysSeparate) {
  MustAppend(Request("a-b", "s", Events(2)));
  MustAppend(Request("a", "s", Events(1)));
  MustAppend(Request("a-b", "s", Events(1)));
  MustAppend(Request("ab", "s", Events(4)));
  Reopen();  // Heads are then derived from the log's keys.

  EXPECT_EQ(Head("a"), 1u);
  EXPECT_EQ(Head("a-b"), 3u);
  EXPECT_EQ(Head("ab"), 4u);
  EXPECT_THAT(Positions(WholeLog("a")), ElementsAre(1));
  EXPECT_THAT(Positions(WholeLog("a-b")), ElementsAre(1, 2, 3));
  EXPECT_THAT(Revisions(ReadStream("a", "s", kEnd, true, 10)), ElementsAre(0));
  absl::StatusOr<StreamInfo> info = store_->GetStreamInfo("a", "s");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->revision, 0u);
  EXPECT_EQ(MustAppend(Request("a", "s", Events(1), ExpectedRevision::Exact(0)))
                .first_position,
            2u);
  EXPECT_EQ(MustAppend(Request("a-b", "s", Events(1))).first_revision, 3u);
}

// 6. Concurrency.

TEST_F(EventStoreTest, ConcurrentAppendsWithSameExpectedRevisionOneWins) {
  MustAppend(Request(kTenant, "order-1", Events(1)));  // Revision 0.
  constexpr int kThreads = 16;
  std::vector<AppendRequest> requests;
  for (int i = 0; i < kThreads; ++i) {
    requests.push_back(
        Request(kTenant, "order-1", Events(2), ExpectedRevision::Exact(0)));
  }
  std::vector<absl::Status> statuses(kThreads);
  absl::Notification start;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.WaitForNotification();
      statuses[i] = store_->Append(std::move(requests[i])).status();
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();

  int won = 0;
  for (const absl::Status& status : statuses) {
    if (status.ok()) {
      ++won;
      continue;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
    std::optional<RevisionConflict> conflict = ErrorRevisionConflict(status);
    ASSERT_TRUE(conflict.has_value()) << status;
    EXPECT_TRUE(conflict->stream_exists);
    EXPECT_EQ(conflict->actual_revision, 2u);
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(Head(kTenant), 3u);
  EXPECT_THAT(Revisions(ReadStream(kTenant, "order-1")), ElementsAre(0, 1, 2));
}

TEST_F(EventStoreTest, ConcurrentAppendsToManyStreamsAreGaplessAfterReopen) {
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 30;
  constexpr int kStreams = 7;
  const std::string tenants[] = {"acme", "globex"};

  struct Appended {
    std::string tenant;
    std::string stream;
    std::vector<std::string> ids;
    AppendResult result;
  };
  absl::Mutex mu;
  std::vector<Appended> appended;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kAppendsPerThread; ++j) {
        Appended a;
        a.tenant = tenants[(t + j) % 2];
        a.stream = absl::StrCat("s-", (t * kAppendsPerThread + j) % kStreams);
        std::vector<ProposedEvent> events = Events(1 + j % 3);
        for (const ProposedEvent& e : events) a.ids.push_back(e.event_id);
        absl::StatusOr<AppendResult> result =
            store_->Append(Request(a.tenant, a.stream, std::move(events)));
        ASSERT_TRUE(result.ok()) << result.status();
        a.result = *result;
        absl::MutexLock lock(&mu);
        appended.push_back(std::move(a));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_THAT(appended, SizeIs(kThreads * kAppendsPerThread));

  std::map<std::string, uint64_t> totals;
  for (const Appended& a : appended) totals[a.tenant] += a.ids.size();

  auto check = [&] {
    for (const std::string& tenant : tenants) {
      SCOPED_TRACE(tenant);
      std::vector<RecordedEvent> log = WholeLog(tenant);
      EXPECT_THAT(Positions(log), ElementsAreArray(Range(1, totals[tenant])));
      EXPECT_EQ(Head(tenant), totals[tenant]);
      std::map<std::string, uint64_t> next_revision;
      for (const RecordedEvent& event : log) {
        EXPECT_EQ(event.record.revision(),
                  next_revision[event.record.stream()]++);
      }
      for (const auto& [stream, count] : next_revision) {
        EXPECT_THAT(Revisions(ReadStream(tenant, stream)),
                    ElementsAreArray(Range(0, count - 1)));
      }
      // Each append's result names exactly where its events are.
      for (const Appended& a : appended) {
        if (a.tenant != tenant) continue;
        ASSERT_EQ(a.result.last_position - a.result.first_position + 1,
                  a.ids.size());
        for (size_t k = 0; k < a.ids.size(); ++k) {
          const EventRecord& record =
              log[a.result.first_position + k - 1].record;
          EXPECT_EQ(IdOf(record), a.ids[k]);
          EXPECT_EQ(record.stream(), a.stream);
          EXPECT_EQ(record.revision(), a.result.first_revision + k);
        }
      }
    }
  };
  check();
  Reopen();
  check();
  EXPECT_EQ(MustAppend(Request("acme", "s-0", Events(1))).first_position,
            totals["acme"] + 1);
}

// 7. ReadLog.

class ReadLogTest : public EventStoreTest {
 protected:
  void SetUp() override {
    EventStoreTest::SetUp();
    MustAppend(Request(kTenant, "order-1", {Event("OrderPlaced")}));   // 1
    MustAppend(Request(kTenant, "user-1", {Event("UserCreated")}));    // 2
    MustAppend(Request(kTenant, "order-2", {Event("OrderPlaced")}));   // 3
    MustAppend(Request(kTenant, "user-1", {Event("UserRenamed")}));    // 4
    MustAppend(Request(kTenant, "order-1", {Event("OrderShipped")}));  // 5
    MustAppend(Request(kTenant, "invoice", {Event("InvoiceSent")}));   // 6
    MustAppend(Request(kTenant, "orders-x", {Event("OrderPlaced")}));  // 7
  }
};

TEST_F(ReadLogTest, ReadsFromPositionUpToMaxCount) {
  LogPage page = ReadLog(kTenant, 0, 2);
  EXPECT_THAT(Positions(page.events), ElementsAre(1, 2));
  EXPECT_EQ(page.next_position, 3u);
  EXPECT_EQ(page.head_position, 7u);
  EXPECT_EQ(page.events[1].record.stream(), "user-1");

  page = ReadLog(kTenant, page.next_position, 2);
  EXPECT_THAT(Positions(page.events), ElementsAre(3, 4));
  EXPECT_EQ(page.next_position, 5u);

  page = ReadLog(kTenant, 6, 100);
  EXPECT_THAT(Positions(page.events), ElementsAre(6, 7));
  EXPECT_EQ(page.next_position, 8u);

  EXPECT_THAT(Positions(ReadLog(kTenant, 1, 100).events),
              ElementsAreArray(Range(1, 7)));
  page = ReadLog(kTenant, 8, 100);
  EXPECT_THAT(page.events, IsEmpty());
  EXPECT_EQ(page.next_position, 8u);
  EXPECT_EQ(page.head_position, 7u);

  absl::StatusOr<LogPage> by_bytes =
      store_->ReadLog(kTenant, 1, LogFilter{}, 100, /*max_bytes=*/1);
  ASSERT_TRUE(by_bytes.ok()) << by_bytes.status();
  EXPECT_THAT(Positions(by_bytes->events), ElementsAre(1));
  EXPECT_EQ(by_bytes->next_position, 2u);
}

TEST_F(ReadLogTest, FiltersByCategoryAndTypeAndSkipsPastUnmatched) {
  LogPage page = ReadLog(kTenant, 1, 100, {{"order"}, {}});
  EXPECT_THAT(Positions(page.events), ElementsAre(1, 3, 5));
  EXPECT_EQ(page.next_position, 8u);

  page = ReadLog(kTenant, 1, 2, {{"order"}, {}});
  EXPECT_THAT(Positions(page.events), ElementsAre(1, 3));
  EXPECT_EQ(page.next_position, 4u);
  page = ReadLog(kTenant, page.next_position, 2, {{"order"}, {}});
  EXPECT_THAT(Positions(page.events), ElementsAre(5));
  EXPECT_EQ(page.next_position, 8u);

  EXPECT_THAT(Positions(ReadLog(kTenant, 1, 100, {{}, {"OrderPlaced"}}).events),
              ElementsAre(1, 3, 7));
  EXPECT_THAT(
      Positions(ReadLog(kTenant, 1, 100, {{"order"}, {"OrderPlaced"}}).events),
      ElementsAre(1, 3));
  EXPECT_THAT(
      Positions(ReadLog(kTenant, 1, 100, {{"user", "invoice"}, {}}).events),
      ElementsAre(2, 4, 6));
  EXPECT_THAT(Positions(ReadLog(kTenant, 1, 100, {{"orders"}, {}}).events),
              ElementsAre(7));

  page = ReadLog(kTenant, 2, 100, {{"nothing"}, {}});
  EXPECT_THAT(page.events, IsEmpty());
  EXPECT_EQ(page.next_position, 8u);
  EXPECT_EQ(page.head_position, 7u);
}

TEST_F(ReadLogTest, ScanLogVisitsWhatReadLogReturnsInPlace) {
  const LogFilter filter{{"order"}, {}};
  std::vector<uint64_t> positions;
  std::vector<std::string> types, streams, ids;
  absl::StatusOr<LogScan> scan = store_->ScanLog(
      kTenant, 2, filter, 100, 3 << 20,
      [&](uint64_t position, const EventRecordView& record) {
        positions.push_back(position);
        types.emplace_back(record.type);
        streams.emplace_back(record.stream);
        Uuid id{};
        if (record.event_id.size() == id.size()) {
          std::memcpy(id.data(), record.event_id.data(), id.size());
        }
        ids.push_back(FormatUuid(id));
        return absl::OkStatus();
      });
  ASSERT_TRUE(scan.ok()) << scan.status();
  const LogPage page = ReadLog(kTenant, 2, 100, filter);
  EXPECT_THAT(positions, ElementsAre(3, 5));
  EXPECT_THAT(Positions(page.events), ElementsAreArray(positions));
  EXPECT_THAT(types, ElementsAre("OrderPlaced", "OrderShipped"));
  EXPECT_THAT(streams, ElementsAre("order-2", "order-1"));
  EXPECT_EQ(ids[0], IdOf(page.events[0].record));
  EXPECT_EQ(scan->next_position, page.next_position);
  EXPECT_EQ(scan->head_position, 7u);

  // The visitor's error stops the scan and is returned.
  size_t visited = 0;
  scan = store_->ScanLog(kTenant, 1, {}, 100, 3 << 20,
                         [&](uint64_t, const EventRecordView&) {
                           ++visited;
                           return absl::CancelledError("enough");
                         });
  EXPECT_EQ(scan.status(), absl::CancelledError("enough"));
  EXPECT_EQ(visited, 1u);
}

TEST(EventRecordViewTest, ReadsEveryFieldInPlaceAndRefusesMalformedBytes) {
  EventRecord record;
  record.set_event_id(std::string(16, '\x7f'));
  record.set_type("ThingHappened");
  record.set_content_type("application/json");
  record.set_data(std::string("\0binary\xff", 8));
  record.set_correlation_id("corr");
  record.set_causation_id("cause");
  record.set_actor("someone");
  record.set_source_platform("platform");
  record.set_occurred_at_micros(-1234567);  // Before the epoch.
  record.set_recorded_at_micros(1700000000000000);
  record.set_stream("thing-1");
  record.set_revision(42);
  std::string stored = record.SerializeAsString();
  stored.append("\x78\x05");  // A field this build does not know (15).

  EventRecordView view;
  ASSERT_TRUE(ParseEventRecordView(stored, &view));
  EXPECT_EQ(view.event_id, record.event_id());
  EXPECT_EQ(view.type, record.type());
  EXPECT_EQ(view.content_type, record.content_type());
  EXPECT_EQ(view.data, record.data());
  EXPECT_EQ(view.correlation_id, "corr");
  EXPECT_EQ(view.causation_id, "cause");
  EXPECT_EQ(view.actor, "someone");
  EXPECT_EQ(view.source_platform, "platform");
  EXPECT_EQ(view.occurred_at_micros, -1234567);
  EXPECT_EQ(view.recorded_at_micros, 1700000000000000);
  EXPECT_EQ(view.stream, "thing-1");
  EXPECT_EQ(view.revision, 42u);
  EXPECT_EQ(view.data.data(), stored.data() + stored.find("binary") - 1);

  ASSERT_TRUE(ParseEventRecordView("", &view));  // Every field at default.
  EXPECT_TRUE(view.type.empty());
  EXPECT_EQ(view.revision, 0u);
  for (size_t cut : {size_t{1}, size_t{5}, stored.size() - 1}) {
    EXPECT_FALSE(ParseEventRecordView(stored.substr(0, cut), &view)) << cut;
  }
  EXPECT_FALSE(ParseEventRecordView("\x0b", &view));  // A group.
}

// Two stores sharing one small memory budget: their memtables are flushed to
// stay within it (a memtable alone would hold 64 MiB) and every event stays
// readable.
TEST(StorageMemoryTest, StoresSharingOneSmallBudgetKeepEveryEvent) {
  TempDir dir;
  std::shared_ptr<const StorageMemory> memory =
      NewStorageMemory(/*block_cache_bytes=*/1 << 20,
                       /*write_buffer_bytes=*/4 << 20);
  std::vector<std::unique_ptr<EventStore>> stores;
  std::vector<std::string> ids;
  for (const char* name : {"/a", "/b"}) {
    EventStoreOptions options;
    options.path = dir.path() + name;
    options.memory = memory;
    options.sync = false;
    absl::StatusOr<std::unique_ptr<EventStore>> store =
        EventStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    stores.push_back(*std::move(store));
  }
  constexpr int kAppends = 300;
  constexpr int kPerAppend = 5;
  const std::string data(8 << 10, 'x');
  for (int i = 0; i < kAppends; ++i) {
    for (auto& store : stores) {
      std::vector<ProposedEvent> events;
      for (int k = 0; k < kPerAppend; ++k) {
        events.push_back(Event("ThingHappened", data));
        if (k == 0) ids.push_back(events.back().event_id);
      }
      ASSERT_TRUE(store
                      ->Append(Request(kTenant, absl::StrCat("s-", i % 7),
                                       std::move(events)))
                      .ok());
    }
  }
  for (size_t s = 0; s < stores.size(); ++s) {
    EXPECT_THAT(stores[s]->HeadPosition(kTenant),
                IsOkAndHolds(uint64_t{kAppends * kPerAppend}));
    size_t read = 0;
    uint64_t from = 1;
    for (;;) {
      absl::StatusOr<LogPage> page =
          stores[s]->ReadLog(kTenant, from, LogFilter{}, 1000);
      ASSERT_TRUE(page.ok()) << page.status();
      if (page->events.empty()) break;
      for (const RecordedEvent& event : page->events) {
        EXPECT_EQ(event.record.data(), data);
      }
      read += page->events.size();
      from = page->next_position;
    }
    EXPECT_EQ(read, size_t{kAppends * kPerAppend});
    for (size_t i = s; i < ids.size(); i += 97) {
      absl::StatusOr<std::optional<RecordedEvent>> found =
          stores[i % 2]->FindEvent(kTenant, ids[i]);
      ASSERT_TRUE(found.ok()) << found.status();
      EXPECT_TRUE(found->has_value()) << ids[i];
    }
  }
  // Flushed to table files: the budget, not the 64 MiB memtable size, ruled.
  size_t tables = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir.path())) {
    if (entry.path().extension() == ".sst") ++tables;
  }
  EXPECT_GT(tables, 0u);
}

TEST_F(ReadLogTest, HeadPositionFollowsAppends) {
  EXPECT_EQ(Head(kTenant), 7u);
  MustAppend(Request(kTenant, "order-3", Events(2)));
  EXPECT_EQ(Head(kTenant), 9u);
  LogPage page = ReadLog(kTenant, 8, 100);
  EXPECT_EQ(page.head_position, 9u);
  EXPECT_THAT(Positions(page.events), ElementsAre(8, 9));
}

// 8. WaitForPosition.

TEST_F(EventStoreTest, ListsEveryTenantWithEvents) {
  EXPECT_THAT(*store_->ListTenants(), ::testing::IsEmpty());
  MustAppend(Request("b", "order-1", Events(2)));
  MustAppend(Request("a-b", "order-1", Events(1)));
  MustAppend(Request("a", "order-1", Events(3)));
  EXPECT_THAT(*store_->ListTenants(), ::testing::ElementsAre("a", "a-b", "b"));
  Reopen();
  EXPECT_THAT(*store_->ListTenants(), ::testing::ElementsAre("a", "a-b", "b"));
}

TEST_F(EventStoreTest, CommitCountMovesWithEveryCommit) {
  const uint64_t before = store_->CommitCount();
  // Nothing committed: the wait ends at its deadline with the same count.
  EXPECT_EQ(store_->WaitForCommit(before, absl::Now() + absl::Milliseconds(10)),
            before);
  std::thread appender(
      [&] { MustAppend(Request("other-tenant", "order-1", Events(1))); });
  EXPECT_GT(store_->WaitForCommit(before, absl::InfiniteFuture()), before);
  appender.join();
  // A refused append commits nothing.
  const uint64_t after = store_->CommitCount();
  EXPECT_FALSE(store_
                   ->Append(Request(kTenant, "order-1", Events(1),
                                    ExpectedRevision::Exact(7)))
                   .ok());
  EXPECT_EQ(store_->CommitCount(), after);
}

TEST_F(EventStoreTest, WaitForPositionReturnsAtOnceWhenReached) {
  MustAppend(Request(kTenant, "order-1", Events(3)));
  absl::StatusOr<uint64_t> head =
      store_->WaitForPosition(kTenant, 2, absl::Now() + absl::Hours(1));
  EXPECT_THAT(head, IsOkAndHolds(3u));
  // A deadline in the past does not matter once the position is reached.
  EXPECT_THAT(store_->WaitForPosition(kTenant, 3, absl::InfinitePast()),
              IsOkAndHolds(3u));
}

TEST_F(EventStoreTest, WaitForPositionWaitsForLaterAppend) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  absl::StatusOr<uint64_t> head = absl::UnknownError("not run");
  absl::Notification waiting;
  std::thread waiter([&] {
    waiting.Notify();
    head = store_->WaitForPosition(kTenant, 3, absl::Now() + absl::Hours(1));
  });
  waiting.WaitForNotification();
  MustAppend(Request(kTenant, "order-1", Events(1)));
  MustAppend(Request(kTenant, "order-2", Events(1)));
  waiter.join();
  EXPECT_THAT(head, IsOkAndHolds(3u));
}

TEST_F(EventStoreTest, WaitForPositionReturnsCurrentHeadAtDeadline) {
  MustAppend(Request(kTenant, "order-1", Events(2)));
  EXPECT_THAT(
      store_->WaitForPosition(kTenant, 5, absl::Now() + absl::Milliseconds(20)),
      IsOkAndHolds(2u));
  EXPECT_THAT(store_->WaitForPosition("globex", 1,
                                      absl::Now() + absl::Milliseconds(20)),
              IsOkAndHolds(0u));
}

TEST_F(EventStoreTest, WaitForPositionIsUnavailableOnShutdown) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  absl::StatusOr<uint64_t> head = 0u;
  absl::Notification waiting;
  std::thread waiter([&] {
    waiting.Notify();
    head = store_->WaitForPosition(kTenant, 10, absl::InfiniteFuture());
  });
  waiting.WaitForNotification();
  store_->Shutdown();
  waiter.join();
  EXPECT_EQ(head.status().code(), absl::StatusCode::kUnavailable)
      << head.status();
}

// 9. Validation.

TEST_F(EventStoreTest, RejectsBadTenant) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  const std::string bad_tenants[] = {
      "",
      "Acme",
      "ACME",
      std::string("ac\0me", 5),
      std::string("acme\0", 5),
      std::string(kMaxTenantLength + 1, 'a'),
      "-acme",
      "ac me",
      "acme_1",
  };
  for (const std::string& tenant : bad_tenants) {
    SCOPED_TRACE(absl::CEscape(tenant));
    ExpectRefused(Request(tenant, "order-1", Events(1)),
                  absl::StatusCode::kInvalidArgument, "tenant");
    EXPECT_THAT(store_->HeadPosition(tenant).status(),
                FieldErrorIs(absl::StatusCode::kInvalidArgument, "tenant"));
  }
  // A tenant name cut at 0x00 must not reach the shorter tenant's keys.
  EXPECT_EQ(Head("ac"), 0u);
  EXPECT_EQ(Head(kTenant), 1u);
  EXPECT_EQ(MustAppend(Request(std::string(kMaxTenantLength, 'a'), "order-1",
                               Events(1)))
                .first_position,
            1u);
}

TEST_F(EventStoreTest, RejectsBadStreamName) {
  const std::string bad_streams[] = {
      "",
      "-order",
      "_order",
      ".order",
      "order 1",
      "order/1",
      "order\n1",
      std::string("order\0"
                  "1",
                  7),
      std::string(kMaxStreamLength + 1, 's'),
  };
  for (const std::string& stream : bad_streams) {
    SCOPED_TRACE(absl::CEscape(stream));
    ExpectRefused(Request(kTenant, stream, Events(1)),
                  absl::StatusCode::kInvalidArgument, "stream");
  }
  EXPECT_EQ(Head(kTenant), 0u);
  EXPECT_EQ(StreamStatus(kTenant, "order"), absl::StatusCode::kNotFound);
  MustAppend(Request(kTenant, std::string(kMaxStreamLength, 's'), Events(1)));
  MustAppend(Request(kTenant, "Order-1_a.b:c@d", Events(1)));
}

TEST_F(EventStoreTest, RejectsBadEventId) {
  const std::string bad_ids[] = {
      "",
      "not-a-uuid",
      "0123456789abcdef0123456789abcdef",       // No dashes.
      "01234567-89ab-cdef-0123-456789abcdeg",   // Not hex.
      "01234567-89ab-cdef-0123_456789abcdef",   // Wrong separator.
      "01234567-89ab-cdef-0123-456789abcdef0",  // Too long.
      "{01234567-89ab-cdef-0123-456789abcde}",
  };
  for (const std::string& id : bad_ids) {
    SCOPED_TRACE(id);
    std::vector<ProposedEvent> events = Events(2);
    events[1].event_id = id;
    ExpectRefused(Request(kTenant, "order-1", events),
                  absl::StatusCode::kInvalidArgument, "events[1].event_id");
  }
  EXPECT_EQ(StreamStatus(kTenant, "order-1"), absl::StatusCode::kNotFound);
}

TEST_F(EventStoreTest, RejectsBadEventType) {
  const std::string bad_types[] = {
      "",
      "1Type",
      "_Type",
      "Order-Placed",
      "Order Placed",
      std::string(kMaxTypeLength + 1, 'T'),
  };
  for (const std::string& type : bad_types) {
    SCOPED_TRACE(type);
    ExpectRefused(Request(kTenant, "order-1", {Event(type)}),
                  absl::StatusCode::kInvalidArgument, "events[0].type");
  }
  EXPECT_EQ(StreamStatus(kTenant, "order-1"), absl::StatusCode::kNotFound);
  MustAppend(Request(kTenant, "order-1", {Event("v2.Order_Placed9")}));
}

// Too large or too many events are malformed requests (event_store.h).
TEST_F(EventStoreTest, RejectsOversizedData) {
  std::vector<ProposedEvent> events = Events(2);
  events[1].data = std::string(kMaxDataBytes + 1, 'x');
  ExpectRefused(Request(kTenant, "order-1", events),
                absl::StatusCode::kInvalidArgument, "events[1].data");
  EXPECT_EQ(StreamStatus(kTenant, "order-1"), absl::StatusCode::kNotFound);
  events[1].data = std::string(kMaxDataBytes, 'x');
  MustAppend(Request(kTenant, "order-1", events));
}

TEST_F(EventStoreTest, RejectsTooManyEvents) {
  ExpectRefused(Request(kTenant, "order-1", Events(kMaxEventsPerAppend + 1)),
                absl::StatusCode::kInvalidArgument, "events");
  EXPECT_EQ(StreamStatus(kTenant, "order-1"), absl::StatusCode::kNotFound);
  MustAppend(Request(kTenant, "order-1", Events(kMaxEventsPerAppend)));
}

TEST_F(EventStoreTest, RejectsEmptyEvents) {
  ExpectRefused(Request(kTenant, "order-1", {}),
                absl::StatusCode::kInvalidArgument, "events");
  EXPECT_EQ(StreamStatus(kTenant, "order-1"), absl::StatusCode::kNotFound);
}

TEST_F(EventStoreTest, RejectsOverlongMetadataAndContentType) {
  const std::string too_long(kMaxMetadataFieldLength + 1, 'm');
  struct Case {
    std::string field;
    std::string ProposedEvent::*member;
  };
  const Case cases[] = {
      {"events[0].metadata.correlation_id", &ProposedEvent::correlation_id},
      {"events[0].metadata.causation_id", &ProposedEvent::causation_id},
      {"events[0].metadata.actor", &ProposedEvent::actor},
      {"events[0].metadata.source_platform", &ProposedEvent::source_platform},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    ProposedEvent event = Event();
    event.*c.member = too_long;
    ExpectRefused(Request(kTenant, "order-1", {event}),
                  absl::StatusCode::kInvalidArgument, c.field);
    event.*c.member = std::string(kMaxMetadataFieldLength, 'm');
    EXPECT_FALSE(
        MustAppend(Request(kTenant, "order-1", {event})).already_stored);
  }
  ProposedEvent event = Event();
  event.content_type = std::string(kMaxContentTypeLength + 1, 'c');
  ExpectRefused(Request(kTenant, "order-1", {event}),
                absl::StatusCode::kInvalidArgument, "events[0].content_type");
  EXPECT_EQ(Head(kTenant), 4u);
}

// 10. Shutdown.

TEST_F(EventStoreTest, AppendAfterShutdownIsUnavailable) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  store_->Shutdown();
  store_->Shutdown();  // Idempotent.

  absl::Status async_status = absl::UnknownError("callback not run");
  store_->AppendAsync(Request(kTenant, "order-1", Events(1)),
                      [&](absl::StatusOr<AppendResult> result) {
                        async_status = result.status();
                      });
  EXPECT_EQ(async_status.code(), absl::StatusCode::kUnavailable)
      << async_status;
  EXPECT_EQ(
      store_->Append(Request(kTenant, "order-1", Events(1))).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(Head(kTenant), 1u);

  Reopen();
  EXPECT_EQ(Head(kTenant), 1u);
}

TEST_F(EventStoreTest, ShutdownCompletesAcceptedAppends) {
  constexpr int kAppends = 50;
  absl::Mutex mu;
  int ok = 0;
  for (int i = 0; i < kAppends; ++i) {
    store_->AppendAsync(Request(kTenant, absl::StrCat("s-", i % 5), Events(1)),
                        [&](absl::StatusOr<AppendResult> result) {
                          EXPECT_TRUE(result.ok()) << result.status();
                          absl::MutexLock lock(&mu);
                          if (result.ok()) ++ok;
                        });
  }
  store_->Shutdown();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(ok, kAppends);
  }
  Reopen();
  EXPECT_THAT(Positions(WholeLog(kTenant)),
              ElementsAreArray(Range(1, kAppends)));
}

TEST_F(EventStoreTest, ConcurrentShutdownsAllReturn) {
  constexpr int kRounds = 20;
  constexpr int kThreads = 4;
  for (int round = 0; round < kRounds; ++round) {
    Reopen();
    for (int i = 0; i < 5; ++i) {
      store_->AppendAsync(Request(kTenant, "order-1", Events(1)),
                          [](absl::StatusOr<AppendResult> result) {
                            EXPECT_TRUE(result.ok()) << result.status();
                          });
    }
    absl::Notification start;
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        start.WaitForNotification();
        store_->Shutdown();
      });
    }
    start.Notify();
    for (std::thread& thread : threads) thread.join();
  }
  Reopen();
  EXPECT_EQ(Head(kTenant), 5u * kRounds);
}

// `done` may read the store, also when the append is refused inline.
TEST_F(EventStoreTest, RefusedAppendCallbackMayReadTheStore) {
  MustAppend(Request(kTenant, "order-1", Events(1)));
  auto append_reading_head = [&](absl::StatusCode expected_code) {
    absl::StatusOr<uint64_t> head = absl::UnknownError("callback not run");
    store_->AppendAsync(Request(kTenant, "order-1", Events(1)),
                        [&](absl::StatusOr<AppendResult> result) {
                          EXPECT_EQ(result.status().code(), expected_code)
                              << result.status();
                          head = store_->HeadPosition(kTenant);
                        });
    EXPECT_THAT(head, IsOkAndHolds(1u));
  };

  options_.max_queued_appends = 0;  // Every append finds the queue full.
  Reopen();
  append_reading_head(absl::StatusCode::kResourceExhausted);
  store_->Shutdown();
  append_reading_head(absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace throughline::eventstore
