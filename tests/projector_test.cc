// The views' state: FactStore checkpoints and the Projector that feeds it,
// on real RocksDB databases in a temporary directory.

#include "projections/projector.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "eventstore/event_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/cpd_codec.h"
#include "projections/fact_store.h"
#include "projections/history_cache.h"
#include "rocksdb/db.h"
#include "tests/test_support.h"

namespace throughline {
namespace {

using projections::Fact;
using projections::FactKind;
using projections::FactStore;
using projections::Projector;
using ::testing::ElementsAre;
using throughline::testing::NewUuid;
using throughline::testing::TempDir;

class ProjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventstore::EventStoreOptions options;
    options.path = dir_.path() + "/log";
    log_ = *eventstore::EventStore::Open(options);
    OpenFacts();
  }

  void OpenFacts() {
    facts_.reset();
    auto facts = FactStore::Open(dir_.path() + "/views");
    ASSERT_TRUE(facts.ok()) << facts.status();
    facts_ = *std::move(facts);
  }

  // Appends a CPD event (a school with id `id`) to `tenant`.
  void AddSchool(const std::string& tenant, const std::string& id) {
    cpd::v1::CpdEvent event;
    event.mutable_school_added()->set_school_id(id);
    event.mutable_school_added()->set_name(id);
    eventstore::AppendRequest request;
    request.tenant = tenant;
    request.stream = "organisation";
    eventstore::ProposedEvent proposed;
    projections::EncodeCpdEvent(event, &proposed);
    proposed.event_id = NewUuid();
    request.events.push_back(std::move(proposed));
    ASSERT_TRUE(log_->Append(std::move(request)).ok());
  }

  // Appends an event that is not a CPD event.
  void AddOther(const std::string& tenant) {
    eventstore::AppendRequest request;
    request.tenant = tenant;
    request.stream = "other-1";
    eventstore::ProposedEvent proposed;
    proposed.event_id = NewUuid();
    proposed.type = "SomethingElse";
    request.events.push_back(std::move(proposed));
    ASSERT_TRUE(log_->Append(std::move(request)).ok());
  }

  std::vector<std::string> Schools(const std::string& tenant,
                                   uint64_t max_position = UINT64_MAX) {
    std::vector<std::string> schools;
    EXPECT_TRUE(facts_
                    ->Scan(tenant, {FactKind::kOrganisation}, max_position,
                           [&](Fact&& fact) {
                             schools.push_back(
                                 fact.event.school_added().school_id());
                           })
                    .ok());
    return schools;
  }

  // Appends `count` events to `tenant` in appends of 100: schools, staff
  // (another kind, with an occurred time) and events of no CPD type.
  void AddMany(const std::string& tenant, int count) {
    for (int done = 0; done < count;) {
      eventstore::AppendRequest request;
      request.tenant = tenant;
      request.stream = "many";
      for (int i = 0; i < 100 && done < count; ++i, ++done) {
        eventstore::ProposedEvent proposed;
        if (done % 3 == 2) {
          proposed.type = "SomethingElse";
          proposed.data = absl::StrCat("other ", done);
        } else {
          cpd::v1::CpdEvent event;
          if (done % 3 == 0) {
            event.mutable_school_added()->set_school_id(
                absl::StrCat(tenant, "-school-", done));
          } else {
            event.mutable_staff_member_joined()->set_staff_id(
                absl::StrCat(tenant, "-staff-", done));
          }
          projections::EncodeCpdEvent(event, &proposed);
          proposed.occurred_at = absl::FromUnixSeconds(1700000000 + done);
        }
        proposed.event_id = NewUuid();
        request.events.push_back(std::move(proposed));
      }
      ASSERT_TRUE(log_->Append(std::move(request)).ok());
    }
  }

  // Every fact of `tenant` in `facts`, as comparable text.
  static std::vector<std::string> AllFacts(const FactStore& facts,
                                           const std::string& tenant) {
    std::vector<std::string> all;
    EXPECT_TRUE(facts
                    .Scan(tenant, {}, UINT64_MAX,
                          [&](Fact&& fact) {
                            all.push_back(absl::StrCat(
                                fact.position, " ",
                                absl::ToUnixMicros(fact.occurred_at), " ",
                                absl::ToUnixMicros(fact.recorded_at), " ",
                                fact.event.ShortDebugString()));
                          })
                    .ok());
    return all;
  }

  // Waits (at most 60 s) until `projector` has brought `tenant` to `head`.
  static void WaitForHead(Projector& projector, const std::string& tenant,
                          uint64_t head) {
    for (int i = 0; i < 6000; ++i) {
      absl::StatusOr<projections::ProjectionProgress> progress =
          projector.Progress(tenant);
      ASSERT_TRUE(progress.ok()) << progress.status();
      if (progress->position >= head) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << tenant << " did not reach " << head;
  }

  std::vector<eventstore::RecordedEvent> Log(const std::string& tenant,
                                             uint64_t from, size_t count) {
    auto page = log_->ReadLog(tenant, from, {}, count);
    EXPECT_TRUE(page.ok());
    return page->events;
  }

  TempDir dir_;
  std::unique_ptr<eventstore::EventStore> log_;
  std::unique_ptr<FactStore> facts_;
};

TEST_F(ProjectorTest, ApplyAdvancesTheCheckpointAndSkipsOtherEvents) {
  AddSchool("trust-a", "north");
  AddOther("trust-a");
  AddSchool("trust-a", "south");
  ASSERT_TRUE(facts_->Apply("trust-a", Log("trust-a", 1, 10)).ok());
  EXPECT_EQ(*facts_->Checkpoint("trust-a"), 3u);
  EXPECT_THAT(Schools("trust-a"), ElementsAre("north", "south"));
  EXPECT_THAT(Schools("trust-a", 2), ElementsAre("north"));
  EXPECT_EQ(*facts_->Checkpoint("trust-b"), 0u);
}

// The projector's path: facts written straight from the log's stored
// records, the same as Apply's, in pages.
TEST_F(ProjectorTest, ApplyLogMatchesApplyAndPagesToTheHead) {
  AddSchool("trust-a", "north");
  AddOther("trust-a");
  AddSchool("trust-a", "south");
  AddSchool("trust-a", "east");
  absl::StatusOr<FactStore::LogProgress> progress =
      facts_->ApplyLog("trust-a", *log_, 2);
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->checkpoint, 2u);
  EXPECT_EQ(progress->head, 4u);
  EXPECT_THAT(Schools("trust-a"), ElementsAre("north"));
  progress = facts_->ApplyLog("trust-a", *log_, 2);
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->checkpoint, 4u);
  EXPECT_EQ(*facts_->Checkpoint("trust-a"), 4u);
  progress = facts_->ApplyLog("trust-a", *log_, 2);  // Nothing left.
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->checkpoint, 4u);

  // Every fact field as Apply of the decoded events gives it.
  std::vector<Fact> from_log;
  ASSERT_TRUE(facts_
                  ->Scan("trust-a", {}, UINT64_MAX,
                         [&](Fact&& fact) { from_log.push_back(fact); })
                  .ok());
  TempDir other;
  auto applied = *FactStore::Open(other.path());
  ASSERT_TRUE(applied->Apply("trust-a", Log("trust-a", 1, 10)).ok());
  std::vector<Fact> from_apply;
  ASSERT_TRUE(applied
                  ->Scan("trust-a", {}, UINT64_MAX,
                         [&](Fact&& fact) { from_apply.push_back(fact); })
                  .ok());
  ASSERT_EQ(from_log.size(), 3u);
  ASSERT_EQ(from_apply.size(), from_log.size());
  const std::vector<eventstore::RecordedEvent> log = Log("trust-a", 1, 10);
  for (size_t i = 0; i < from_log.size(); ++i) {
    const eventstore::RecordedEvent& event = log[from_log[i].position - 1];
    EXPECT_EQ(from_log[i].position, from_apply[i].position);
    EXPECT_EQ(from_log[i].occurred_at,
              absl::FromUnixMicros(event.record.occurred_at_micros()));
    EXPECT_EQ(from_log[i].recorded_at,
              absl::FromUnixMicros(event.record.recorded_at_micros()));
    EXPECT_EQ(from_log[i].occurred_at, from_apply[i].occurred_at);
    EXPECT_EQ(from_log[i].recorded_at, from_apply[i].recorded_at);
    EXPECT_EQ(from_log[i].event.SerializeAsString(),
              from_apply[i].event.SerializeAsString());
    EXPECT_EQ(projections::CpdEventType(from_log[i].event),
              event.record.type());
  }
}

// A CPD event type whose data does not parse is no fact: the views skip it
// and read on, as they skip events of other types.
TEST_F(ProjectorTest, CpdTypeWithDataThatDoesNotParseIsSkipped) {
  AddSchool("trust-a", "north");
  eventstore::AppendRequest request;
  request.tenant = "trust-a";
  request.stream = "organisation";
  eventstore::ProposedEvent proposed;
  proposed.event_id = NewUuid();
  proposed.type = "SchoolAdded";
  proposed.data = std::string("\xff\xff\xff", 3);
  request.events.push_back(std::move(proposed));
  ASSERT_TRUE(log_->Append(std::move(request)).ok());
  AddSchool("trust-a", "south");
  absl::StatusOr<FactStore::LogProgress> progress =
      facts_->ApplyLog("trust-a", *log_, 100);
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->checkpoint, 3u);
  EXPECT_THAT(Schools("trust-a"), ElementsAre("north", "south"));
}

std::vector<std::string> SchoolsIn(const projections::TrustHistory& history) {
  std::vector<std::string> schools;
  for (const Fact& fact : history.Of(cpd::v1::CpdEvent::kSchoolAdded)) {
    schools.push_back(fact.event.school_added().school_id());
  }
  return schools;
}

TEST_F(ProjectorTest, HistoryCacheAdvancesSnapshotsAndAnswersOlderPositions) {
  projections::HistoryCache cache(facts_.get(), 1000);
  AddSchool("trust-a", "north");
  AddOther("trust-a");
  ASSERT_TRUE(facts_->ApplyLog("trust-a", *log_, 100).ok());
  auto first = cache.At("trust-a", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(SchoolsIn(**first), ElementsAre("north"));
  EXPECT_EQ(cache.cached_facts(), 1u);

  AddSchool("trust-a", "south");
  AddSchool("trust-a", "east");
  ASSERT_TRUE(facts_->ApplyLog("trust-a", *log_, 100).ok());
  auto second = cache.At("trust-a", 4);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(SchoolsIn(**second), ElementsAre("north", "south", "east"));
  EXPECT_EQ((*second)->position(), 4u);
  // The snapshot the first query holds did not move.
  EXPECT_THAT(SchoolsIn(**first), ElementsAre("north"));
  EXPECT_EQ(cache.cached_facts(), 3u);

  // An older position than the cache's is loaded on its own.
  auto older = cache.At("trust-a", 3);
  ASSERT_TRUE(older.ok()) << older.status();
  EXPECT_THAT(SchoolsIn(**older), ElementsAre("north", "south"));
  // Between the cache's last fact and its position: the cached snapshot.
  auto same = cache.At("trust-a", 4);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->get(), second->get());
}

TEST_F(ProjectorTest, HistoryCacheStaysWithinItsBudget) {
  projections::HistoryCache cache(facts_.get(), 3);
  for (int i = 0; i < 2; ++i) AddSchool("trust-a", absl::StrCat("a", i));
  for (int i = 0; i < 2; ++i) AddSchool("trust-b", absl::StrCat("b", i));
  for (int i = 0; i < 5; ++i) AddSchool("trust-c", absl::StrCat("c", i));
  for (const char* tenant : {"trust-a", "trust-b", "trust-c"}) {
    ASSERT_TRUE(facts_->ApplyLog(tenant, *log_, 100).ok());
  }
  ASSERT_TRUE(cache.At("trust-a", 2).ok());
  EXPECT_EQ(cache.cached_facts(), 2u);
  // trust-b does not fit beside trust-a: the least recently used goes.
  auto b = cache.At("trust-b", 2);
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(SchoolsIn(**b), ElementsAre("b0", "b1"));
  EXPECT_EQ(cache.cached_facts(), 2u);
  // trust-c alone is over the budget: answered, never cached.
  auto c = cache.At("trust-c", 5);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(SchoolsIn(**c), ElementsAre("c0", "c1", "c2", "c3", "c4"));
  EXPECT_LE(cache.cached_facts(), 3u);

  projections::HistoryCache none(facts_.get(), 0);
  auto a = none.At("trust-a", 2);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(SchoolsIn(**a), ElementsAre("a0", "a1"));
  EXPECT_EQ(none.cached_facts(), 0u);
}

TEST_F(ProjectorTest, ApplyRefusesGapsAndRepeats) {
  AddSchool("trust-a", "north");
  AddSchool("trust-a", "south");
  // Starting past the checkpoint would skip an event.
  EXPECT_EQ(facts_->Apply("trust-a", Log("trust-a", 2, 1)).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(facts_->Apply("trust-a", Log("trust-a", 1, 1)).ok());
  // Starting at or before the checkpoint would apply an event twice.
  EXPECT_EQ(facts_->Apply("trust-a", Log("trust-a", 1, 2)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Schools("trust-a"), ElementsAre("north"));
}

TEST_F(ProjectorTest, CheckpointSurvivesReopeningWithItsFacts) {
  for (int i = 0; i < 5; ++i) AddSchool("trust-a", absl::StrCat("s", i));
  ASSERT_TRUE(facts_->Apply("trust-a", Log("trust-a", 1, 3)).ok());
  OpenFacts();
  EXPECT_FALSE(facts_->was_reset());
  EXPECT_EQ(*facts_->Checkpoint("trust-a"), 3u);
  ASSERT_TRUE(facts_->Apply("trust-a", Log("trust-a", 4, 10)).ok());
  EXPECT_THAT(Schools("trust-a"), ElementsAre("s0", "s1", "s2", "s3", "s4"));
}

TEST_F(ProjectorTest, AnotherVersionOfTheFactsIsDroppedAndRebuilt) {
  for (int i = 0; i < 3; ++i) AddSchool("trust-a", absl::StrCat("s", i));
  ASSERT_TRUE(facts_->Apply("trust-a", Log("trust-a", 1, 3)).ok());
  facts_.reset();
  {
    // Stored facts written by an older build.
    rocksdb::Options options;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}},
        {"facts", {}},
        {"checkpoints", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.path() + "/views", families,
                                  &handles, &db)
                    .ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "version", "0").ok());
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    delete db;
  }
  OpenFacts();
  EXPECT_TRUE(facts_->was_reset());
  EXPECT_EQ(*facts_->Checkpoint("trust-a"), 0u);
  EXPECT_THAT(Schools("trust-a"), ::testing::IsEmpty());
  Projector projector(log_.get(), facts_.get());
  projector.Start();
  EXPECT_TRUE(projector.Progress("trust-a")->rebuilding ||
              projector.Progress("trust-a")->position == 3);
  ASSERT_TRUE(
      projector.CatchUp("trust-a", 3, absl::Now() + absl::Seconds(30)).ok());
  EXPECT_FALSE(projector.Progress("trust-a")->rebuilding);
  EXPECT_THAT(Schools("trust-a"), ElementsAre("s0", "s1", "s2"));
}

TEST_F(ProjectorTest, CatchUpReadsEveryTenantInTheBackground) {
  AddSchool("trust-a", "north");
  AddSchool("trust-b", "east");
  Projector projector(log_.get(), facts_.get());
  projector.Start();
  // Appends after the start are followed too.
  AddSchool("trust-a", "south");
  for (const char* tenant : {"trust-a", "trust-b"}) {
    for (int i = 0; i < 600; ++i) {
      auto progress = projector.Progress(tenant);
      ASSERT_TRUE(progress.ok());
      if (progress->position == progress->head) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_THAT(Schools("trust-a"), ElementsAre("north", "south"));
  EXPECT_THAT(Schools("trust-b"), ElementsAre("east"));
  projector.Stop();
}

TEST_F(ProjectorTest, CatchUpOnDemandAndItsDeadline) {
  for (int i = 0; i < 3; ++i) AddSchool("trust-a", absl::StrCat("s", i));
  Projector projector(log_.get(), facts_.get());  // Not started.
  absl::Status late = projector.CatchUp("trust-a", 3, absl::InfinitePast());
  EXPECT_EQ(late.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(late.message()),
              ::testing::HasSubstr("up to position 0 of 3"));
  ASSERT_TRUE(
      projector.CatchUp("trust-a", 3, absl::Now() + absl::Seconds(30)).ok());
  auto progress = projector.Progress("trust-a");
  EXPECT_EQ(progress->position, 3u);
  EXPECT_EQ(progress->head, 3u);
  EXPECT_FALSE(progress->rebuilding);
}

TEST_F(ProjectorTest, RebuildStartsOverFromPositionZero) {
  for (int i = 0; i < 3; ++i) AddSchool("trust-a", absl::StrCat("s", i));
  Projector projector(log_.get(), facts_.get());
  ASSERT_TRUE(
      projector.CatchUp("trust-a", 3, absl::Now() + absl::Seconds(30)).ok());
  ASSERT_TRUE(projector.Rebuild("trust-a").ok());
  auto progress = projector.Progress("trust-a");
  EXPECT_EQ(progress->position, 0u);
  EXPECT_TRUE(progress->rebuilding);
  EXPECT_THAT(Schools("trust-a"), ::testing::IsEmpty());
  ASSERT_TRUE(
      projector.CatchUp("trust-a", 3, absl::Now() + absl::Seconds(30)).ok());
  EXPECT_FALSE(projector.Progress("trust-a")->rebuilding);
  EXPECT_THAT(Schools("trust-a"), ElementsAre("s0", "s1", "s2"));
}

// A rebuild reads each next page while the one before is written, across
// many pages and two trusts: the facts are exactly those of applying the log
// a few events at a time, and each trust's only from its own log.
TEST_F(ProjectorTest, PipelinedRebuildEqualsAnIncrementalCatchUp) {
  AddMany("trust-a", 9000);  // Five pages of 2,000, the last one short.
  AddMany("trust-b", 2500);
  AddSchool("trust-a", "last");

  TempDir incremental_dir;
  auto incremental = *FactStore::Open(incremental_dir.path());
  for (const char* tenant : {"trust-a", "trust-b"}) {
    for (;;) {
      absl::StatusOr<FactStore::LogProgress> progress =
          incremental->ApplyLog(tenant, *log_, 7);
      ASSERT_TRUE(progress.ok()) << progress.status();
      if (progress->checkpoint >= progress->head) break;
    }
  }

  Projector projector(log_.get(), facts_.get());
  projector.Start();
  WaitForHead(projector, "trust-a", 9001);
  WaitForHead(projector, "trust-b", 2500);
  projector.Stop();
  EXPECT_FALSE(projector.Progress("trust-a")->rebuilding);
  for (const char* tenant : {"trust-a", "trust-b"}) {
    SCOPED_TRACE(tenant);
    EXPECT_EQ(*facts_->Checkpoint(tenant), *incremental->Checkpoint(tenant));
    const std::vector<std::string> facts = AllFacts(*facts_, tenant);
    EXPECT_EQ(facts.size(), tenant == std::string("trust-a") ? 6001u : 1667u);
    EXPECT_EQ(facts, AllFacts(*incremental, tenant));
  }
  EXPECT_THAT(Schools("trust-b"),
              ::testing::Each(::testing::StartsWith("trust-b-school-")));
}

// Stopping while a rebuild is under way leaves whole pages, each with its
// checkpoint; a new projector over the reopened store (a restart) resumes
// after that checkpoint, and the facts are those of a rebuild never
// interrupted.
TEST_F(ProjectorTest, StopInTheMiddleOfARebuildThenResume) {
  AddMany("trust-a", 40000);
  TempDir whole_dir;
  auto whole = *FactStore::Open(whole_dir.path());
  {
    Projector projector(log_.get(), whole.get());
    ASSERT_TRUE(
        projector.CatchUp("trust-a", 40000, absl::Now() + absl::Seconds(60))
            .ok());
  }

  uint64_t stopped_at = 0;
  {
    Projector projector(log_.get(), facts_.get());
    projector.Start();
    while (*facts_->Checkpoint("trust-a") == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    projector.Stop();
    stopped_at = *facts_->Checkpoint("trust-a");
    RecordProperty("stopped_at", static_cast<int>(stopped_at));  // In the XML.
  }
  // Whole pages only, and nothing past the checkpoint.
  EXPECT_TRUE(stopped_at % 2000 == 0 || stopped_at == 40000) << stopped_at;
  const std::vector<std::string> partial = AllFacts(*facts_, "trust-a");
  std::vector<std::string> expected = AllFacts(*whole, "trust-a");
  std::vector<std::string> expected_partial;
  ASSERT_TRUE(whole
                  ->Scan("trust-a", {}, stopped_at,
                         [&](Fact&& fact) {
                           expected_partial.push_back(absl::StrCat(
                               fact.position, " ",
                               absl::ToUnixMicros(fact.occurred_at), " ",
                               absl::ToUnixMicros(fact.recorded_at), " ",
                               fact.event.ShortDebugString()));
                         })
                  .ok());
  EXPECT_EQ(partial, expected_partial);

  OpenFacts();
  EXPECT_EQ(*facts_->Checkpoint("trust-a"), stopped_at);
  Projector projector(log_.get(), facts_.get());
  projector.Start();
  WaitForHead(projector, "trust-a", 40000);
  projector.Stop();
  EXPECT_EQ(AllFacts(*facts_, "trust-a"), expected);
}

// Trusts take turns: a trust with a long log to rebuild gets at most
// kPagesPerTurn pages before another trust's new event is applied.
TEST_F(ProjectorTest, ATrustBeingRebuiltDoesNotHoldUpTheOthers) {
  const int kBig = 3 * Projector::kPagesPerTurn * 2000;
  AddMany("trust-a", kBig);  // Three turns; "trust-a" comes first.
  AddSchool("trust-b", "b0");
  Projector projector(log_.get(), facts_.get());
  projector.Start();
  uint64_t big_when_small_done = 0;
  for (int i = 0; i < 600000; ++i) {
    if (*facts_->Checkpoint("trust-b") == 1) {
      big_when_small_done = *facts_->Checkpoint("trust-a");
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  // Read after trust-b's checkpoint: trust-a was at most this far when
  // trust-b's event was applied.
  EXPECT_LT(big_when_small_done, static_cast<uint64_t>(kBig));
  WaitForHead(projector, "trust-a", kBig);
  projector.Stop();
  EXPECT_THAT(Schools("trust-b"), ElementsAre("b0"));
}

// A staged page is written only right after the checkpoint it was read
// for, and only to its own trust.
TEST_F(ProjectorTest, StagedPageIsWrittenOnlyAfterItsCheckpoint) {
  for (int i = 0; i < 4; ++i) AddSchool("trust-a", absl::StrCat("s", i));
  AddSchool("trust-b", "b0");
  absl::StatusOr<FactStore::StagedPage> first =
      facts_->StageLog("trust-a", *log_, 1, 2);
  absl::StatusOr<FactStore::StagedPage> second =
      facts_->StageLog("trust-a", *log_, 3, 2);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->first(), 1u);
  EXPECT_EQ(first->last(), 2u);
  EXPECT_EQ(second->head(), 4u);
  EXPECT_EQ(*facts_->Checkpoint("trust-a"), 0u);  // Staging writes nothing.

  // Out of order: refused, nothing written.
  absl::StatusOr<FactStore::LogProgress> written =
      facts_->WriteStaged(*std::move(second));
  EXPECT_EQ(written.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Schools("trust-a"), ::testing::IsEmpty());

  written = facts_->WriteStaged(*std::move(first));
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->checkpoint, 2u);
  EXPECT_THAT(Schools("trust-a"), ElementsAre("s0", "s1"));
  EXPECT_EQ(*facts_->Checkpoint("trust-b"), 0u);

  // Read before a Reset, for the old checkpoint: refused after it.
  second = facts_->StageLog("trust-a", *log_, 3, 2);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(facts_->Reset("trust-a").ok());
  EXPECT_EQ(facts_->WriteStaged(*std::move(second)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Schools("trust-a"), ::testing::IsEmpty());
  EXPECT_EQ(*facts_->Checkpoint("trust-a"), 0u);

  // Past the head: an empty page, which writes nothing.
  absl::StatusOr<FactStore::StagedPage> none =
      facts_->StageLog("trust-b", *log_, 2, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  written = facts_->WriteStaged(*std::move(none));
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->checkpoint, 0u);
  EXPECT_EQ(written->head, 1u);
}

}  // namespace
}  // namespace throughline
