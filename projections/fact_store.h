// FactStore: the views' state — every CPD event of every trust, decoded,
// with its log position and times, indexed by kind — in a RocksDB database
// of its own, beside a per-trust checkpoint written in the same batch.
//
// A fact's event is the stored event's data spliced in as the CpdEvent field
// its type names, without decoding it: applying costs no protobuf parsing,
// and data that does not parse is found at query time, where Scan skips it
// (as it would skip an event of no CPD type).
//
// Views are computed from these facts at query time, so a view as of any log
// position, over any window and scope, is exact; reading only the kinds a
// view needs keeps queries proportional to what they use.
//
//   column family  key                                    value
//   -------------  -------------------------------------  ------------------
//   facts          tenant 0x00 kind(1) position(8, BE)    StoredFact
//   checkpoints    tenant                                 position(8, BE)
//   default        "version"                              kFactStoreVersion
//
// A checkpoint is the last log position applied; facts and checkpoint are
// written in one WriteBatch, so after a crash the store resumes exactly
// after the last applied position: nothing is applied twice or skipped.
// When kFactStoreVersion changes (the fact encoding changed), Open drops
// every fact and checkpoint and the projector rebuilds from position 0.
//
// Thread safety: all methods are safe to call concurrently; Apply, ApplyLog
// and WriteStaged for one tenant must not run concurrently with another of
// them or a Reset of that tenant (the Projector serializes them). StageLog
// may run at any time.

#ifndef THROUGHLINE_PROJECTIONS_FACT_STORE_H_
#define THROUGHLINE_PROJECTIONS_FACT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "throughline/cpd/v1/events.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace throughline::projections {

namespace cpd = ::throughline::cpd::v1;

// Bump when the facts written by Apply change meaning.
inline constexpr uint32_t kFactStoreVersion = 1;

// Groups of event types a view may ask for.
enum class FactKind : uint8_t {
  kOrganisation = 1,  // Trust, schools, departments, development areas.
  kStaff = 2,
  kObservation = 3,
  kLearningWalk = 4,
  kCoaching = 5,
  kAppraisal = 6,
  kProgramme = 7,  // Programmes and enquiry findings.
  kSession = 8,
  kFollowUp = 9,
  kPlanning = 10,  // Priorities, time, budgets, spend.
  kDecision = 11,  // Training needs, decisions, evaluations.
};

// The kind an event is stored under.
FactKind KindOf(const cpd::CpdEvent& event);

// One CPD event as the views see it.
struct Fact {
  uint64_t position = 0;
  absl::Time occurred_at;
  absl::Time recorded_at;
  cpd::CpdEvent event;
};

class FactStore {
 public:
  // Opens (creating if needed) the store at `path`. Its block cache and
  // memtables come from `memory` (shared with the event store), or from a
  // budget of its own of 8 MiB of blocks and 32 MiB of memtables when null.
  static absl::StatusOr<std::unique_ptr<FactStore>> Open(
      const std::string& path,
      std::shared_ptr<const eventstore::StorageMemory> memory = nullptr);
  ~FactStore();

  // True when Open found facts of another version and dropped them.
  bool was_reset() const { return was_reset_; }

  // Applies `events`, the tenant's log from Checkpoint(tenant) + 1 on in
  // order (non-CPD events are skipped but advance the checkpoint), and
  // advances the checkpoint to the last one, atomically.
  // FailedPrecondition if the first position does not follow the checkpoint.
  absl::Status Apply(const std::string& tenant,
                     const std::vector<eventstore::RecordedEvent>& events);

  // Where ApplyLog left the tenant.
  struct LogProgress {
    uint64_t checkpoint = 0;  // Last position applied.
    uint64_t head = 0;        // The log's head when it was read.
  };
  // Apply of the tenant's next events (at most `max_count`, from
  // Checkpoint(tenant) + 1) read straight from `log`'s stored records, with
  // no event object in between: StageLog then WriteStaged.
  absl::StatusOr<LogProgress> ApplyLog(const std::string& tenant,
                                       const eventstore::EventStore& log,
                                       size_t max_count);

  // A page of one tenant's log read and made ready to write: the facts of
  // its events and the checkpoint after them, in one batch. Move-only.
  class StagedPage {
   public:
    StagedPage(StagedPage&&) noexcept;
    StagedPage& operator=(StagedPage&&) noexcept;
    ~StagedPage();

    const std::string& tenant() const { return tenant_; }
    uint64_t first() const { return first_; }  // First position read.
    uint64_t last() const { return last_; }    // Last one; first() - 1 if none.
    uint64_t head() const { return head_; }    // The log's head when read.
    bool empty() const { return last_ < first_; }

   private:
    friend class FactStore;
    StagedPage();

    std::string tenant_;
    uint64_t first_ = 1;
    uint64_t last_ = 0;
    uint64_t head_ = 0;
    std::unique_ptr<rocksdb::WriteBatch> batch_;
  };

  // ApplyLog in two halves, so that the next page can be read while one is
  // written (the projector's path). StageLog reads the tenant's events from
  // `from_position` (at most `max_count` of them, and at most ReadLog's
  // default bytes of event data) and stages their facts, writing nothing:
  // the log never changes below its head, so it may run on any thread,
  // ahead of the checkpoint. WriteStaged writes one staged page — its facts
  // and the checkpoint together, atomically — only if the tenant's
  // checkpoint is still first() - 1; otherwise it writes nothing and returns
  // FailedPrecondition (the checkpoint moved since the page was read: a
  // Reset, or another writer). An empty page writes nothing.
  absl::StatusOr<StagedPage> StageLog(const std::string& tenant,
                                      const eventstore::EventStore& log,
                                      uint64_t from_position,
                                      size_t max_count) const;
  absl::StatusOr<LogProgress> WriteStaged(StagedPage page);

  // The last position applied for `tenant` (0 before any).
  absl::StatusOr<uint64_t> Checkpoint(const std::string& tenant) const;

  // Drops every fact and the checkpoint of `tenant`, so that it is rebuilt.
  absl::Status Reset(const std::string& tenant);

  // Calls `visit` for every fact of `tenant` of the given kinds (all kinds
  // when empty) at positions <= max_position, in position order. Facts whose
  // event data does not parse are skipped.
  absl::Status Scan(const std::string& tenant,
                    const std::vector<FactKind>& kinds, uint64_t max_position,
                    const std::function<void(Fact&&)>& visit) const {
    return Scan(tenant, kinds, 0, max_position, visit);
  }
  // The same, for the facts at positions in [min_position, max_position].
  absl::Status Scan(const std::string& tenant,
                    const std::vector<FactKind>& kinds, uint64_t min_position,
                    uint64_t max_position,
                    const std::function<void(Fact&&)>& visit) const;

 private:
  FactStore() = default;

  // Writes `page` if the checkpoint is `checkpoint` and first() follows it.
  absl::StatusOr<LogProgress> WriteStagedAt(uint64_t checkpoint,
                                            StagedPage page);

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* facts_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* checkpoints_cf_ = nullptr;
  bool was_reset_ = false;
};

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_FACT_STORE_H_
