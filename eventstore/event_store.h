// EventStore: a durable, tenant-scoped event log in RocksDB.
//
// Streams belong to one tenant. Each stream has a gapless revision from 0;
// each tenant has a gapless log position from 1 that orders all of its events
// in commit order. The store knows nothing about what the events mean.
//
// Appends go through a single committer thread (group commit): it takes every
// append waiting, checks expected revisions and event ids against the
// committed state plus the appends before it in the group, assigns revisions
// and positions, writes one RocksDB WriteBatch with sync=true, and only then
// completes the callers and publishes the new heads. "Assigned" and
// "committed" are therefore the same moment: a reader that sees position P
// has seen every position below P. An append that fails its checks is
// completed with its error and does not affect the rest of its group.
//
// Idempotency is stored, not cached: (tenant, event id) -> (position,
// revision, content digest) is written in the same batch as the event.
//
// Tamper evidence: each tenant's log is hash-chained (eventstore/format.h).
// The committer writes each event's chain hash in the same batch as the
// event and keeps each tenant's head hash in memory (loaded at open);
// Verify recomputes the chain from the stored bytes.
//
// Thread safety: all methods are safe to call concurrently.

#ifndef THROUGHLINE_EVENTSTORE_EVENT_STORE_H_
#define THROUGHLINE_EVENTSTORE_EVENT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/format.h"
#include "eventstore/record.pb.h"
#include "eventstore/rocksdb_backup.h"

namespace rocksdb {
class Cache;
class WriteBufferManager;
}  // namespace rocksdb

namespace throughline::eventstore {

using storage::EventRecord;

// One RocksDB memory budget for every database of a process: a block cache,
// and a write buffer manager whose memtables are charged to that cache, so
// that block cache plus memtables stay within the cache's capacity
// (block_cache_bytes + write_buffer_bytes) however many databases and column
// families share it.
struct StorageMemory {
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
};
std::shared_ptr<const StorageMemory> NewStorageMemory(
    size_t block_cache_bytes, size_t write_buffer_bytes);
// What one committed group of appends wrote (see EventStore's comment).
struct CommitStats {
  size_t appends = 0;  // Appends that stored new events.
  size_t events = 0;   // Events they stored.
  size_t refused = 0;  // Appends of the group completed with an error.
  // The RocksDB write of the group, fsync included.
  absl::Duration write_time;
  bool write_failed = false;
};

// Totals since the store opened.
struct EventStoreStats {
  uint64_t groups = 0;           // Committed groups (one write and fsync each).
  uint64_t appends = 0;          // Appends that stored new events.
  uint64_t events = 0;           // Events stored.
  uint64_t refused_appends = 0;  // Completed with an error by the committer.
  uint64_t failed_writes = 0;    // RocksDB writes that failed.
};

struct EventStoreOptions {
  // Directory of the RocksDB database; created if missing.
  std::string path;
  // Largest accepted event data, in bytes.
  size_t max_event_data_bytes = 256 * 1024;
  // Most events accepted in one Append.
  size_t max_events_per_append = 1000;
  // Most appends the committer accepts waiting at once; further appends are
  // refused with RESOURCE_EXHAUSTED until the queue drains.
  size_t max_queued_appends = 100000;
  // Whether each commit syncs the write-ahead log. Turning this off loses the
  // durability guarantee; it exists for benchmarks only.
  bool sync = true;
  // RocksDB block cache size, in bytes, when `memory` is not given.
  size_t block_cache_bytes = 64 << 20;
  // Memtables of all column families together, in bytes, when `memory` is
  // not given.
  size_t write_buffer_bytes = 64 << 20;
  // A memory budget shared with the process's other RocksDB databases (see
  // StorageMemory). When empty, the store makes its own from the two sizes
  // above.
  std::shared_ptr<const StorageMemory> memory;
  // Called on the committer thread after each group that wrote something;
  // must be quick and must not call Append. For metrics and slow-commit logs.
  std::function<void(const CommitStats&)> on_commit;
};

// The condition an append places on its stream.
struct ExpectedRevision {
  enum class Kind { kAny, kNoStream, kStreamExists, kExact };
  Kind kind = Kind::kAny;
  uint64_t revision = 0;  // Used only when kind == kExact.

  static ExpectedRevision Any() { return {Kind::kAny, 0}; }
  static ExpectedRevision NoStream() { return {Kind::kNoStream, 0}; }
  static ExpectedRevision StreamExists() { return {Kind::kStreamExists, 0}; }
  static ExpectedRevision Exact(uint64_t r) { return {Kind::kExact, r}; }
  // "any", "no_stream", "stream_exists" or the decimal revision.
  std::string ToString() const;
};

// An event proposed for appending.
struct ProposedEvent {
  std::string event_id;  // Canonical UUID text.
  std::string type;
  std::string content_type;  // Empty means "application/octet-stream".
  std::string data;
  std::string correlation_id;
  std::string causation_id;
  std::string actor;
  std::string source_platform;
  std::optional<absl::Time> occurred_at;  // Unset means the recorded time.
};

struct AppendRequest {
  std::string tenant;
  std::string stream;
  ExpectedRevision expected;
  std::vector<ProposedEvent> events;
};

struct AppendResult {
  uint64_t first_revision = 0;
  uint64_t last_revision = 0;
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  // True when every event was already stored and nothing was appended.
  bool already_stored = false;
};

// A committed event and its place in the tenant's log.
struct RecordedEvent {
  uint64_t position = 0;
  EventRecord record;
};

// Restricts log reads; an empty list admits everything.
struct LogFilter {
  std::vector<std::string> categories;
  std::vector<std::string> types;
  bool Matches(const EventRecord& record) const;
  bool Matches(const EventRecordView& record) const;
};

struct LogPage {
  std::vector<RecordedEvent> events;
  // One past the last position examined: where the next read starts.
  uint64_t next_position = 1;
  // The tenant's committed head when the page was read.
  uint64_t head_position = 0;
};

// One event of a tenant's log as another store holds it, for ImportEvents:
// its position and the log value exactly as stored there (a serialized
// EventRecord, see format.h).
struct ImportedEvent {
  uint64_t position = 0;
  std::string stored;
};

// Where a ScanLog stopped.
struct LogScan {
  // One past the last position examined: where the next read starts.
  uint64_t next_position = 1;
  // The tenant's committed head when the scan started.
  uint64_t head_position = 0;
};

// Called by ScanLog for each event, with its position and its stored record
// read in place (valid only during the call). A non-OK status stops the scan
// and ScanLog returns it.
using LogVisitor = std::function<absl::Status(uint64_t position,
                                              const EventRecordView& record)>;

struct StreamInfo {
  uint64_t revision = 0;       // Revision of the stream's last event.
  uint64_t last_position = 0;  // Log position of that event.
};

// What Verify checks. Positions are clamped to the tenant's committed head
// when the call starts, so appends made meanwhile do not disturb it.
struct VerifyOptions {
  std::string tenant;
  // First position to check (0 is read as 1).
  uint64_t from_position = 1;
  // Last position to check; 0 means the head.
  uint64_t to_position = 0;
  // chain(from_position - 1) as the caller knows it, e.g. the chain_hash of
  // a previous page. Unset: the genesis for position 1, otherwise the hash
  // stored at from_position - 1 (so a range check proves the range agrees
  // with what is stored before it, not the whole log).
  std::optional<ChainHash> start_hash;
  // A hash saved earlier (e.g. a head hash in a governors' report). The
  // check reports whether the recomputed chain passes through it: at
  // expected_position when that is not 0, else at any checked position.
  std::optional<ChainHash> expected_hash;
  uint64_t expected_position = 0;
  // Stop after this many events (the caller continues from next_position).
  size_t max_events = 100000;
  // Stop shortly before this time, so the caller's deadline is honoured.
  absl::Time deadline = absl::InfiniteFuture();
};

// Why a position failed verification.
enum class ChainFault {
  // The event's stored bytes changed (its stored hash still agrees with the
  // rest of the chain).
  kContentChanged,
  // The event's stored hash changed (the event's bytes still agree with the
  // rest of the chain).
  kHashChanged,
  // The link fails and the next position cannot tell which of the two
  // changed (the position is the last one checked, or both changed).
  kChanged,
  // No event is stored at the position, though later positions exist.
  kMissingEvent,
  // The event is stored but its chain hash is not (or is not 32 bytes).
  kMissingHash,
};
// "content_changed", "hash_changed", "changed", "missing_event",
// "missing_hash".
absl::string_view ChainFaultName(ChainFault fault);

struct ChainMismatch {
  uint64_t position = 0;
  ChainFault fault = ChainFault::kChanged;
  std::string detail;  // A sentence for people.
};

struct VerifyReport {
  // The range actually checked: from first_position to last_position.
  uint64_t first_position = 0;
  uint64_t last_position = 0;  // first_position - 1 when nothing was checked
  uint64_t events_checked = 0;
  // The recomputed chain(last_position): continue with it as start_hash.
  ChainHash chain_hash{};
  // The tenant's committed head when the call started, and the hash stored
  // there (genesis when the tenant has no events).
  uint64_t head_position = 0;
  ChainHash head_hash{};
  // The first position that failed; checking stops there.
  std::optional<ChainMismatch> mismatch;
  // Where the recomputed chain met expected_hash (0: not in this range), and
  // whether expected_position was reached and differed.
  uint64_t expected_found_at = 0;
  bool expected_differs = false;
  // Where the next page starts; 0 when the requested range is done (or a
  // mismatch ended the check).
  uint64_t next_position = 0;
};

class EventStore {
 public:
  using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

  // Opens (creating if needed) the store at options.path.
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(
      const EventStoreOptions& options);

  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;
  // Stops the committer after completing every append already accepted.
  ~EventStore();

  // Validates and queues an append; `done` runs exactly once, on the
  // committer thread (or inline for a request refused before queuing), after
  // the events are synced to disk or with the reason nothing was appended:
  //   InvalidArgument     a malformed field, too many events or an event
  //                       too large (the message names the field)
  //   ResourceExhausted   too many appends already queued
  //   Aborted             the expected revision did not hold
  //   AlreadyExists       an event id is stored with other content, or only
  //                       some of the request's events are stored
  //   Unavailable         the store is shutting down
  //   Internal            RocksDB failed to write
  // `done` must be quick and must not call Append on this store.
  void AppendAsync(AppendRequest request, AppendCallback done);

  // Blocking form of AppendAsync.
  absl::StatusOr<AppendResult> Append(AppendRequest request);

  // Up to `max_count` events of one stream, starting at `from_revision` and
  // going forwards, or backwards when `backwards`, stopping early once
  // `max_bytes` of event data have been collected. NotFound if the stream
  // has no events.
  absl::StatusOr<std::vector<RecordedEvent>> ReadStream(
      const std::string& tenant, const std::string& stream,
      uint64_t from_revision, bool backwards, size_t max_count,
      size_t max_bytes = 3 << 20) const;

  // The tenant's log from `from_position` (0 is read as 1), up to the
  // committed head, returning at most `max_count` events that match `filter`
  // and stopping early once `max_bytes` of event data have been collected.
  absl::StatusOr<LogPage> ReadLog(const std::string& tenant,
                                  uint64_t from_position,
                                  const LogFilter& filter, size_t max_count,
                                  size_t max_bytes = 3 << 20) const;

  // ReadLog without an object per event: the same events in the same order,
  // under the same limits, handed to `visit` as views of the stored records
  // instead of being collected. The head is read once, at the start.
  absl::StatusOr<LogScan> ScanLog(const std::string& tenant,
                                  uint64_t from_position,
                                  const LogFilter& filter, size_t max_count,
                                  size_t max_bytes,
                                  const LogVisitor& visit) const;

  // The event stored in `tenant` under `event_id` (canonical UUID text), or
  // nullopt if there is none. InvalidArgument for a malformed id.
  absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
      const std::string& tenant, const std::string& event_id) const;

  // The stream's current revision. NotFound if it has no events.
  absl::StatusOr<StreamInfo> GetStreamInfo(const std::string& tenant,
                                           const std::string& stream) const;

  // The position of the tenant's last committed event (0 when none).
  absl::StatusOr<uint64_t> HeadPosition(const std::string& tenant) const;

  // Blocks until the tenant's head is at least `position`, the deadline
  // passes or the store shuts down. Returns the head at that moment.
  absl::StatusOr<uint64_t> WaitForPosition(const std::string& tenant,
                                           uint64_t position,
                                           absl::Time deadline) const;

  // Recomputes the tenant's hash chain over a range of positions, a page at
  // a time (see VerifyOptions). Reads only committed positions and never
  // blocks appends. InvalidArgument for a malformed tenant or a range with
  // to_position < from_position; a failing link is a report, not an error.
  absl::StatusOr<VerifyReport> Verify(const VerifyOptions& options) const;

  // The tenant's committed head position and the chain hash stored there
  // (genesis for a tenant with no events).
  absl::StatusOr<std::pair<uint64_t, ChainHash>> ChainHead(
      const std::string& tenant) const;

  // Every tenant with at least one committed event, in key order.
  absl::StatusOr<std::vector<std::string>> ListTenants() const;

  // A counter that grows with every committed group of appends, for
  // consumers that follow all tenants (relays, projectors): read it, do the
  // work, then wait for it to move.
  uint64_t CommitCount() const;
  // Blocks until CommitCount() > `seen`, the deadline passes or the store
  // shuts down; returns CommitCount().
  uint64_t WaitForCommit(uint64_t seen, absl::Time deadline) const;

  // Restoring a tenant from a copy of its log (another node's, replayed
  // from a bus). Writes `events` at exactly their positions, keeping their
  // stored bytes, ids, streams, revisions and times as given, through the
  // committer in one atomic batch; the tenant's head becomes the last
  // position. The copy must continue the tenant's log: positions consecutive
  // from the current head + 1, each stream's revisions consecutive from its
  // current revision + 1, no event id already stored. Returns the new head.
  //   InvalidArgument     no events, too many (max_events_per_append), a
  //                       record that does not decode or breaks the name
  //                       rules (the message names events[i])
  //   FailedPrecondition  a gap or an overlap with the stored log, a stream
  //                       revision out of sequence, or an event id already
  //                       stored (the message names events[i])
  //   Unavailable         the tenant is frozen, or the store shuts down
  //   Internal            RocksDB failed to write
  // Never mixes with the appends of the same group: an import either lands
  // whole or not at all.
  absl::StatusOr<uint64_t> ImportEvents(const std::string& tenant,
                                        std::vector<ImportedEvent> events);

  // Freezing a tenant for a hand-over: while frozen, its appends and imports
  // are refused with Unavailable and nothing is appended. Freeze returns
  // once every append of the tenant accepted before it has completed, with
  // the tenant's head at that moment, so the head cannot move until Thaw.
  // Freezing is in memory only (a restart thaws).
  absl::StatusOr<uint64_t> FreezeTenant(const std::string& tenant);
  void ThawTenant(const std::string& tenant);

  // Totals since the store opened.
  EventStoreStats Stats() const;

  // A RocksDB integer property (e.g. "rocksdb.estimate-live-data-size"),
  // summed over the store's column families; nullopt if RocksDB does not
  // know it.
  std::optional<uint64_t> GetIntProperty(const std::string& property) const;

  // Backs the store up into `backup_dir` (see rocksdb_backup.h): online,
  // consistent (every append acknowledged before the call is in it) and
  // incremental. Appends continue meanwhile.
  absl::StatusOr<BackupOutcome> Backup(const std::string& backup_dir,
                                       const std::string& metadata);

  // Secrets: small opaque values kept beside the log under (tenant, name),
  // outside every event, so that they can be destroyed while the log stays
  // append-only (e.g. wrapped encryption keys). Names are 1-512 bytes of
  // any value; InvalidArgument otherwise. Secrets are not events: they have
  // no position and are not seen by log reads.
  //
  // Stores `value` under (tenant, name), replacing any value, synced to disk
  // before returning.
  absl::Status PutSecret(const std::string& tenant, const std::string& name,
                         const std::string& value);
  // The value stored under (tenant, name), or nullopt when there is none.
  absl::StatusOr<std::optional<std::string>> GetSecret(
      const std::string& tenant, const std::string& name) const;
  // Every (name, value) of `tenant` whose name starts with `name_prefix`, in
  // name order.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListSecrets(
      const std::string& tenant, const std::string& name_prefix) const;
  // Deletes every secret of `tenant` whose name starts with `name_prefix`
  // and makes the deletion physical before returning: the deletion is
  // synced, every column family is flushed (so that no live write-ahead log
  // file still holds the old values and RocksDB deletes those files), and
  // the secrets column family is compacted to its last level (so that no
  // live table file holds them). Returns how many secrets were deleted.
  // Copies made outside this database (backups, file-system snapshots) and
  // blocks the file system has not reused yet are beyond its reach.
  absl::StatusOr<size_t> DestroySecrets(const std::string& tenant,
                                        const std::string& name_prefix);

  // Stops accepting appends, completes those already accepted and wakes
  // every waiter. Idempotent; the destructor calls it.
  void Shutdown();

  const EventStoreOptions& options() const;

 private:
  class Impl;
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace throughline::eventstore

#endif  // THROUGHLINE_EVENTSTORE_EVENT_STORE_H_
